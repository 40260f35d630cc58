/**
 * A destination's history: its rows read from the rollup (rollup.ts), day by day, each handed to
 * the caller as it comes (so a year of runs can be written out without being held) and folded
 * into bounded figures (aggregate.ts); then the few reads that need a run's own files: the tables
 * behind the largest coverage drops, each job's latest per-table coverage, and the models added
 * and removed over each job's last runs.
 * @module
 */
import { summarize } from '../coverage/coverage.ts';
import { COVERAGE_FILE, CoverageSummarySchema, type CoverageSummary } from '../core/coverage-summary.ts';
import { errorMessage } from '../core/errors.ts';
import type { HistoryRow } from '../core/history-row.ts';
import { runDirectory } from '../core/paths.ts';
import { drain } from '../core/pool.ts';
import { STEP_SUMMARY_FILE, StepSummarySchema } from '../core/run-facts.ts';
import { silentLogger, type Logger } from '../log.ts';
import { CatalogReader } from '../facts/catalog.ts';
import { ManifestReader } from '../facts/manifest.ts';
import { readFacts } from '../facts/reader.ts';
import { ObjectNotFoundError, readSmall, type Store } from '../storage/index.ts';
import { HistoryAggregator, type CoverageDrop, type HistoryFigures } from './aggregate.ts';
import { nodeFailures, type NodeFailure } from './failures.ts';
import { Rollup, type RollupOptions, type RollupStats } from './rollup.ts';
import { parseJsonBounded } from '../json/json-scan.ts';

export interface TableChange {
  name: string;
  columns_before: number | null;
  columns_after: number;
  covered_before: number | null;
  covered_after: number;
  /** Columns that became uncovered here (new uncovered columns, or covered ones that lost it). */
  lost: number;
}

/** A coverage drop between consecutive runs of a job, with the tables (models) that caused it. */
export interface Drop {
  job_id: number;
  job_name: string | null;
  kind: 'doc' | 'test';
  from_run: number;
  to_run: number;
  finished_at: string;
  before: number;
  after: number;
  change: number;
  tables: TableChange[];
}

export interface LatestTables {
  job_id: number;
  job_name: string | null;
  run_id: number;
  finished_at: string;
  /** The LATEST_TABLES tables of lowest documentation coverage (then by name), of `tables_total`. */
  tables: CoverageSummary['tables'];
  tables_total: number;
}

/**
 * The most tables kept of each job's latest coverage: the report lists as many, the least covered
 * first, and a project of 23,000 tables in each of hundreds of jobs would otherwise hold gigabytes
 * (its whole list is in the run's coverage.json).
 */
export const LATEST_TABLES = 200;

/** Lowest documentation coverage first, then by name. */
export const byDocumentation = (a: CoverageSummary['tables'][number], b: CoverageSummary['tables'][number]): number =>
  a.documented / Math.max(1, a.columns) - b.documented / Math.max(1, b.columns) || (a.name < b.name ? -1 : 1);

/** Models that appeared or disappeared between two consecutive runs of a job. */
export interface ModelChange {
  jobId: number;
  fromRun: number;
  toRun: number;
  finishedAt: string;
  added: string[];
  removed: string[];
}

export interface History {
  figures: HistoryFigures;
  /** Why the failed runs the report lists failed (the newest FAILED_RUNS_EXPLAINED), by run. */
  failureReasons: Map<number, NodeFailure[]>;
  drops: Drop[];
  latest: LatestTables[];
  modelChanges: ModelChange[];
  stats: RollupStats;
}

export interface HistoryOptions extends RollupOptions {
  logger?: Logger;
  /** The last runs per job whose models are compared (default 8). */
  changesOver?: number;
  /**
   * Only what `coverage history` writes as JSON or CSV: runs, jobs, coverage drops and each job's
   * latest tables; no day, recent-run, model, test or freshness figure, no model change, no reason.
   */
  coverageOnly?: boolean;
}

const COVERAGE_LIMIT = 32 * 1024 * 1024;

/** Reads the history; `onRow` sees every row, in time order, as it is read. */
export async function readHistory(
  store: Store,
  options: HistoryOptions = {},
  onRow: (row: HistoryRow) => void = () => {},
): Promise<History> {
  const log = options.logger ?? silentLogger;
  const rollup = new Rollup(store, options);
  const coverageOnly = options.coverageOnly ?? false;
  const aggregator = new HistoryAggregator({ coverageOnly });
  /** Each job's last rows with coverage, and last rows (for the model changes). */
  const lastCovered = new Map<number, HistoryRow>();
  const lastRuns = new Map<number, RunOfJob[]>();
  const keep = options.changesOver ?? 8;
  for await (const day of rollup.days())
    for (const row of day.rows) {
      aggregator.add(row);
      onRow(row);
      if (row.coverage?.doc) lastCovered.set(row.jobId, row);
      if (coverageOnly) continue;
      // What the model changes need of a run, not its row: a row kept for a job's next runs outlives
      // the young generation, and a year's rows all moving to the old one cost seconds of collection.
      const runs = lastRuns.get(row.jobId) ?? [];
      runs.push({ runId: row.runId, jobId: row.jobId, finishedAt: row.finishedAt, modelCount: row.modelCount });
      if (runs.length > keep) runs.shift();
      lastRuns.set(row.jobId, runs);
    }
  const figures = aggregator.finish();
  /** A run's coverage summary: stored beside it, or computed from its stored manifest and catalog. */
  const coverageOf = async (row: HistoryRow): Promise<CoverageSummary> => {
    const dir = `${runDirectory({ runId: row.runId, jobId: row.jobId, finishedAt: new Date(row.finishedAt) })}/step=${row.coverage!.step}`;
    rollup.stats.reads++;
    try {
      const parsed = CoverageSummarySchema.safeParse(
        parseJsonBounded(await readSmall(store, `${dir}/${COVERAGE_FILE}`, COVERAGE_LIMIT)),
      );
      if (!parsed.success) throw new Error(`${dir}/${COVERAGE_FILE}: not a coverage summary this version reads`);
      return parsed.data;
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
    }
    rollup.stats.reads++;
    const manifest = await readFacts(
      await store.read(`${dir}/manifest.json`),
      new ManifestReader(`${dir}/manifest.json`),
    );
    let catalog = null;
    try {
      const body = await store.read(`${dir}/catalog.json`);
      rollup.stats.reads++;
      catalog = await readFacts(body, new CatalogReader(`${dir}/catalog.json`));
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
    }
    return summarize(manifest, catalog, { finishedAt: row.finishedAt, jobName: row.jobName });
  };
  const drops: Drop[] = [];
  for (const d of figures.drops) {
    try {
      drops.push(dropWithTables(d, await coverageOf(d.fromRun), await coverageOf(d.toRun)));
    } catch (err) {
      log.warn('the tables of a coverage drop were not read', { runId: d.toRun.runId, error: errorMessage(err) });
      drops.push(dropWithTables(d, null, null));
    }
  }
  const latest: LatestTables[] = [];
  for (const row of lastCovered.values()) {
    try {
      const summary = await coverageOf(row);
      latest.push({
        job_id: row.jobId,
        job_name: row.jobName,
        run_id: row.runId,
        finished_at: row.finishedAt,
        tables: summary.tables.sort(byDocumentation).slice(0, LATEST_TABLES),
        tables_total: summary.tables.length,
      });
    } catch (err) {
      log.warn("a job's latest coverage was not read", { runId: row.runId, error: errorMessage(err) });
    }
  }
  const modelChanges = await changesOfModels(store, [...lastRuns.values()], rollup.stats, log);
  const failureReasons = await reasonsOf(store, figures.failures.slice(0, FAILED_RUNS_EXPLAINED), log);
  return { figures, failureReasons, drops, latest, modelChanges, stats: rollup.stats };
}

/** The failed runs whose reasons are read (each costs a listing and a few reads), and what is kept of each. */
export const FAILED_RUNS_EXPLAINED = 20;
const NODES_KEPT = 10;
const MESSAGE_KEPT = 4000;

async function reasonsOf(store: Store, rows: readonly HistoryRow[], log: Logger): Promise<Map<number, NodeFailure[]>> {
  const reasons = new Map<number, NodeFailure[]>();
  await drain(rows.values(), 8, async (row) => {
    try {
      const nodes = await nodeFailures(store, row);
      reasons.set(
        row.runId,
        nodes.slice(0, NODES_KEPT).map((n) => ({ ...n, message: n.message?.slice(0, MESSAGE_KEPT) ?? null })),
      );
    } catch (err) {
      log.warn('why a failed run failed was not read', { runId: row.runId, error: errorMessage(err) });
    }
  });
  return reasons;
}

function dropWithTables(d: CoverageDrop, before: CoverageSummary | null, after: CoverageSummary | null): Drop {
  const tables: TableChange[] = [];
  if (before && after) {
    const field = d.kind === 'doc' ? 'documented' : 'tested';
    const earlier = new Map(before.tables.map((t) => [t.name, t]));
    for (const t of after.tables) {
      const b = earlier.get(t.name);
      const lost = t.columns - t[field] - (b ? b.columns - b[field] : 0);
      if (lost > 0)
        tables.push({
          name: t.name,
          columns_before: b?.columns ?? null,
          columns_after: t.columns,
          covered_before: b ? b[field] : null,
          covered_after: t[field],
          lost,
        });
    }
    tables.sort((x, y) => y.lost - x.lost || (x.name < y.name ? -1 : 1));
  }
  return {
    job_id: d.jobId,
    job_name: d.toRun.jobName,
    kind: d.kind,
    from_run: d.fromRun.runId,
    to_run: d.toRun.runId,
    finished_at: d.toRun.finishedAt,
    before: d.before,
    after: d.after,
    change: d.change,
    tables: tables.slice(0, 10),
  };
}

/** A job's run as its model changes are read: where it is stored, and whether it ran models. */
type RunOfJob = Pick<HistoryRow, 'runId' | 'jobId' | 'finishedAt' | 'modelCount'>;

/** The models each of the last runs of each job ran (from their step summaries), compared run to run. */
async function changesOfModels(
  store: Store,
  jobs: RunOfJob[][],
  stats: RollupStats,
  log: Logger,
): Promise<ModelChange[]> {
  const modelsOf = new Map<number, Set<string> | null>();
  const runs = jobs.flat().filter((r) => r.modelCount > 0);
  await drain(runs.values(), 8, async (row) => {
    const dir = runDirectory({ runId: row.runId, jobId: row.jobId, finishedAt: new Date(row.finishedAt) });
    try {
      const models = new Set<string>();
      stats.listed++;
      for await (const entry of store.list(`${dir}/`)) {
        if (!entry.path.endsWith(`/${STEP_SUMMARY_FILE}`)) continue;
        stats.reads++;
        const summary = StepSummarySchema.parse(parseJsonBounded(await readSmall(store, entry.path, COVERAGE_LIMIT)));
        for (const m of summary.models) models.add(m.id);
      }
      modelsOf.set(row.runId, models);
    } catch (err) {
      log.warn('the models of a run were not read', { runId: row.runId, error: errorMessage(err) });
      modelsOf.set(row.runId, null);
    }
  });
  const changes: ModelChange[] = [];
  for (const rows of jobs) {
    const withModels = rows.filter((r) => modelsOf.get(r.runId));
    for (let i = 1; i < withModels.length; i++) {
      const before = modelsOf.get(withModels[i - 1]!.runId)!;
      const after = modelsOf.get(withModels[i]!.runId)!;
      const added = [...after].filter((m) => !before.has(m)).sort();
      const removed = [...before].filter((m) => !after.has(m)).sort();
      // Runs that select different models (pull-request CI) are not changes of the project: only a
      // change of at most a quarter of the models counts.
      if (added.length + removed.length === 0) continue;
      if (added.length + removed.length > Math.max(before.size, after.size) / 4) continue;
      changes.push({
        jobId: withModels[i]!.jobId,
        fromRun: withModels[i - 1]!.runId,
        toRun: withModels[i]!.runId,
        finishedAt: withModels[i]!.finishedAt,
        added: added.slice(0, 50),
        removed: removed.slice(0, 50),
      });
    }
  }
  return changes.sort((a, b) => (a.finishedAt < b.finishedAt ? 1 : -1));
}
