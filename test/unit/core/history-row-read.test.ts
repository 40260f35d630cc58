import { afterEach, describe, expect, it, vi } from 'vitest';
import { HistoryRowSchema, readHistoryRow, type HistoryRow } from '../../../lib/core/history-row.ts';
import { seededRandom as random } from '../../../harness/fake-dbt-cloud/prng.ts';

/**
 * readHistoryRow checks the rows this version writes by hand, and leaves anything else to zod: its
 * answer must be zod's, row for row, key order included (`history --format json` writes the rows it
 * reads), for every stored row, well-formed or hostile.
 */
const zodRead = (json: unknown): HistoryRow | null => {
  const parsed = HistoryRowSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
};

function row(r: () => number): HistoryRow {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const n = (max: number) => Math.floor(r() * max);
  const maybe = <T>(x: T): T | null => (r() < 0.2 ? null : x);
  const counts = <K extends string>(keys: readonly K[]) =>
    Object.fromEntries(keys.map((k) => [k, n(30)])) as Record<K, number>;
  const tests = ['pass', 'fail', 'warn', 'error', 'skipped', 'reused'] as const;
  const figures = () => maybe(r() < 0.5 ? { covered: n(50), total: 50 } : { covered: n(50), total: 50, hits: n(200) });
  return {
    v: 1,
    runId: 1 + n(1e9),
    jobId: 1 + n(1e5),
    jobName: maybe(pick(['Nightly', 'CI: pull requests', 'ünïcode ✓', ''])),
    projectId: maybe(1 + n(1e4)),
    environmentId: maybe(1 + n(1e4)),
    finishedAt: new Date(Date.UTC(2020, 0, 1) + n(7 * 365 * 86_400_000)).toISOString(),
    status: pick(['success', 'error', 'cancelled'] as const),
    durationSeconds: maybe(n(1e5) / 100),
    queuedSeconds: maybe(n(1e4) / 100),
    href: maybe(
      pick([
        'https://cloud.getdbt.com/deploy/1/projects/2/runs/9/',
        'https://ab123.us1.dbt.com/deploy/1/projects/2/runs/9/',
        'https://user:pw@example.com/x',
        'javascript:alert(1)',
        'https://[::1]/runs/9',
      ]),
    ),
    trigger: maybe('Triggered by the schedule'),
    gitBranch: maybe('main'),
    failedStep: maybe({ index: n(8), name: 'Invoke dbt with `dbt build`' }),
    tests: counts(tests),
    unitTests: counts(tests),
    models: counts(['success', 'error', 'skipped', 'noop', 'reused'] as const),
    freshness: counts(['pass', 'warn', 'error'] as const),
    coverage: maybe({
      step: n(8),
      doc: figures(),
      test: figures(),
      unitTest: figures(),
      models: { total: n(100), documented: n(100), tested: n(100), tests: n(300) },
      computed: r() < 0.5,
    }),
    cost: maybe({ bytesProcessed: n(1e12), slotMs: n(1e9) }),
    slowest: Array.from(
      { length: n(25) },
      (_, i) => [`model.p.m${i}`, n(1e4) / 100, 'success'] as [string, number, string],
    ),
    failingTests: Array.from({ length: n(5) }, (_, i) => [`test.p.t${i}`, 'fail'] as [string, string]),
    sources: Array.from(
      { length: n(4) },
      (_, i) => [`source.p.s${i}`, 'pass', maybe(n(1e5))] as [string, string, number | null],
    ),
    modelCount: n(500),
  };
}

/** Every place in a value (its paths), for replacing one at a time. */
function paths(x: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof x !== 'object' || x === null) return [at];
  const keys: (string | number)[] = Array.isArray(x) ? x.map((_, i) => i) : Object.keys(x);
  return [at, ...keys.flatMap((k) => paths((x as Record<string | number, unknown>)[k], [...at, k]))];
}

/** `x` with the value at `path` replaced (or removed, for `undefined`). */
function patched(x: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = (Array.isArray(x) ? [...x] : { ...(x as object) }) as Record<string | number, unknown>;
  const [k, ...rest] = path as [string | number, ...(string | number)[]];
  const next = patched(copy[k], rest, value);
  if (next === undefined && !Array.isArray(copy)) delete copy[k];
  else copy[k] = next;
  return copy;
}

const HOSTILE: unknown[] = [
  undefined,
  null,
  0,
  -0,
  -1,
  1.5,
  2 ** 53,
  1e308,
  '',
  'x',
  '2026-02-30T00:00:00.000Z',
  '2026-11-01T10:00:00Z',
  '2026-11-01T10:00:00.000+01:00',
  '2026-11-01T10:00:00.000000Z',
  true,
  [],
  {},
  ['model.p.a', 1, 'success'],
];

const same = (json: unknown) => {
  const fast = readHistoryRow(json);
  const slow = zodRead(json);
  expect(fast).toEqual(slow);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(slow));
};

describe('reading a stored row', () => {
  afterEach(() => vi.restoreAllMocks());

  it('gives zod’s answer for rows as written, and for every field of them replaced by a hostile value', () => {
    const r = random(341);
    let compared = 0;
    for (let i = 0; i < 40; i++) {
      const written = JSON.parse(JSON.stringify(row(r))) as unknown;
      same(written);
      compared++;
      for (const path of paths(written).slice(1))
        for (const value of HOSTILE) {
          same(patched(written, path, value));
          compared++;
        }
      same({ ...(written as object), extra: 'dropped' });
      // The same keys in another order, at the top and inside: zod's output has the schema's order.
      const { v, ...rest } = written as Record<string, unknown>;
      same({ ...rest, v });
      const tests = (written as { tests: Record<string, number> }).tests;
      same({ ...(written as object), tests: Object.fromEntries(Object.entries(tests).reverse()) });
      same(JSON.parse(JSON.stringify(written).replace('{"v":1,', '{"__proto__":{"v":1},"v":1,')));
    }
    expect(compared).toBeGreaterThan(10_000);
  });

  it('reads rows stored before no-op and reused nodes counted apart, through zod', () => {
    const old = JSON.parse(JSON.stringify(row(random(7)))) as Record<string, Record<string, number>>;
    delete old['models']!['noop'];
    delete old['tests']!['reused'];
    const read = readHistoryRow(old)!;
    expect(read.models.noop).toBe(0);
    expect(read.tests.reused).toBe(0);
    same(old);
  });

  it('does not ask zod about a row as this version writes it, and keeps no unsafe link', () => {
    const written = { ...row(random(9)), href: 'javascript:alert(1)' };
    const zod = vi.spyOn(HistoryRowSchema, 'safeParse');
    const read = readHistoryRow(JSON.parse(JSON.stringify(written)));
    expect(zod).not.toHaveBeenCalled();
    expect(read!.href).toBeNull();
    expect(read!.runId).toBe(written.runId);
  });
});
