/**
 * Object paths, Hive-style so BigQuery and Spark read the partitions:
 *   [prefix/]date=YYYY-MM-DD/hour=HH/job_id=<job>/run_id=<id>/_run.json
 *   [prefix/]date=YYYY-MM-DD/hour=HH/job_id=<job>/run_id=<id>/step=<index>/<file>
 * date and hour come from the run's finished_at in UTC. The sink adds the destination's prefix.
 *
 * The history rollup lives beside them, under `_history/` (a name no partition starts with):
 *   _history/rows/date=YYYY-MM-DD/job_id=<job>/run_id=<id>.json      one row per run, as it is stored
 *   _history/days/date=YYYY-MM-DD/rows=<n>.v2.jsonl                   a day's rows, compacted
 * Every object is written once; a day compacted again (a backfill added runs to it) gets a new
 * `rows=<n>` object, and readers take the one with the most rows, then the newer version (version
 * 1, `rows=<n>.jsonl`, written before 2026-12-06, is still read: history/compacted.ts).
 * @module
 */
export const RUN_MARKER = '_run.json';

/** What names a run's folder: its id, its job, and when it finished. */
export interface RunPlace {
  runId: number;
  jobId: number;
  finishedAt: Date;
}

export function runDirectory(run: RunPlace): string {
  const iso = run.finishedAt.toISOString();
  return [`date=${iso.slice(0, 10)}`, `hour=${iso.slice(11, 13)}`, `job_id=${run.jobId}`, `run_id=${run.runId}`].join(
    '/',
  );
}

export function runMarkerPath(runDir: string): string {
  return `${runDir}/${RUN_MARKER}`;
}

/**
 * A step's file: its name, or its path under target/ for a nested artifact
 * (`metadata/telemetry-4-otel.parquet`), each segment plain.
 */
export function artifactPath(runDir: string, step: number, fileName: string): string {
  if (relativePathProblem(fileName) !== null || !fileName.split('/').every((s) => /^[A-Za-z0-9_.-]+$/.test(s)))
    throw new Error(`unsafe file name ${JSON.stringify(fileName)}`);
  return `${runDir}/step=${step}/${fileName}`;
}

/**
 * The one rule for relative paths, wherever one is taken (a stored object's, an artifact's inside
 * target/): `/`-separated segments, none empty, `.` or `..`, no backslash or NUL; why a path breaks
 * it, or null.
 */
export function relativePathProblem(path: string): string | null {
  if (path.length === 0 || path.length > 1024) return 'it must be 1 to 1024 characters';
  if (path.includes('\0') || path.includes('\\')) return 'it must not contain a backslash or NUL';
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..'))
    return 'its segments must not be empty, . or ..';
  return null;
}

export function checkRelativePath(path: string): void {
  const problem = relativePathProblem(path);
  if (problem) throw new Error(`unsafe path ${JSON.stringify(path.replace(/\0/g, '\\0'))}: ${problem}`);
}

export const HISTORY_ROOT = '_history';

const day = (at: Date): string => at.toISOString().slice(0, 10);

/** A run's row in the history rollup. */
export function historyRowPath(run: RunPlace): string {
  return `${HISTORY_ROOT}/rows/date=${day(run.finishedAt)}/job_id=${run.jobId}/run_id=${run.runId}.json`;
}

/**
 * A day's rows (every job's), compacted into one object of `rows` rows: version 1 a row's JSON a
 * line (`rows=N.jsonl`), version 2 rows as arrays under a table of names (`rows=N.v2.jsonl`,
 * history/compacted.ts).
 */
export function historyDayPath(date: string, rows: number, version: 1 | 2): string {
  return `${HISTORY_ROOT}/days/date=${date}/rows=${rows}${version === 1 ? '' : `.v${version}`}.jsonl`;
}

export type HistoryObject =
  | { kind: 'row'; date: string; jobId: number; runId: number }
  | { kind: 'day'; date: string; rows: number; version: 1 | 2 };

const HISTORY_PATH =
  /^_history\/(?:rows\/date=(\d{4}-\d{2}-\d{2})\/job_id=(\d+)\/run_id=(\d+)\.json|days\/date=(\d{4}-\d{2}-\d{2})\/rows=(\d+)(\.v2)?\.jsonl)$/;

/** What a path under `_history/` is, or null for anything else. */
export function parseHistoryPath(path: string): HistoryObject | null {
  const m = HISTORY_PATH.exec(path);
  if (!m) return null;
  if (m[1] !== undefined) return { kind: 'row', date: m[1], jobId: Number(m[2]), runId: Number(m[3]) };
  return { kind: 'day', date: m[4]!, rows: Number(m[5]), version: m[6] ? 2 : 1 };
}
