import { describe, expect, it } from 'vitest';
import { FactsGate } from '../../../lib/harvest/facts-gate.ts';

/** The gate over big artifacts' facts: one run at a time, none left waiting. */
describe('FactsGate', () => {
  it('lets one run in at a time, however many of its transfers wait, and hands over on release', async () => {
    const gate = new FactsGate();
    const order: string[] = [];
    expect(gate.tryTake(1)).toBe(true);
    expect(gate.tryTake(1)).toBe(true);
    expect(gate.tryTake(2)).toBe(false);
    // Run 2 waits for its manifest and its catalog, run 3 for one file.
    const waits = [
      gate.take(2).then(() => order.push('2 manifest')),
      gate.take(2).then(() => order.push('2 catalog')),
      gate.take(3).then(() => order.push('3 manifest')),
    ];
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    gate.release(3); // not the holder: nothing changes
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    gate.release(1);
    await Promise.all(waits.slice(0, 2));
    expect(order).toEqual(['2 manifest', '2 catalog']);
    expect(gate.tryTake(3)).toBe(false);
    gate.release(2);
    await waits[2];
    expect(order).toEqual(['2 manifest', '2 catalog', '3 manifest']);
  });
});
