import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../harness/fake-dbt-cloud/prng.ts';
import { FingerprintSet } from '../../../lib/json/fingerprints.ts';

describe('FingerprintSet', () => {
  it('answers as a Set of the texts does, through its growth, for ids that differ in one character', () => {
    const r = seededRandom(11);
    const set = new FingerprintSet();
    const exact = new Set<string>();
    const ids: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      // Mostly new ids, some repeated, many a character apart (dbt's ids end in a hash).
      const id =
        ids.length > 0 && r() < 0.2
          ? ids[Math.floor(r() * ids.length)]!
          : `test.shop.not_null_orders_${Math.floor(r() * 1e6)}.${(i * 2654435761) >>> 0}${r() < 0.1 ? 'é€😀' : ''}`;
      ids.push(id);
      expect(set.add(id)).toBe(!exact.has(id));
      exact.add(id);
    }
    expect(set.size).toBe(exact.size);
    expect(set.add('')).toBe(true);
    expect(set.add('')).toBe(false);
  });

  it('keeps a flag a text, the later set replacing the earlier, as a Map of flags does', () => {
    const r = seededRandom(12);
    const set = new FingerprintSet();
    const exact = new Map<string, boolean>();
    for (let i = 0; i < 100_000; i++) {
      const id = `model.shop.m${Math.floor(r() * 30_000)}`;
      const flag = r() < 0.6;
      set.set(id, flag);
      exact.set(id, flag);
    }
    expect(set.size).toBe(exact.size);
    expect(set.flagged).toBe([...exact.values()].filter(Boolean).length);
  });
});
