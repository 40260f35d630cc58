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
import { readHistoryRow, type HistoryRow } from '../core/history-row.ts';

export const COMPACTED_VERSION = 2;

const TESTS = ['pass', 'fail', 'warn', 'error', 'skipped', 'reused'] as const;
const MODELS = ['success', 'error', 'skipped', 'noop', 'reused'] as const;
const FRESHNESS = ['pass', 'warn', 'error'] as const;

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
      TESTS.map((k) => r.tests[k]),
      TESTS.map((k) => r.unitTests[k]),
      MODELS.map((k) => r.models[k]),
      FRESHNESS.map((k) => r.freshness[k]),
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

/** An array of values as the object of these keys, in this order; undefined for another shape. */
function unpack<K extends string>(x: unknown, keys: readonly K[]): Record<K, unknown> | undefined {
  if (!isArray(x, keys.length)) return undefined;
  const out = {} as Record<K, unknown>;
  keys.forEach((k, i) => {
    out[k] = x[i];
  });
  return out;
}

function unpackFigures(x: unknown): unknown {
  if (x === null) return null;
  return Array.isArray(x) && x.length === 3 ? unpack(x, ['covered', 'total', 'hits']) : unpack(x, ['covered', 'total']);
}

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
      doc: unpackFigures(c[1]),
      test: unpackFigures(c[2]),
      unitTest: unpackFigures(c[3]),
      models: unpack(c[4], ['total', 'documented', 'tested', 'tests']),
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
    failedStep: step === null ? null : unpack(step, ['index', 'name']),
    tests: unpack(x[14], TESTS),
    unitTests: unpack(x[15], TESTS),
    models: unpack(x[16], MODELS),
    freshness: unpack(x[17], FRESHNESS),
    coverage,
    cost: cost === null ? null : unpack(cost, ['bytesProcessed', 'slotMs']),
    slowest: named(x[20], names, 3),
    failingTests: named(x[21], names, 2),
    sources: named(x[22], names, 3),
    modelCount: x[23],
  });
}
