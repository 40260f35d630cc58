import { describe, expect, it } from 'vitest';
import { seededRandom as random } from '../../../harness/fake-dbt-cloud/prng.ts';
import { readHistoryRow, type HistoryRow } from '../../../lib/core/history-row.ts';
import { CompactedHeadSchema, compactDay, unpackRow } from '../../../lib/history/compacted.ts';
import { randomRow } from '../../history-rows.ts';

/** A compacted day of version 2 reads back as the rows written, field for field, key order included. */
const read = (text: string): (HistoryRow | null)[] => {
  const [head, ...lines] = text.trimEnd().split('\n');
  const { names } = CompactedHeadSchema.parse(JSON.parse(head!));
  return lines.map((l) => unpackRow(JSON.parse(l), names));
};

describe('a compacted day', () => {
  it('reads back as the rows it was made of, each as a stored row of them reads', () => {
    const r = random(2026);
    for (let day = 0; day < 20; day++) {
      const rows = Array.from({ length: 1 + Math.floor(r() * 40) }, () => randomRow(r));
      const back = read(compactDay(rows));
      const expected = rows.map((row) => readHistoryRow(JSON.parse(JSON.stringify(row))));
      expect(back).toEqual(expected);
      expect(back.map((b) => JSON.stringify(b))).toEqual(expected.map((e) => JSON.stringify(e)));
    }
  });

  it('names each node once, and is smaller than the rows', () => {
    const r = random(5);
    const rows = Array.from({ length: 50 }, () => randomRow(r));
    const text = compactDay(rows);
    const { names } = CompactedHeadSchema.parse(JSON.parse(text.split('\n')[0]!));
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain(rows.find((row) => row.slowest.length > 0)!.slowest[0]![0]);
    expect(text.length).toBeLessThan(rows.map((row) => JSON.stringify(row)).join('\n').length * 0.75);
  });

  it('refuses a line that is not a row: another length, a name out of the table, a field of the wrong type', () => {
    const row = { ...randomRow(random(11)), slowest: [['model.p.a', 1, 'success']] as [string, number, string][] };
    const [head, line] = compactDay([row]).split('\n');
    const { names } = CompactedHeadSchema.parse(JSON.parse(head!));
    const packed = JSON.parse(line!) as unknown[];
    expect(unpackRow(packed, names)).not.toBeNull();
    const bad = (i: number, value: unknown) =>
      unpackRow(
        packed.map((v, j) => (j === i ? value : v)),
        names,
      );
    expect(unpackRow(packed.slice(1), names)).toBeNull();
    expect(unpackRow({ ...packed }, names)).toBeNull();
    expect(bad(20, [[names.length, 1, 'success']])).toBeNull();
    expect(bad(20, [[-1, 1, 'success']])).toBeNull();
    expect(bad(20, [[0.5, 1, 'success']])).toBeNull();
    expect(bad(20, [[0, -1, 'success']])).toBeNull();
    expect(bad(14, [1, 2, 3])).toBeNull();
    expect(bad(14, { pass: 1 })).toBeNull();
    expect(bad(1, '12')).toBeNull();
    expect(bad(6, '2026-02-30T00:00:00.000Z')).toBeNull();
    expect(bad(18, [1, null, null, null, [1, 1, 1], true])).toBeNull();
    // A link that is not https is kept out, as from any stored row.
    expect(bad(10, 'javascript:alert(1)')!.href).toBeNull();
  });
});
