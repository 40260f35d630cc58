/**
 * Messages, pure: the alerts of each run grouped into one message (a digest: a bad run is one
 * message, not forty), and, past `maxMessages` runs in one delivery, the rest folded into a single
 * digest, so a window of thousands of failures is a bounded number of messages. A run whose job
 * had failed before and now succeeded carries `resolves` (PagerDuty resolves its incident).
 * @module
 */
import { createHash } from 'node:crypto';
import type { Alert } from '../core/alert.ts';
import type { RunEvidence } from './rules.ts';

export interface RunOutcomeRef {
  runId: number;
  jobId: number;
  jobName: string | null;
  status: 'success' | 'error' | 'cancelled';
  finishedAt: string;
  href: string | null;
}

export interface AlertMessage {
  /** Names the message in the sent records: `run_id=<id>`, or `digest=<hash>` for a folded digest. */
  key: string;
  /** The runs it speaks for (one, but for a folded digest). */
  runs: RunOutcomeRef[];
  alerts: Alert[];
  /** A run that succeeded after its job's previous run failed (PagerDuty resolves), where this message is one. */
  resolves?: RunOutcomeRef;
}

export const runKey = (runId: number): string => `run_id=${runId}`;

const ref = (e: RunEvidence): RunOutcomeRef => ({
  runId: e.row.runId,
  jobId: e.row.jobId,
  jobName: e.row.jobName,
  status: e.row.status,
  finishedAt: e.row.finishedAt,
  href: e.row.href,
});

/**
 * The messages of evaluated runs (oldest first): one per run with alerts or a resolution, the
 * runs with alerts past `maxMessages - 1` folded into one digest of their alerts (chat and webhook
 * sinks; PagerDuty is sent each run's own events), and a resolution per job at most.
 */
export function planMessages(
  evaluated: readonly { evidence: RunEvidence; alerts: Alert[] }[],
  maxMessages: number,
): AlertMessage[] {
  const singles: AlertMessage[] = [];
  const ordered = [...evaluated].sort((a, b) => {
    const [x, y] = [a.evidence.row, b.evidence.row];
    return x.finishedAt < y.finishedAt ? -1 : x.finishedAt > y.finishedAt ? 1 : x.runId - y.runId;
  });
  // A run with no alert whose job failed before: only its latest per job matters (PagerDuty resolves).
  const resolving = new Map<number, AlertMessage>();
  for (const { evidence, alerts } of ordered) {
    const previous = evidence.earlier[0];
    const resolves = evidence.row.status === 'success' && previous?.status === 'error' ? ref(evidence) : undefined;
    const message = {
      key: runKey(evidence.row.runId),
      runs: [ref(evidence)],
      alerts,
      ...(resolves ? { resolves } : {}),
    };
    if (alerts.length > 0) singles.push(message);
    else if (resolves) resolving.set(evidence.row.jobId, message);
  }
  if (singles.length <= maxMessages) return [...singles, ...resolving.values()];
  const kept = singles.slice(0, Math.max(0, maxMessages - 1));
  const folded = singles.slice(kept.length);
  const hash = createHash('sha256')
    .update(folded.map((m) => m.key).join(','))
    .digest('hex')
    .slice(0, 16);
  const digest = {
    key: `digest=${hash}`,
    runs: folded.flatMap((m) => m.runs),
    alerts: folded.flatMap((m) => m.alerts),
  };
  return [...kept, digest, ...resolving.values()];
}

/** How a message is headed: the run's job and outcome, or how many runs a folded digest holds. */
export function headline(message: AlertMessage): string {
  if (message.runs.length > 1) {
    const failed = message.runs.filter((r) => r.status === 'error').length;
    return `dbt Cloud: ${message.alerts.length} alerts in ${message.runs.length} runs (${failed} failed)`;
  }
  const run = message.runs[0]!;
  const job = run.jobName ? `${run.jobName} (job ${run.jobId})` : `job ${run.jobId}`;
  if (message.alerts.length === 0) return `dbt Cloud: ${job} succeeded again in run ${run.runId}`;
  const outcome = run.status === 'error' ? 'failed' : run.status === 'cancelled' ? 'was cancelled' : 'succeeded';
  return `dbt Cloud: ${job}, run ${run.runId} ${outcome}: ${message.alerts.length} alert${message.alerts.length === 1 ? '' : 's'}`;
}
