/**
 * The history as JSON and CSV, written as the rows come (a year of runs is never one string):
 * `history` writes every run (the contract in core/history-row.ts) and then the figures;
 * `coverage history` writes its coverage points, as it always has.
 * @module
 */
import type { HistoryRow } from '../core/history-row.ts';
import type { History } from './history.ts';

/**
 * A CSV cell: quoted where it holds a separator, a quote or a line break; a text that a spreadsheet
 * would take for a formula (starting with =, +, -, @, a tab or a carriage return) is prefixed with
 * a quote, as OWASP's CSV injection advice has it (numbers are written as numbers).
 */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  let text = String(v);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const csvLine = (cells: readonly unknown[]): string => `${cells.map(csvCell).join(',')}\n`;

// ---- history --------------------------------------------------------------------------------------

/** Every field of a run, flattened (the lists of a run, its slowest models and failing tests, are JSON's). */
const RUN_COLUMNS: [string, (r: HistoryRow) => unknown][] = [
  ['runId', (r) => r.runId],
  ['jobId', (r) => r.jobId],
  ['jobName', (r) => r.jobName],
  ['finishedAt', (r) => r.finishedAt],
  ['status', (r) => r.status],
  ['durationSeconds', (r) => milliseconds(r.durationSeconds)],
  ['queuedSeconds', (r) => milliseconds(r.queuedSeconds)],
  ['failedStep', (r) => (r.failedStep ? `${r.failedStep.index}: ${r.failedStep.name}` : null)],
  ...(['pass', 'fail', 'warn', 'error', 'skipped', 'reused'] as const).map(
    (k): [string, (r: HistoryRow) => unknown] => [`tests.${k}`, (r) => r.tests[k]],
  ),
  ...(['success', 'error', 'skipped', 'noop', 'reused'] as const).map((k): [string, (r: HistoryRow) => unknown] => [
    `models.${k}`,
    (r) => r.models[k],
  ]),
  ['freshness.pass', (r) => r.freshness.pass],
  ['freshness.warn', (r) => r.freshness.warn],
  ['freshness.error', (r) => r.freshness.error],
  ['docCoverage', (r) => fraction(ratio(r.coverage?.doc))],
  ['testCoverage', (r) => fraction(ratio(r.coverage?.test))],
  ['unitTestCoverage', (r) => fraction(ratio(r.coverage?.unitTest))],
  ['bytesProcessed', (r) => r.cost?.bytesProcessed ?? null],
  ['href', (r) => r.href],
  // Added after the others (version 2), so that scripts reading columns by position keep working.
  ...(['pass', 'fail', 'warn', 'error', 'skipped', 'reused'] as const).map(
    (k): [string, (r: HistoryRow) => unknown] => [`unitTests.${k}`, (r) => r.unitTests[k]],
  ),
  ['slotMs', (r) => r.cost?.slotMs ?? null],
  ['trigger', (r) => r.trigger],
  ['gitBranch', (r) => r.gitBranch],
  ['projectId', (r) => r.projectId],
  ['environmentId', (r) => r.environmentId],
  ['modelCount', (r) => r.modelCount],
  ['coverageStep', (r) => r.coverage?.step ?? null],
  ['slowestModel', (r) => r.slowest[0]?.[0] ?? null],
  ['slowestSeconds', (r) => milliseconds(r.slowest[0]?.[1] ?? null)],
  ['failingTests', (r) => r.failingTests.length],
];

const ratio = (f: { covered: number; total: number } | null | undefined): number | null =>
  f && f.total > 0 ? f.covered / f.total : null;

export interface Sink {
  write(text: string): void;
}

/** `history --format csv`: a header, then one line per run as it comes. */
export function runsCsv(out: Sink): { row: (r: HistoryRow) => void } {
  out.write(csvLine(RUN_COLUMNS.map(([name]) => name)));
  return { row: (r) => out.write(csvLine(RUN_COLUMNS.map(([, get]) => get(r)))) };
}

/** The version of `history --format json` (its top-level `schemaVersion`). */
export const HISTORY_JSON_VERSION = 2;

/** Seconds rounded to the millisecond; a ratio to four decimals (no float noise such as 58.989999999999995). */
export const milliseconds = (s: number | null | undefined): number | null =>
  s === null || s === undefined ? null : Math.round(s * 1000) / 1000;
export const fraction = (r: number | null | undefined): number | null =>
  r === null || r === undefined ? null : Math.round(r * 10_000) / 10_000;

/** Keys whose numbers are seconds (to the millisecond); every other fraction is a ratio (four decimals). */
const SECONDS = /(seconds|Seconds|Median|Max)$/;
const camel = (key: string): string => key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Version 2 of a figure: camelCase keys, seconds to the millisecond, ratios to four decimals. */
export function v2(value: unknown, key = ''): unknown {
  if (typeof value === 'number')
    return Number.isInteger(value) ? value : SECONDS.test(key) ? milliseconds(value) : fraction(value);
  if (Array.isArray(value)) return value.map((v) => v2(v, key));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), v2(v, camel(k))]));
}

/** A run, version 2: the contract's fields by their names, lists of objects instead of tuples. */
export function runV2(r: HistoryRow): Record<string, unknown> {
  const { v: _v, slowest, failingTests, sources, ...rest } = r;
  return v2({
    ...rest,
    slowest: slowest.map(([model, seconds, status]) => ({ model, seconds, status })),
    failingTests: failingTests.map(([test, status]) => ({ test, status })),
    sources: sources.map(([source, status, lagSeconds]) => ({ source, status, lagSeconds })),
  }) as Record<string, unknown>;
}

/**
 * `history --format json`, version 2: `{"schemaVersion": 2, "source", "runs": [...each run as it
 * comes...], then the figures}`.
 */
export function runsJson(out: Sink, source: string): { row: (r: HistoryRow) => void; end: (h: History) => void } {
  let first = true;
  out.write(`{"schemaVersion":${HISTORY_JSON_VERSION},"source":${JSON.stringify(source)},"runs":[`);
  return {
    row: (r) => {
      out.write(`${first ? '\n' : ',\n'}${JSON.stringify(runV2(r))}`);
      first = false;
    },
    end: (h) => {
      const f = h.figures;
      const rest = {
        window: { first: f.first, last: f.last },
        jobs: f.jobs.map(({ last, ...j }) => ({ ...j, lastRunId: last.runId, lastStatus: last.status })),
        days: f.days,
        failures: f.failures.map((r) => r.runId),
        models: {
          slowestNow: f.slowestNow,
          // Seconds before and after, named so.
          regressions: f.regressions.map(({ before, after, ...r }) => ({
            ...r,
            beforeSeconds: before,
            afterSeconds: after,
          })),
          series: f.modelSeries,
          changes: h.modelChanges,
        },
        tests: { failingNow: f.failingNow, flaky: f.flaky },
        freshness: { now: f.freshnessNow, series: f.sourceSeries },
        coverage: { drops: h.drops, latest: h.latest },
        stats: h.stats,
      };
      out.write(`${first ? '' : '\n'}],${JSON.stringify(v2(rest)).slice(1)}\n`);
    },
  };
}

// ---- coverage history -----------------------------------------------------------------------------

/** A run's coverage, as `coverage history` has always written it. */
export interface HistoryPoint {
  job_id: number;
  job_name: string | null;
  run_id: number;
  finished_at: string;
  step: number;
  /** Read from the run's stored coverage.json, or computed from its stored manifest and catalog. */
  origin: 'stored' | 'computed';
  doc_coverage: number | null;
  doc_covered: number | null;
  columns: number | null;
  test_coverage: number | null;
  test_covered: number | null;
  column_tests: number | null;
  unit_test_coverage: number | null;
  models: number;
  models_documented: number;
  models_tested: number;
  tests: number;
}

export function coveragePoint(r: HistoryRow): HistoryPoint | null {
  const c = r.coverage;
  if (!c) return null;
  return {
    job_id: r.jobId,
    job_name: r.jobName,
    run_id: r.runId,
    finished_at: r.finishedAt,
    step: c.step,
    origin: c.computed ? 'computed' : 'stored',
    doc_coverage: ratio(c.doc),
    doc_covered: c.doc?.covered ?? null,
    columns: c.doc?.total ?? null,
    test_coverage: ratio(c.test),
    test_covered: c.test?.covered ?? null,
    column_tests: c.test?.hits ?? null,
    unit_test_coverage: ratio(c.unitTest),
    models: c.models.total,
    models_documented: c.models.documented,
    models_tested: c.models.tested,
    tests: c.models.tests,
  };
}

const POINT_COLUMNS: (keyof HistoryPoint)[] = [
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
  // Added after the others, so that scripts reading columns by position keep working.
  'unit_test_coverage',
];

export function pointsCsv(out: Sink): { point: (p: HistoryPoint) => void } {
  out.write(csvLine(POINT_COLUMNS));
  return { point: (p) => out.write(csvLine(POINT_COLUMNS.map((c) => p[c]))) };
}

/** `coverage history --format json`: `{"source", "points": [...], "drops", "latest", "stats"}`. */
export function pointsJson(out: Sink, source: string): { point: (p: HistoryPoint) => void; end: (h: History) => void } {
  let first = true;
  let stored = 0;
  let computed = 0;
  out.write(`{"source":${JSON.stringify(source)},"points":[`);
  return {
    point: (p) => {
      out.write(`${first ? '\n' : ',\n'}${JSON.stringify(p)}`);
      first = false;
      if (p.origin === 'stored') stored++;
      else computed++;
    },
    end: (h) => {
      const rest = {
        drops: h.drops,
        latest: h.latest,
        stats: { runs: stored + computed, stored, computed },
        skipped: h.stats.skipped,
      };
      out.write(`${first ? '' : '\n'}],${JSON.stringify(rest).slice(1)}\n`);
    },
  };
}
