/**
 * A compacted day of the history rollup (`_history/days/date=D/rows=N.v2.jsonl`, core/paths.ts):
 * every row of a day, in time order, in fewer bytes than the rows themselves.
 *
 * - The first line names the day's nodes: `{"v":2,"names":["model.p.orders", …]}`.
 * - Each other line is a row as an array: its fields in the row's own order (HistoryRowSchema),
 *   each object among them as the array of its values in their order (`tests` is
 *   `[pass, fail, warn, error, skipped, reused]`), and each node of its lists (`slowest`,
 *   `failingTests`, `sources`) by its place in `names`.
 *
 * A row written this way reads back as the row itself (a test holds every field to it). A year of
 * rows was 465 MB as JSON objects, where most bytes were keys and node ids written again in every
 * run; as arrays it is 180 MB, parsed in half the time, each id one string for the day.
 *
 * Version 1 (`rows=N.jsonl`, a row's JSON a line) is still read; a reader that may write replaces
 * it with version 2 once. Readers before version 2 do not see a version 2 object (its name is not
 * one they read) and read the day's rows one by one, as they did before compacting.
 * @module
 */
import { z } from 'zod';
import { FRESHNESS_KEYS, MODEL_KEYS, TEST_KEYS, readHistoryRow, type HistoryRow } from '../core/history-row.ts';

export const COMPACTED_VERSION = 2;

type Figures = { covered: number; total: number; hits?: number } | null;
const packFigures = (f: Figures) => f && (f.hits === undefined ? [f.covered, f.total] : [f.covered, f.total, f.hits]);

/** A day's rows (in time order) as a version 2 compacted day. */
export function compactDay(rows: readonly HistoryRow[]): string {
  const names = new Map<string, number>();
  const name = (id: string): number => {
    let i = names.get(id);
    if (i === undefined) {
      i = names.size;
      names.set(id, i);
    }
    return i;
  };
  const lines = rows.map((r) => {
    const c = r.coverage;
    const packed = [
      r.v,
      r.runId,
      r.jobId,
      r.jobName,
      r.projectId,
      r.environmentId,
      r.finishedAt,
      r.status,
      r.durationSeconds,
      r.queuedSeconds,
      r.href,
      r.trigger,
      r.gitBranch,
      r.failedStep && [r.failedStep.index, r.failedStep.name],
      TEST_KEYS.map((k) => r.tests[k]),
      TEST_KEYS.map((k) => r.unitTests[k]),
      MODEL_KEYS.map((k) => r.models[k]),
      FRESHNESS_KEYS.map((k) => r.freshness[k]),
      c && [
        c.step,
        packFigures(c.doc),
        packFigures(c.test),
        packFigures(c.unitTest),
        [c.models.total, c.models.documented, c.models.tested, c.models.tests],
        c.computed,
      ],
      r.cost && [r.cost.bytesProcessed, r.cost.slotMs],
      r.slowest.map(([id, seconds, status]) => [name(id), seconds, status]),
      r.failingTests.map(([id, status]) => [name(id), status]),
      r.sources.map(([id, status, lag]) => [name(id), status, lag]),
      r.modelCount,
    ];
    return `${JSON.stringify(packed)}\n`;
  });
  return `${JSON.stringify({ v: COMPACTED_VERSION, names: [...names.keys()] })}\n${lines.join('')}`;
}

/** The first line of a version 2 compacted day. */
export const CompactedHeadSchema = z.object({ v: z.literal(COMPACTED_VERSION), names: z.array(z.string()) });

type Values = readonly unknown[];
const isArray = (x: unknown, length: number): x is Values => Array.isArray(x) && x.length === length;

// Each object of a row from its array, written out key by key: an object literal gets the same
// shape every time, where one built key by key in a loop was the slowest part of reading a row.
const testsOf = (x: unknown) =>
  isArray(x, 6) ? { pass: x[0], fail: x[1], warn: x[2], error: x[3], skipped: x[4], reused: x[5] } : undefined;
const modelsOf = (x: unknown) =>
  isArray(x, 5) ? { success: x[0], error: x[1], skipped: x[2], noop: x[3], reused: x[4] } : undefined;
const freshnessOf = (x: unknown) => (isArray(x, 3) ? { pass: x[0], warn: x[1], error: x[2] } : undefined);
const figuresOf = (x: unknown) => {
  if (x === null) return null;
  if (isArray(x, 2)) return { covered: x[0], total: x[1] };
  return isArray(x, 3) ? { covered: x[0], total: x[1], hits: x[2] } : undefined;
};
const coverageModelsOf = (x: unknown) =>
  isArray(x, 4) ? { total: x[0], documented: x[1], tested: x[2], tests: x[3] } : undefined;

/** A list's entries with the node at their first place named. */
function named(x: unknown, names: readonly string[], length: number): unknown[] | undefined {
  if (!Array.isArray(x)) return undefined;
  const out: unknown[] = [];
  for (const e of x) {
    if (!isArray(e, length)) return undefined;
    const i = e[0];
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= names.length) return undefined;
    out.push(length === 2 ? [names[i], e[1]] : [names[i], e[1], e[2]]);
  }
  return out;
}

/**
 * A version 2 line (parsed) as its row: null for anything that is not one. The row is checked as
 * any stored row is (readHistoryRow), once its arrays are objects again.
 */
export function unpackRow(x: unknown, names: readonly string[]): HistoryRow | null {
  if (!isArray(x, 24)) return null;
  const c = x[18];
  let coverage: unknown = null;
  if (c !== null) {
    if (!isArray(c, 6)) return null;
    coverage = {
      step: c[0],
      doc: figuresOf(c[1]),
      test: figuresOf(c[2]),
      unitTest: figuresOf(c[3]),
      models: coverageModelsOf(c[4]),
      computed: c[5],
    };
  }
  const step = x[13];
  const cost = x[19];
  return readHistoryRow({
    v: x[0],
    runId: x[1],
    jobId: x[2],
    jobName: x[3],
    projectId: x[4],
    environmentId: x[5],
    finishedAt: x[6],
    status: x[7],
    durationSeconds: x[8],
    queuedSeconds: x[9],
    href: x[10],
    trigger: x[11],
    gitBranch: x[12],
    failedStep: step === null ? null : isArray(step, 2) ? { index: step[0], name: step[1] } : undefined,
    tests: testsOf(x[14]),
    unitTests: testsOf(x[15]),
    models: modelsOf(x[16]),
    freshness: freshnessOf(x[17]),
    coverage,
    cost: cost === null ? null : isArray(cost, 2) ? { bytesProcessed: cost[0], slotMs: cost[1] } : undefined,
    slowest: named(x[20], names, 3),
    failingTests: named(x[21], names, 2),
    sources: named(x[22], names, 3),
    modelCount: x[23],
  });
}
