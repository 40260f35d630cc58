/**
 * The coverage history of a destination: every stored run's summary (coverage.json), computed from
 * the stored manifest and catalog where a run was harvested before summaries existed, turned into
 * series per job, the largest drops between consecutive runs with the tables that caused them, and
 * the latest per-table figures. Memory holds the series' points and one summary per job, not the
 * summaries of every run.
 * @module
 */
import { z } from 'zod';
import { COVERAGE_FILE, CoverageSummarySchema, summarize, type CoverageSummary } from '../core/coverage.ts';
import { errorMessage } from '../core/errors.ts';
import { CatalogReader } from '../facts/catalog.ts';
import { ManifestReader } from '../facts/manifest.ts';
import { readFacts } from '../facts/reader.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { ObjectReader } from '../storage/index.ts';

export interface HistoryPoint {
  job_id: number;
  job_name: string | null;
  run_id: number;
  finished_at: string;
  step: number;
  /** Read from coverage.json, or computed now from the stored manifest and catalog. */
  origin: 'stored' | 'computed';
  doc_coverage: number | null;
  doc_covered: number | null;
  columns: number | null;
  test_coverage: number | null;
  test_covered: number | null;
  column_tests: number | null;
  models: number;
  models_documented: number;
  models_tested: number;
  tests: number;
}

export interface TableChange {
  name: string;
  columns_before: number | null;
  columns_after: number;
  covered_before: number | null;
  covered_after: number;
  /** Columns that became uncovered here (new uncovered columns, or covered ones that lost it). */
  lost: number;
}

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
  tables: CoverageSummary['tables'];
}

export interface History {
  points: HistoryPoint[];
  /** The largest drops, largest first. */
  drops: Drop[];
  /** Per job, the tables of its latest run with a catalog. */
  latest: LatestTables[];
  /** Runs whose summary could not be had, and why. */
  skipped: { run_id: number; reason: string }[];
  stats: { runs: number; stored: number; computed: number };
}

export interface HistoryOptions {
  /** Runs finished on or after this day (by their date= folder). */
  since?: Date;
  jobIds?: readonly number[];
  /** Summaries read at once (a bucket answers each in tens of milliseconds). */
  concurrency?: number;
  /** Drops kept. */
  maxDrops?: number;
  logger?: Logger;
}

const RUN_PATH =
  /^(?:(.*)\/)?date=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/job_id=(\d+)\/run_id=(\d+)\/(?:step=(\d+)\/)?([^/]+)$/;

interface RunEntry {
  folder: string;
  date: string;
  hour: string;
  jobId: number;
  runId: number;
  complete: boolean;
  /** Step -> the files it has. */
  steps: Map<number, Set<string>>;
}

const RunMetaSchema = z.looseObject({
  finished_at: z.string().nullable().optional(),
  job: z.looseObject({ name: z.string().nullable().optional() }).nullable().optional(),
});

/** The step whose summary stands for the run: the last with a catalog, else the last with a summary or a manifest. */
function summaryStep(run: RunEntry): { step: number; stored: boolean; catalog: boolean } | null {
  const steps = [...run.steps].sort(([a], [b]) => b - a);
  const withCatalog = steps.find(([, f]) => f.has('catalog.json') && f.has('manifest.json'));
  if (withCatalog) return { step: withCatalog[0], stored: withCatalog[1].has(COVERAGE_FILE), catalog: true };
  const withSummary = steps.find(([, f]) => f.has(COVERAGE_FILE));
  if (withSummary) return { step: withSummary[0], stored: true, catalog: false };
  const withManifest = steps.find(([, f]) => f.has('manifest.json'));
  return withManifest ? { step: withManifest[0], stored: false, catalog: false } : null;
}

async function readText(reader: ObjectReader, path: string, limit = 64 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await reader.read(path)) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error(`${path} is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A run's summary: stored, or computed from its stored manifest (and catalog). */
async function summaryOf(
  reader: ObjectReader,
  run: RunEntry,
  pick: { step: number; stored: boolean; catalog: boolean },
): Promise<{ summary: CoverageSummary; origin: 'stored' | 'computed' }> {
  const dir = `${run.folder}/step=${pick.step}`;
  if (pick.stored) {
    const parsed = CoverageSummarySchema.safeParse(JSON.parse(await readText(reader, `${dir}/${COVERAGE_FILE}`)));
    if (!parsed.success) throw new Error(`${dir}/${COVERAGE_FILE} is not a coverage summary this version reads`);
    return { summary: parsed.data, origin: 'stored' };
  }
  const meta = RunMetaSchema.safeParse(JSON.parse(await readText(reader, `${run.folder}/_run.json`)));
  const manifest = await readFacts(
    await reader.read(`${dir}/manifest.json`),
    new ManifestReader(`${dir}/manifest.json`),
  );
  const catalog = pick.catalog
    ? await readFacts(await reader.read(`${dir}/catalog.json`), new CatalogReader(`${dir}/catalog.json`))
    : null;
  const summary = summarize(manifest, catalog, {
    finishedAt: meta.success ? (meta.data.finished_at ?? null) : null,
    jobName: meta.success ? (meta.data.job?.name ?? null) : null,
  });
  return { summary, origin: 'computed' };
}

/** Results of `fn` over `items` in order, at most `concurrency` computed ahead. */
async function* ordered<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<{ item: T; result: PromiseSettledResult<R> }> {
  const window: { item: T; promise: Promise<PromiseSettledResult<R>> }[] = [];
  let next = 0;
  const fill = (): void => {
    while (window.length < concurrency && next < items.length) {
      const item = items[next++]!;
      window.push({
        item,
        promise: fn(item).then(
          (value) => ({ status: 'fulfilled' as const, value }),
          (reason: unknown) => ({ status: 'rejected' as const, reason }),
        ),
      });
    }
  };
  fill();
  while (window.length > 0) {
    const head = window.shift()!;
    fill();
    yield { item: head.item, result: await head.promise };
  }
}

const tableMap = (s: CoverageSummary): Map<string, CoverageSummary['tables'][number]> =>
  new Map(s.tables.map((t) => [t.name, t]));

function dropOf(
  kind: 'doc' | 'test',
  job: { id: number; name: string | null },
  prev: { runId: number; summary: CoverageSummary },
  run: RunEntry,
  now: CoverageSummary,
  finishedAt: string,
): Drop | null {
  const before = prev.summary[kind]?.coverage;
  const after = now[kind]?.coverage;
  if (before === null || before === undefined || after === null || after === undefined || after >= before) return null;
  const field = kind === 'doc' ? 'documented' : 'tested';
  const earlier = tableMap(prev.summary);
  const tables: TableChange[] = [];
  for (const t of now.tables) {
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
  return {
    job_id: job.id,
    job_name: job.name,
    kind,
    from_run: prev.runId,
    to_run: run.runId,
    finished_at: finishedAt,
    before,
    after,
    change: after - before,
    tables: tables.slice(0, 10),
  };
}

export async function loadHistory(reader: ObjectReader, options: HistoryOptions = {}): Promise<History> {
  const log = options.logger ?? silentLogger;
  const since = options.since ? options.since.toISOString().slice(0, 10) : undefined;
  const runs = new Map<string, RunEntry>();
  for await (const entry of reader.list()) {
    const m = RUN_PATH.exec(entry.path);
    if (!m) continue;
    const [, lead, date, hour, job, run, step, file] = m as unknown as [
      string,
      string | undefined,
      string,
      string,
      string,
      string,
      string | undefined,
      string,
    ];
    if (since && date < since) continue;
    const jobId = Number(job);
    if (options.jobIds && options.jobIds.length > 0 && !options.jobIds.includes(jobId)) continue;
    const folder = `${lead ? `${lead}/` : ''}date=${date}/hour=${hour}/job_id=${job}/run_id=${run}`;
    const r = runs.get(folder) ?? { folder, date, hour, jobId, runId: Number(run), complete: false, steps: new Map() };
    runs.set(folder, r);
    if (step === undefined) {
      if (file === '_run.json') r.complete = true;
      continue;
    }
    const files = r.steps.get(Number(step)) ?? new Set<string>();
    r.steps.set(Number(step), files);
    files.add(file);
  }
  const ordered_runs = [...runs.values()]
    .filter((r) => r.complete)
    .sort(
      (a, b) =>
        a.jobId - b.jobId ||
        (a.date < b.date ? -1 : a.date > b.date ? 1 : 0) ||
        (a.hour < b.hour ? -1 : a.hour > b.hour ? 1 : 0) ||
        a.runId - b.runId,
    );
  runs.clear();

  const history: History = {
    points: [],
    drops: [],
    latest: [],
    skipped: [],
    stats: { runs: 0, stored: 0, computed: 0 },
  };
  const maxDrops = options.maxDrops ?? 10;
  const previous = new Map<number, { runId: number; summary: CoverageSummary }>();
  const latest = new Map<number, LatestTables>();
  const work = ordered_runs
    .map((run) => ({ run, pick: summaryStep(run) }))
    .filter((w): w is { run: RunEntry; pick: NonNullable<ReturnType<typeof summaryStep>> } => w.pick !== null);
  for await (const { item, result } of ordered(work, options.concurrency ?? 16, (w) =>
    summaryOf(reader, w.run, w.pick),
  )) {
    const { run, pick } = item;
    if (result.status === 'rejected') {
      const reason = errorMessage(result.reason);
      log.warn('coverage of a run not read; left out', { runId: run.runId, reason });
      history.skipped.push({ run_id: run.runId, reason });
      continue;
    }
    const { summary, origin } = result.value;
    history.stats.runs++;
    history.stats[origin === 'stored' ? 'stored' : 'computed']++;
    const finishedAt = summary.finished_at ?? `${run.date}T${run.hour}:00:00Z`;
    const job = { id: run.jobId, name: summary.job_name };
    history.points.push({
      job_id: run.jobId,
      job_name: summary.job_name,
      run_id: run.runId,
      finished_at: finishedAt,
      step: pick.step,
      origin,
      doc_coverage: summary.doc?.coverage ?? null,
      doc_covered: summary.doc?.covered ?? null,
      columns: summary.doc?.total ?? null,
      test_coverage: summary.test?.coverage ?? null,
      test_covered: summary.test?.covered ?? null,
      column_tests: summary.test?.hits ?? null,
      models: summary.models.total,
      models_documented: summary.models.documented,
      models_tested: summary.models.tested,
      tests: summary.models.tests,
    });
    if (summary.doc === null) continue;
    const prev = previous.get(run.jobId);
    if (prev) {
      for (const kind of ['doc', 'test'] as const) {
        const drop = dropOf(kind, job, prev, run, summary, finishedAt);
        if (!drop) continue;
        history.drops.push(drop);
        history.drops.sort((a, b) => a.change - b.change);
        if (history.drops.length > maxDrops) history.drops.length = maxDrops;
      }
    }
    previous.set(run.jobId, { runId: run.runId, summary });
    latest.set(run.jobId, {
      job_id: run.jobId,
      job_name: summary.job_name,
      run_id: run.runId,
      finished_at: finishedAt,
      tables: summary.tables,
    });
  }
  history.latest = [...latest.values()];
  return history;
}

/** The series as CSV, one row per run. */
export function historyCsv(points: readonly HistoryPoint[]): string {
  const columns: (keyof HistoryPoint)[] = [
    'job_id',
    'job_name',
    'run_id',
    'finished_at',
    'step',
    'origin',
    'doc_coverage',
    'doc_covered',
    'columns',
    'test_coverage',
    'test_covered',
    'column_tests',
    'models',
    'models_documented',
    'models_tested',
    'tests',
  ];
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    const text = String(v);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return `${columns.join(',')}\n${points.map((p) => columns.map((c) => cell(p[c])).join(',')).join('\n')}${points.length > 0 ? '\n' : ''}`;
}
