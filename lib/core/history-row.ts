/**
 * A run's line in the history: one compact row per stored run, computed once (as the run is
 * harvested, or from its stored files) and kept in the history rollup, so that reading a year of
 * runs never reads a year of artifacts. Its fields are the contract of `history --format json`'s
 * `runs` (camelCase), plus what the report draws.
 *
 * Counting (the contract): a node counts once per run, with its result in the last step of the run
 * that executed it (a compile or docs generate step executes none: run-facts.ts); tests are nodes
 * whose id starts with `test.`, unit tests `unit_test.`, models `model.`; a test listed but not
 * executed is not counted; no-op and reused nodes count apart and have no time; freshness counts
 * once per run, from the run's last step that checked it (its freshness.json, which has sources and
 * models, else its sources.json).
 * @module
 */
import { z } from 'zod';
import type { CoverageSummary } from './coverage-summary.ts';
import { zodIssues } from './errors.ts';
import { dbtId } from './run-model.ts';
import {
  FreshnessCountsSchema,
  ModelCountsSchema,
  TestCountsSchema,
  freshnessOutcome,
  kindOf,
  modelOutcome,
  testOutcome,
  type FreshnessCounts,
  type ModelCounts,
  type NodeResult,
  type RunResultsFacts,
  type SourcesFacts,
  type TestCounts,
  executed,
  timed as hasTime,
  zeroModels,
  zeroTests,
} from './run-facts.ts';

/**
 * A run's link as it may be shown: an https URL without credentials, else null. Checked wherever a
 * link is read (dbt Cloud's answer, a stored `_run.json`, a stored row), not only where it was
 * written: a `javascript:` link in a stored row must never reach a report.
 */
export function safeRunLink(text: unknown): string | null {
  if (typeof text !== 'string' || text.length > 2048) return null;
  // dbt Cloud's own links (https://HOST/deploy/…/runs/ID/) need no parser: a plain host and a path
  // of plain characters cannot carry credentials or another scheme. Parsing every link of a year's
  // rows cost the report seconds; anything else is parsed.
  if (PLAIN_HTTPS.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  return url.protocol === 'https:' && !url.username && !url.password ? text : null;
}

// Labels of letters and digits joined by single hyphens (no punycode), the last starting with a
// letter (a numeric last label is an IPv4 address to a URL parser), no port: what this accepts, a
// parser accepts unchanged.
const PLAIN_HTTPS = /^https:\/\/([a-z0-9]+(-[a-z0-9]+)*\.)*[a-z][a-z0-9]*(-[a-z0-9]+)*(\/[a-z0-9\-._~%/]*)?$/i;

/**
 * A triple or pair of a row's lists ([id, seconds, status], [id, status], [id, status, lag]),
 * checked in one function rather than as a zod tuple of three schemas: a year's rows hold millions
 * of them, and the tuples were most of what validating a row cost.
 */
type EntryShape = readonly ('string' | 'seconds' | 'seconds?')[];
const isEntry = (shape: EntryShape, v: unknown): boolean =>
  Array.isArray(v) &&
  v.length === shape.length &&
  shape.every((kind, i) => {
    const x: unknown = v[i];
    if (kind === 'string') return typeof x === 'string';
    if (kind === 'seconds?' && x === null) return true;
    return typeof x === 'number' && Number.isFinite(x) && x >= 0;
  });
const SLOWEST: EntryShape = ['string', 'seconds', 'string'];
const FAILING: EntryShape = ['string', 'string'];
const SOURCE: EntryShape = ['string', 'string', 'seconds?'];
const entry = <T extends unknown[]>(shape: EntryShape, what: string) =>
  z.custom<T>((v) => isEntry(shape, v), { message: `not ${what}` });

/** The most of each list a row keeps: the report shows the top of each, never the whole. */
export const ROW_LIMITS = { slowest: 25, failingTests: 100, sources: 100 } as const;

const seconds = z.number().nonnegative().nullable();
const figures = z.object({ covered: z.number().int(), total: z.number().int(), hits: z.number().int().optional() });

export const HistoryRowSchema = z.object({
  v: z.literal(1),
  runId: dbtId,
  jobId: dbtId,
  jobName: z.string().nullable(),
  projectId: dbtId.nullable(),
  environmentId: dbtId.nullable(),
  /** ISO 8601, UTC. */
  finishedAt: z.iso.datetime(),
  status: z.enum(['success', 'error', 'cancelled']),
  durationSeconds: seconds,
  queuedSeconds: seconds,
  /** The run's page in dbt Cloud: https only, checked as a row is read as well as written. */
  href: z
    .string()
    .nullable()
    .transform((h) => safeRunLink(h)),
  trigger: z.string().nullable(),
  gitBranch: z.string().nullable(),
  /** The first step that did not succeed, in a run that did not. */
  failedStep: z.object({ index: z.number().int(), name: z.string() }).nullable(),
  tests: TestCountsSchema,
  unitTests: TestCountsSchema,
  models: ModelCountsSchema,
  freshness: FreshnessCountsSchema,
  coverage: z
    .object({
      step: z.number().int(),
      doc: figures.nullable(),
      test: figures.nullable(),
      unitTest: figures.nullable(),
      models: z.object({
        total: z.number().int(),
        documented: z.number().int(),
        tested: z.number().int(),
        tests: z.number().int(),
      }),
      /** Computed from the stored manifest and catalog (the run was harvested before summaries). */
      computed: z.boolean(),
    })
    .nullable(),
  /** Summed over the run's models, where the adapter reports them (BigQuery). */
  cost: z.object({ bytesProcessed: z.number().nonnegative(), slotMs: z.number().nonnegative() }).nullable(),
  /** The slowest models: id, seconds, status. */
  slowest: z.array(entry<[string, number, string]>(SLOWEST, 'an [id, seconds, status] triple')),
  /** Tests and unit tests that did not pass: id, status. */
  failingTests: z.array(entry<[string, string]>(FAILING, 'an [id, status] pair')),
  /** The run's last freshness results, worst first: id, status, lag in seconds. */
  sources: z.array(entry<[string, string, number | null]>(SOURCE, 'an [id, status, lag] triple')),
  /** Models the run ran (a count, for "models added and removed" between runs). */
  modelCount: z.number().int().nonnegative(),
});
export type HistoryRow = z.infer<typeof HistoryRowSchema>;

/**
 * A stored row read: what `HistoryRowSchema.safeParse(json)` gives (the row, or null), sooner. A
 * year's report reads 375,000 rows, and zod's general walk (a result object and an issue list per
 * field, then a copy of the row) was a third of the time and most of the garbage. A row as this
 * version writes it (every key, in the schema's order, each value of its type) is checked where it
 * lies and handed back itself, its link made safe: `json` must be a value just parsed, which this
 * may change. Anything else (an older row, a key missing, added or out of order, a time not in
 * `toISOString`'s form) goes to zod, which decides. A differential test
 * (test/unit/core/history-row-read.test.ts) holds the two answers equal, key order included.
 */
export function readHistoryRow(json: unknown): HistoryRow | null {
  if (isRowAsWritten(json)) {
    json.href = safeRunLink(json.href);
    return json;
  }
  const parsed = HistoryRowSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

type Fields = Record<string, unknown>;
const isObject = (x: unknown): x is Fields => typeof x === 'object' && x !== null && !Array.isArray(x);
const isId = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x > 0;
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);
const isAmount = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
const isSeconds = (x: unknown): x is number | null => x === null || isAmount(x);
const isText = (x: unknown): x is string | null => x === null || typeof x === 'string';
const STATUSES: ReadonlySet<unknown> = new Set(['success', 'error', 'cancelled']);

/** Whether an object's own keys are these, in this order (what zod's output would have). */
function keysAre(x: Fields, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in x) if (k !== keys[i++]) return false;
  return i === keys.length;
}
/** Counts: these keys, in order, each a count. */
const counts = (x: unknown, keys: readonly string[]): boolean =>
  isObject(x) && keysAre(x, keys) && keys.every((k) => isCount(x[k]));
/** The keys of a row's counts, in their schema's order (the order zod writes them, and a compacted day's). */
export const TEST_KEYS = Object.keys(TestCountsSchema.shape) as (keyof TestCounts)[];
export const MODEL_KEYS = Object.keys(ModelCountsSchema.shape) as (keyof ModelCounts)[];
export const FRESHNESS_KEYS = Object.keys(FreshnessCountsSchema.shape) as (keyof FreshnessCounts)[];
const FIGURES_KEYS = ['covered', 'total'];
const FIGURES_HITS_KEYS = ['covered', 'total', 'hits'];
const COVERAGE_KEYS = ['step', 'doc', 'test', 'unitTest', 'models', 'computed'];
const COVERAGE_MODEL_KEYS = ['total', 'documented', 'tested', 'tests'];
const ROW_KEYS = Object.keys(HistoryRowSchema.shape);

const figuresAsWritten = (x: unknown): boolean =>
  x === null ||
  (isObject(x) &&
    (keysAre(x, FIGURES_KEYS) || (keysAre(x, FIGURES_HITS_KEYS) && isInt(x['hits']))) &&
    isInt(x['covered']) &&
    isInt(x['total']));

function coverageAsWritten(x: unknown): boolean {
  if (x === null) return true;
  if (!isObject(x) || !keysAre(x, COVERAGE_KEYS)) return false;
  const m = x['models'];
  return (
    isInt(x['step']) &&
    typeof x['computed'] === 'boolean' &&
    figuresAsWritten(x['doc']) &&
    figuresAsWritten(x['test']) &&
    figuresAsWritten(x['unitTest']) &&
    isObject(m) &&
    keysAre(m, COVERAGE_MODEL_KEYS) &&
    COVERAGE_MODEL_KEYS.every((k) => isInt(m[k]))
  );
}

const entriesAre = (x: unknown, shape: EntryShape): boolean => Array.isArray(x) && x.every((v) => isEntry(shape, v));

/** Whether `json` is a row exactly as this version writes it, so that zod's answer would be itself. */
function isRowAsWritten(json: unknown): json is HistoryRow {
  if (!isObject(json) || !keysAre(json, ROW_KEYS)) return false;
  const r = json;
  const { finishedAt, failedStep: step, cost, projectId, environmentId } = r;
  if (
    r['v'] !== 1 ||
    !isId(r['runId']) ||
    !isId(r['jobId']) ||
    !isText(r['jobName']) ||
    !(projectId === null || isId(projectId)) ||
    !(environmentId === null || isId(environmentId)) ||
    !STATUSES.has(r['status']) ||
    !isSeconds(r['durationSeconds']) ||
    !isSeconds(r['queuedSeconds']) ||
    !isText(r['href']) ||
    !isText(r['trigger']) ||
    !isText(r['gitBranch']) ||
    !isCount(r['modelCount'])
  )
    return false;
  // The form a row is written in (toISOString): a date the calendar has, which zod's pattern accepts.
  if (typeof finishedAt !== 'string' || finishedAt.length !== 24) return false;
  const at = Date.parse(finishedAt);
  if (Number.isNaN(at) || new Date(at).toISOString() !== finishedAt) return false;
  if (step !== null && !(isObject(step) && keysAre(step, ['index', 'name']) && isInt(step['index']))) return false;
  if (step !== null && typeof step['name'] !== 'string') return false;
  if (cost !== null) {
    if (!isObject(cost) || !keysAre(cost, ['bytesProcessed', 'slotMs'])) return false;
    if (!isAmount(cost['bytesProcessed']) || !isAmount(cost['slotMs'])) return false;
  }
  return (
    counts(r['tests'], TEST_KEYS) &&
    counts(r['unitTests'], TEST_KEYS) &&
    counts(r['models'], MODEL_KEYS) &&
    counts(r['freshness'], FRESHNESS_KEYS) &&
    coverageAsWritten(r['coverage']) &&
    entriesAre(r['slowest'], SLOWEST) &&
    entriesAre(r['failingTests'], FAILING) &&
    entriesAre(r['sources'], SOURCE)
  );
}

/** What a row is made of: the run as stored in `_run.json`, and its steps' facts. */
export interface RunForRow {
  id: number;
  jobId: number;
  jobName: string | null;
  projectId: number | null;
  environmentId: number | null;
  status: number;
  createdAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date;
  href: string | null;
  trigger: string | null;
  gitBranch: string | null;
  /** The run's steps as dbt Cloud lists them: index, name, status. */
  steps: { index: number; name: string; status: number | null }[];
}

export interface StepFacts {
  index: number;
  /** The step's dbt sub-command (`run`, `docs generate`), or its file-name token (`docs_generate`), where known. */
  command?: string | null;
  results: RunResultsFacts | null;
  /** Its freshness: freshness.json's results where it has one, else sources.json's. */
  sources: SourcesFacts | null;
  coverage: CoverageSummary | null;
  /** The step has a catalog: its coverage stands for the run. */
  catalog: boolean;
}

const STATUS: Record<number, HistoryRow['status']> = { 10: 'success', 20: 'error', 30: 'cancelled' };
const secondsBetween = (a: Date | null, b: Date | null): number | null =>
  a && b ? Math.max(0, Math.round((b.getTime() - a.getTime()) / 10) / 100) : null;

/** The row of a run. */
export function historyRow(run: RunForRow, steps: readonly StepFacts[]): HistoryRow {
  const ordered = [...steps].sort((a, b) => a.index - b.index);
  // Each node once, with its result in the last step that ran it.
  const nodes = new Map<string, NodeResult>();
  for (const s of ordered)
    if (executed(s.command, s.results?.which)) for (const r of s.results?.results ?? []) nodes.set(r.id, r);
  const tests: TestCounts = zeroTests();
  const unitTests: TestCounts = zeroTests();
  const models: ModelCounts = zeroModels();
  const failing: [string, string][] = [];
  const timed: NodeResult[] = [];
  let bytes = 0;
  let slots = 0;
  let costed = false;
  for (const r of nodes.values()) {
    const kind = kindOf(r.id);
    if (kind === 'model') {
      models[modelOutcome(r.status)]++;
      if (r.seconds !== null && hasTime(r.status)) timed.push(r);
      if (r.bytesProcessed !== null || r.slotMs !== null) {
        costed = true;
        bytes += r.bytesProcessed ?? 0;
        slots += r.slotMs ?? 0;
      }
    } else if (kind === 'test' || kind === 'unit_test') {
      const outcome = testOutcome(r.status);
      if (outcome === null) continue;
      (kind === 'test' ? tests : unitTests)[outcome]++;
      if (outcome === 'fail' || outcome === 'warn' || outcome === 'error') failing.push([r.id, r.status]);
    }
  }
  const lastSources = [...ordered].reverse().find((s) => s.sources !== null)?.sources ?? null;
  const freshness: FreshnessCounts = { pass: 0, warn: 0, error: 0 };
  const rank = { error: 0, warn: 1, pass: 2 };
  const sources = (lastSources?.results ?? []).map((s) => {
    freshness[freshnessOutcome(s.status)]++;
    return [s.id, s.status, s.lagSeconds] as [string, string, number | null];
  });
  sources.sort(
    (a, b) =>
      rank[freshnessOutcome(a[1])] - rank[freshnessOutcome(b[1])] ||
      (b[2] ?? 0) - (a[2] ?? 0) ||
      (a[0] < b[0] ? -1 : 1),
  );
  failing.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  timed.sort((a, b) => b.seconds! - a.seconds! || (a.id < b.id ? -1 : 1));
  const standing =
    [...ordered].reverse().find((s) => s.coverage !== null && s.catalog) ??
    [...ordered].reverse().find((s) => s.coverage !== null);
  const c = standing?.coverage ?? null;
  const failedStep = run.status === 10 ? null : (run.steps.find((s) => s.status === 20 || s.status === 30) ?? null);
  return {
    v: 1,
    runId: run.id,
    jobId: run.jobId,
    jobName: run.jobName,
    projectId: run.projectId,
    environmentId: run.environmentId,
    finishedAt: run.finishedAt.toISOString(),
    status: STATUS[run.status] ?? 'error',
    durationSeconds: secondsBetween(run.startedAt, run.finishedAt),
    queuedSeconds: secondsBetween(run.createdAt, run.startedAt),
    href: run.href,
    trigger: run.trigger,
    gitBranch: run.gitBranch,
    failedStep: failedStep ? { index: failedStep.index, name: failedStep.name } : null,
    tests,
    unitTests,
    models,
    freshness,
    coverage:
      c && standing
        ? {
            step: standing.index,
            doc: c.doc ? { covered: c.doc.covered, total: c.doc.total } : null,
            test: c.test ? { covered: c.test.covered, total: c.test.total, hits: c.test.hits } : null,
            unitTest: c.unit_test
              ? { covered: c.unit_test.covered, total: c.unit_test.total, hits: c.unit_test.hits }
              : null,
            models: {
              total: c.models.total,
              documented: c.models.documented,
              tested: c.models.tested,
              tests: c.models.tests,
            },
            computed: c['computed'] === true,
          }
        : null,
    cost: costed ? { bytesProcessed: bytes, slotMs: slots } : null,
    slowest: timed.slice(0, ROW_LIMITS.slowest).map((r) => [r.id, r.seconds!, r.status]),
    failingTests: failing.slice(0, ROW_LIMITS.failingTests),
    sources: sources.slice(0, ROW_LIMITS.sources),
    modelCount: models.success + models.error + models.skipped + models.noop + models.reused,
  };
}

/** A run as `_run.json` holds it (the dbt Cloud API's run, loosely): what a row needs of it. */
const StoredRunSchema = z.looseObject({
  id: dbtId,
  job_definition_id: dbtId,
  project_id: dbtId.nullable().optional(),
  environment_id: dbtId.nullable().optional(),
  status: z.number().int(),
  created_at: z.string().nullable().optional(),
  started_at: z.string().nullable().optional(),
  finished_at: z.string(),
  href: z.string().nullable().optional(),
  git_branch: z.string().nullable().optional(),
  job: z.looseObject({ name: z.string().nullable().optional() }).nullable().optional(),
  trigger: z.looseObject({ cause: z.string().nullable().optional() }).nullable().optional(),
  run_steps: z
    .array(z.looseObject({ index: z.number().int(), name: z.string(), status: z.number().int().nullable().optional() }))
    .nullable()
    .optional(),
});

/** dbt Cloud's timestamps ("2026-11-01 10:15:00.123456+00:00", or ISO 8601). */
export function parseDbtTime(text: string | null | undefined): Date | null {
  if (!text) return null;
  const iso = text.includes('T') ? text : text.replace(' ', 'T');
  const at = new Date(iso.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(at.getTime()) ? null : at;
}

/** A stored `_run.json` as a row's run; an error naming what is wrong, for a file that is not one. */
export function runForRow(stored: unknown): RunForRow {
  const parsed = StoredRunSchema.safeParse(stored);
  if (!parsed.success) throw new Error(`not a dbt Cloud run (${zodIssues(parsed.error, '_run.json').join('; ')})`);
  const run = parsed.data;
  const finishedAt = parseDbtTime(run.finished_at);
  if (!finishedAt) throw new Error(`finished_at ${JSON.stringify(run.finished_at)} is not a time`);
  return {
    id: run.id,
    jobId: run.job_definition_id,
    jobName: run.job?.name ?? null,
    projectId: run.project_id ?? null,
    environmentId: run.environment_id ?? null,
    status: run.status,
    createdAt: parseDbtTime(run.created_at),
    startedAt: parseDbtTime(run.started_at),
    finishedAt,
    href: safeRunLink(run.href),
    trigger: run.trigger?.cause ?? null,
    gitBranch: run.git_branch ?? null,
    steps: (run.run_steps ?? []).map((s) => ({ index: s.index, name: s.name, status: s.status ?? null })),
  };
}
