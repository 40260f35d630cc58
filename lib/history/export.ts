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

const RUN_COLUMNS: [string, (r: HistoryRow) => unknown][] = [
  ['runId', (r) => r.runId],
  ['jobId', (r) => r.jobId],
  ['jobName', (r) => r.jobName],
  ['finishedAt', (r) => r.finishedAt],
  ['status', (r) => r.status],
  ['durationSeconds', (r) => r.durationSeconds],
  ['queuedSeconds', (r) => r.queuedSeconds],
  ['failedStep', (r) => (r.failedStep ? `${r.failedStep.index}: ${r.failedStep.name}` : null)],
  ['tests.pass', (r) => r.tests.pass],
  ['tests.fail', (r) => r.tests.fail],
  ['tests.warn', (r) => r.tests.warn],
  ['tests.error', (r) => r.tests.error],
  ['tests.skipped', (r) => r.tests.skipped],
  ['models.success', (r) => r.models.success],
  ['models.error', (r) => r.models.error],
  ['models.skipped', (r) => r.models.skipped],
  ['freshness.pass', (r) => r.freshness.pass],
  ['freshness.warn', (r) => r.freshness.warn],
  ['freshness.error', (r) => r.freshness.error],
  ['docCoverage', (r) => ratio(r.coverage?.doc)],
  ['testCoverage', (r) => ratio(r.coverage?.test)],
  ['unitTestCoverage', (r) => ratio(r.coverage?.unitTest)],
  ['bytesProcessed', (r) => r.cost?.bytesProcessed ?? null],
  ['href', (r) => r.href],
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

/** `history --format json`: `{"source", "runs": [...each run as it comes...], then the figures}`. */
export function runsJson(out: Sink, source: string): { row: (r: HistoryRow) => void; end: (h: History) => void } {
  let first = true;
  out.write(`{"source":${JSON.stringify(source)},"runs":[`);
  return {
    row: (r) => {
      out.write(`${first ? '\n' : ',\n'}${JSON.stringify(r)}`);
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
          regressions: f.regressions,
          series: f.modelSeries,
          changes: h.modelChanges,
        },
        tests: { failingNow: f.failingNow, flaky: f.flaky },
        freshness: { now: f.freshnessNow, series: f.sourceSeries },
        coverage: { drops: h.drops, latest: h.latest },
        stats: h.stats,
      };
      out.write(`${first ? '' : '\n'}],${JSON.stringify(rest).slice(1)}\n`);
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
