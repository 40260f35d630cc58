/**
 * What the rules read of a destination: the history rows the harvester wrote with each run
 * (`_history/rows/date=D/job_id=J/run_id=R.json`), listed a day and a job at a time, so a run's
 * alert reads its job's 35 days and nothing else; and, for a run that failed or has failing tests,
 * its steps' summaries (summary.json: tests that did not pass, with dbt's message) and the failed
 * step's run results (the models' error messages), streamed through the results reader.
 * @module
 */
import { errorMessage } from '../core/errors.ts';
import { HistoryRowSchema, type HistoryRow } from '../core/history-row.ts';
import { HISTORY_ROOT, parseHistoryPath } from '../core/paths.ts';
import { drain } from '../core/pool.ts';
import { parseJsonBounded } from '../json/json-scan.ts';
import type { Logger } from '../log.ts';
import { readSmall, type ObjectReader } from '../storage/index.ts';
import { nodeFailures, type NodeFailure } from '../history/failures.ts';
import { LOOKBACK_DAYS, type RunEvidence } from './rules.ts';

const DAY_MS = 86_400_000;
const MAX_ROW_BYTES = 256 * 1024;
const _MAX_SUMMARY_BYTES = 32 * 1024 * 1024;
const READS_AT_ONCE = 16;

const dayOf = (at: Date): string => at.toISOString().slice(0, 10);

/** Every UTC day from `from` to `to`, both included. */
export function daysBetween(from: Date, to: Date): string[] {
  const out: string[] = [];
  for (let t = Date.parse(dayOf(from)); t <= to.getTime(); t += DAY_MS) out.push(dayOf(new Date(t)));
  return out;
}

export interface RunRef {
  runId: number;
  jobId: number;
  path: string;
}

/** The runs with a history row on the days from `since` to `until`, in path order (day, job, run). */
export async function listRowsSince(reader: ObjectReader, since: Date, until: Date): Promise<RunRef[]> {
  const out: RunRef[] = [];
  for (const day of daysBetween(since, until))
    for await (const entry of reader.list(`${HISTORY_ROOT}/rows/date=${day}/`, { sizes: false })) {
      const o = parseHistoryPath(entry.path);
      if (o?.kind === 'row') out.push({ runId: o.runId, jobId: o.jobId, path: entry.path });
    }
  return out;
}

export async function readRow(reader: ObjectReader, path: string): Promise<HistoryRow> {
  const parsed = HistoryRowSchema.safeParse(parseJsonBounded(await readSmall(reader, path, MAX_ROW_BYTES)));
  if (!parsed.success) throw new Error(`${path} is not a history row this version reads`);
  return parsed.data;
}

/** A job's rows from the days `from` to `to`, newest first; rows that cannot be read are logged and left out. */
export async function jobRows(
  reader: ObjectReader,
  jobId: number,
  from: Date,
  to: Date,
  logger: Logger,
): Promise<HistoryRow[]> {
  const paths: string[] = [];
  for (const day of daysBetween(from, to))
    for await (const entry of reader.list(`${HISTORY_ROOT}/rows/date=${day}/job_id=${jobId}/`, { sizes: false }))
      if (parseHistoryPath(entry.path)?.kind === 'row') paths.push(entry.path);
  const rows: HistoryRow[] = [];
  await drain(paths.values(), READS_AT_ONCE, async (path) => {
    try {
      rows.push(await readRow(reader, path));
    } catch (err) {
      logger.warn('history row left out of the alert rules', { path, error: errorMessage(err) });
    }
  });
  return rows.sort((a, b) => (a.finishedAt < b.finishedAt ? 1 : a.finishedAt > b.finishedAt ? -1 : b.runId - a.runId));
}

/**
 * The evidence of runs, a job's rows read once for all of its runs: `rows` of the runs to
 * evaluate, the job's earlier rows found from LOOKBACK_DAYS before the oldest.
 */
export async function gatherEvidence(
  reader: ObjectReader,
  runs: readonly HistoryRow[],
  logger: Logger,
): Promise<RunEvidence[]> {
  const byJob = new Map<number, HistoryRow[]>();
  for (const r of runs) byJob.set(r.jobId, [...(byJob.get(r.jobId) ?? []), r]);
  const out: RunEvidence[] = [];
  for (const [jobId, mine] of byJob) {
    const times = mine.map((r) => Date.parse(r.finishedAt));
    const from = new Date(Math.min(...times) - LOOKBACK_DAYS * DAY_MS);
    const all = await jobRows(reader, jobId, from, new Date(Math.max(...times)), logger);
    for (const row of mine) {
      const t = Date.parse(row.finishedAt);
      const earlier = all.filter(
        (r) =>
          r.runId !== row.runId &&
          (Date.parse(r.finishedAt) < t || (r.finishedAt === row.finishedAt && r.runId < row.runId)) &&
          Date.parse(r.finishedAt) > t - LOOKBACK_DAYS * DAY_MS,
      );
      let failures: NodeFailure[] = [];
      try {
        failures = await nodeFailures(reader, row);
      } catch (err) {
        logger.warn("the run's node results could not be read; alerting without dbt's messages", {
          runId: row.runId,
          error: errorMessage(err),
        });
      }
      out.push({ row, earlier, failures });
    }
  }
  return out;
}
