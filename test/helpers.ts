import { DbtCloudClient, type DbtCloudClientOptions } from '../lib/dbt-cloud/client.ts';
import type { Clock } from '../lib/dbt-cloud/rate-limit.ts';
import { startFakeDbtCloud, type FakeDbtCloud, type FakeDbtCloudOptions } from '../harness/fake-dbt-cloud/server.ts';

export const TOKEN = 'test-token-5f2a9c1e7b';

/** The day most tests harvest: runs created over [from, to), the fake's present at `to`. */
export const DAY = { from: new Date('2022-06-01T00:00:00Z'), to: new Date('2022-06-02T00:00:00Z') };

export async function fakeCloud(options: Partial<FakeDbtCloudOptions> = {}): Promise<FakeDbtCloud> {
  return startFakeDbtCloud({ ...DAY, token: TOKEN, ...options });
}

/** A clock whose sleeps return at once but are recorded, so backoff can be asserted without timing. */
export function recordingClock(): Clock & { sleeps: number[] } {
  let offset = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => Date.now() + offset,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      offset += Math.max(0, ms);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

export function clientFor(fake: FakeDbtCloud, options: Partial<DbtCloudClientOptions> = {}): DbtCloudClient {
  return new DbtCloudClient({
    baseUrl: fake.url,
    accountId: fake.accountId,
    token: TOKEN,
    timeoutMs: 2_000,
    idleTimeoutMs: 2_000,
    retry: { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 5 },
    ...options,
  });
}

export async function sha256Of(stream: AsyncIterable<unknown>): Promise<{ sha256: string; bytes: number }> {
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    bytes += buf.length;
    hash.update(buf);
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Waits for an observable state, never for a moment: polls `check` until it returns a value, and
 * fails after a generous deadline with a message saying what never happened (`what` may describe
 * the state reached so far).
 */
export async function until<T>(
  what: string | (() => string),
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${typeof what === 'function' ? what() : what}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
