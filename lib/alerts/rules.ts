/**
 * The rules, pure: what one stored run, the same job's earlier runs and the results of its nodes
 * that did not succeed say. Nothing here reads or sends; evidence.ts gathers, deliver.ts sends.
 *
 * - `run-failed`: the run ended in error: its job, its link, the step that failed and dbt's
 *   messages for the nodes that failed.
 * - `test-failing`: a test (or unit test) failed or errored (warned too, with includeWarn): new
 *   when the job's previous run did not list it failing, else still failing since the first run of
 *   the streak (within the lookback).
 * - `source-stale`: a source's (or, from `dbt freshness`, a model's) freshness check ended in error
 *   (warn too, with includeWarn).
 * - `model-slower`: a model this run ran has a median time over the 7 days up to this run at least
 *   `slowerRatio` times its median over the 28 days before, and at least `slowerSeconds` longer,
 *   with MIN_SAMPLES times in each; said on the run where it became true (not on every run after).
 *   Times are those the history keeps of each run (its slowest models, ROW_LIMITS.slowest); no-op,
 *   reused and skipped nodes have no time, so do not count.
 * @module
 */
import { oneLine, type Alert, type AlertRule, type AlertSeverity } from '../core/alert.ts';
import type { HistoryRow } from '../core/history-row.ts';
import { freshnessOutcome, kindOf } from '../core/run-facts.ts';
import type { NodeFailure } from '../history/failures.ts';

export interface RuleSettings {
  rules: readonly AlertRule[];
  /** Also a test that warned, and a freshness check that warned. */
  includeWarn: boolean;
  slowerRatio: number;
  slowerSeconds: number;
}

export const DEFAULT_RULE_SETTINGS: RuleSettings = {
  rules: ['run-failed', 'test-failing', 'source-stale', 'model-slower'],
  includeWarn: false,
  slowerRatio: 1.5,
  slowerSeconds: 60,
};

export interface RunEvidence {
  row: HistoryRow;
  /** The same job's earlier runs, newest first, back LOOKBACK_DAYS before this one. */
  earlier: readonly HistoryRow[];
  /** Results of this run's nodes that did not succeed (its steps' summaries and the failed step's run results). */
  failures: readonly NodeFailure[];
}

export const RECENT_DAYS = 7;
export const BASELINE_DAYS = 28;
/** How far back a rule looks: the model-slower windows. */
export const LOOKBACK_DAYS = RECENT_DAYS + BASELINE_DAYS;
export const MIN_SAMPLES = 3;
/** The most node messages a run-failed alert carries. */
export const MAX_ERRORS = 20;

const DAY_MS = 86_400_000;

/** Every alert the enabled rules find in one run, in rule order. */
export function evaluateRun(evidence: RunEvidence, settings: RuleSettings): Alert[] {
  const on = new Set(settings.rules);
  return [
    ...(on.has('run-failed') ? runFailed(evidence) : []),
    ...(on.has('test-failing') ? testFailing(evidence, settings) : []),
    ...(on.has('source-stale') ? sourceStale(evidence, settings) : []),
    ...(on.has('model-slower') ? modelSlower(evidence, settings) : []),
  ];
}

const jobLabel = (row: HistoryRow): string => (row.jobName ? `${row.jobName} (job ${row.jobId})` : `job ${row.jobId}`);

function alert(
  row: HistoryRow,
  rule: AlertRule,
  severity: AlertSeverity,
  key: string,
  summary: string,
  details: Record<string, unknown>,
): Alert {
  return {
    rule,
    runId: row.runId,
    jobId: row.jobId,
    jobName: row.jobName,
    severity,
    summary: oneLine(summary),
    finishedAt: row.finishedAt,
    href: row.href,
    key,
    details,
  };
}

const isError = (status: string): boolean => {
  const s = status.toLowerCase();
  return s === 'error' || s === 'fail' || s === 'runtime error';
};

export function runFailed({ row, failures }: RunEvidence): Alert[] {
  if (row.status !== 'error') return [];
  const errors = failures.filter((f) => isError(f.status));
  const step = row.failedStep;
  const first = errors.find((e) => e.message)?.message;
  const summary = `${jobLabel(row)}: run ${row.runId} failed${step ? ` at step ${step.index} (${step.name})` : ''}${
    errors.length > 0 ? `: ${errors.length} node${errors.length === 1 ? '' : 's'} failed` : ''
  }${first ? `: ${first}` : ''}`;
  return [
    alert(row, 'run-failed', 'error', 'run', summary, {
      failedStep: step,
      errors: errors.slice(0, MAX_ERRORS).map((e) => ({ node: e.id, status: e.status, message: e.message })),
      ...(errors.length > MAX_ERRORS ? { moreErrors: errors.length - MAX_ERRORS } : {}),
    }),
  ];
}

/** The tests a row lists as failing (warned too, with includeWarn). */
function failingIn(row: HistoryRow, includeWarn: boolean): Set<string> {
  return new Set(row.failingTests.filter(([, s]) => isError(s) || (includeWarn && s === 'warn')).map(([id]) => id));
}

export function testFailing({ row, earlier, failures }: RunEvidence, settings: RuleSettings): Alert[] {
  const counts = (s: string): boolean => isError(s) || (settings.includeWarn && s === 'warn');
  const tests = new Map<string, { status: string; message: string | null }>();
  for (const [id, status] of row.failingTests) if (counts(status)) tests.set(id, { status, message: null });
  for (const f of failures) {
    const kind = kindOf(f.id);
    if ((kind === 'test' || kind === 'unit_test') && counts(f.status))
      tests.set(f.id, { status: f.status, message: f.message });
  }
  const earlierFailing = earlier.map((r) => failingIn(r, settings.includeWarn));
  const out: Alert[] = [];
  for (const [id, { status, message }] of [...tests].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const isNew = !(earlierFailing[0]?.has(id) ?? false);
    let streak = 0;
    while (streak < earlier.length && earlierFailing[streak]!.has(id)) streak++;
    const since = streak === 0 ? row.finishedAt : earlier[streak - 1]!.finishedAt;
    const atLeast = streak === earlier.length && streak > 0;
    const name = id.split('.').slice(2).join('.') || id;
    const summary = isNew
      ? `${jobLabel(row)}: test ${name} ${status === 'warn' ? 'warns' : 'fails'} (new in run ${row.runId})${message ? `: ${message}` : ''}`
      : `${jobLabel(row)}: test ${name} still ${status === 'warn' ? 'warns' : 'fails'} in run ${row.runId}, since ${atLeast ? 'at least ' : ''}${since.slice(0, 16).replace('T', ' ')} UTC`;
    out.push(
      alert(row, 'test-failing', status === 'warn' ? 'warning' : 'error', `test:${id}`, summary, {
        test: id,
        status,
        new: isNew,
        since,
        ...(atLeast ? { sinceAtLeast: true } : {}),
        failingRuns: streak + 1,
        message,
      }),
    );
  }
  return out;
}

export function sourceStale({ row }: RunEvidence, settings: RuleSettings): Alert[] {
  return row.sources
    .filter(([, status]) => {
      const o = freshnessOutcome(status);
      return o === 'error' || (settings.includeWarn && o === 'warn');
    })
    .map(([id, status, lag]) => {
      const o = freshnessOutcome(status);
      const name = id.split('.').slice(2).join('.') || id;
      const age = lag === null ? '' : `: last loaded ${formatDuration(lag)} ago`;
      return alert(
        row,
        'source-stale',
        o === 'error' ? 'error' : 'warning',
        `source:${id}`,
        `${jobLabel(row)}: ${kindOf(id) === 'model' ? 'model' : 'source'} ${name} is stale (freshness ${status})${age}`,
        { source: id, status, lagSeconds: lag },
      );
    });
}

/** 90 -> "1 min 30 s", 7200 -> "2 h". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 172_800)
    return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86_400)} days`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Slowdown {
  recent: number;
  baseline: number;
  recentRuns: number;
  baselineRuns: number;
}

/** The models slower at `at`, from the runs up to it (newest first), by the settings' thresholds. */
export function slowdowns(at: Date, rows: readonly HistoryRow[], settings: RuleSettings): Map<string, Slowdown> {
  const recentFrom = at.getTime() - RECENT_DAYS * DAY_MS;
  const baselineFrom = recentFrom - BASELINE_DAYS * DAY_MS;
  const times = new Map<string, { recent: number[]; baseline: number[] }>();
  for (const r of rows) {
    const t = Date.parse(r.finishedAt);
    if (t > at.getTime() || t <= baselineFrom) continue;
    for (const [id, seconds] of r.slowest) {
      const m = times.get(id) ?? { recent: [], baseline: [] };
      times.set(id, m);
      (t > recentFrom ? m.recent : m.baseline).push(seconds);
    }
  }
  const out = new Map<string, Slowdown>();
  for (const [id, m] of times) {
    if (m.recent.length < MIN_SAMPLES || m.baseline.length < MIN_SAMPLES) continue;
    const recent = median(m.recent);
    const baseline = median(m.baseline);
    if (recent >= settings.slowerRatio * baseline && recent - baseline >= settings.slowerSeconds)
      out.set(id, { recent, baseline, recentRuns: m.recent.length, baselineRuns: m.baseline.length });
  }
  return out;
}

export function modelSlower({ row, earlier }: RunEvidence, settings: RuleSettings): Alert[] {
  const ran = new Set(row.slowest.map(([id]) => id));
  if (ran.size === 0) return [];
  const now = slowdowns(new Date(row.finishedAt), [row, ...earlier], settings);
  const previous = earlier[0];
  const before = previous ? slowdowns(new Date(previous.finishedAt), earlier, settings) : new Map<string, Slowdown>();
  return [...now]
    .filter(([id]) => ran.has(id) && !before.has(id))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([id, s]) => {
      const name = id.split('.').slice(2).join('.') || id;
      const ratio = s.baseline > 0 ? Math.round((s.recent / s.baseline) * 100) / 100 : null;
      return alert(
        row,
        'model-slower',
        'warning',
        `model:${id}`,
        `${jobLabel(row)}: model ${name} is slower: median ${formatDuration(s.recent)} over the last ${RECENT_DAYS} days, ${ratio === null ? 'against' : `${ratio}× the`} ${formatDuration(s.baseline)} of the ${BASELINE_DAYS} days before`,
        {
          model: id,
          recentMedianSeconds: s.recent,
          baselineMedianSeconds: s.baseline,
          ratio,
          recentRuns: s.recentRuns,
          baselineRuns: s.baselineRuns,
        },
      );
    });
}
