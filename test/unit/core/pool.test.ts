import { describe, expect, it } from 'vitest';
import { drain } from '../../../lib/core/pool.ts';

/** The CLI's window harvest pulls runs from the listing only as workers free up. */
describe('drain', () => {
  it('holds at most as many items as it has workers, however long the listing', async () => {
    let pulled = 0;
    let done = 0;
    let most = 0;
    async function* listing(): AsyncGenerator<number> {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        most = Math.max(most, pulled - done);
        yield i;
      }
    }
    await drain(listing(), 4, async () => {
      await new Promise((r) => setImmediate(r));
      done++;
    });
    expect(done).toBe(1000);
    expect(most).toBeLessThanOrEqual(4);
  });

  it('raises a failure of the listing once the items in flight are done', async () => {
    const finished: number[] = [];
    async function* failing(): AsyncGenerator<number> {
      yield 1;
      yield 2;
      throw new Error('listing broke');
    }
    await expect(
      drain(failing(), 2, async (n) => {
        await new Promise((r) => setImmediate(r));
        finished.push(n);
      }),
    ).rejects.toThrow('listing broke');
    expect(finished.sort()).toEqual([1, 2]);
  });
});
