import { afterEach, describe, expect, it, vi } from 'vitest';
import { HistoryRowSchema, readHistoryRow, type HistoryRow } from '../../../lib/core/history-row.ts';
import { seededRandom as random } from '../../../harness/fake-dbt-cloud/prng.ts';
import { randomRow } from '../../history-rows.ts';

/**
 * readHistoryRow checks the rows this version writes by hand, and leaves anything else to zod: its
 * answer must be zod's, row for row, key order included (`history --format json` writes the rows it
 * reads), for every stored row, well-formed or hostile.
 */
const zodRead = (json: unknown): HistoryRow | null => {
  const parsed = HistoryRowSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
};

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
      const written = JSON.parse(JSON.stringify(randomRow(r))) as unknown;
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
    const old = JSON.parse(JSON.stringify(randomRow(random(7)))) as Record<string, Record<string, number>>;
    delete old['models']!['noop'];
    delete old['tests']!['reused'];
    const read = readHistoryRow(old)!;
    expect(read.models.noop).toBe(0);
    expect(read.tests.reused).toBe(0);
    same(old);
  });

  it('does not ask zod about a row as this version writes it, and keeps no unsafe link', () => {
    const written = { ...randomRow(random(9)), href: 'javascript:alert(1)' };
    const zod = vi.spyOn(HistoryRowSchema, 'safeParse');
    const read = readHistoryRow(JSON.parse(JSON.stringify(written)));
    expect(zod).not.toHaveBeenCalled();
    expect(read!.href).toBeNull();
    expect(read!.runId).toBe(written.runId);
  });
});
