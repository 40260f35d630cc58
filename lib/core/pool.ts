/**
 * Bounded concurrency over a stream of work.
 * @module
 */

/**
 * Runs `fn` over the items of an iterator, at most `concurrency` at once, pulling the next item
 * only when a worker is free: memory holds what is in flight, not the whole list. A failure of the
 * iterator (a listing) is raised once the items in flight are done.
 */
export async function drain<T>(
  items: AsyncIterator<T> | Iterator<T>,
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const workers = Array.from({ length: Math.max(1, concurrency) }, async () => {
    for (;;) {
      const next = await items.next();
      if (next.done) return;
      await fn(next.value);
    }
  });
  const results = await Promise.allSettled(workers);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
