import { describe, expect, it } from 'vitest';
import { RateLimiter, type Clock } from '../../../lib/dbt-cloud/rate-limit.ts';
import { parseRetryAfter } from '../../../lib/dbt-cloud/transport.ts';

function virtualClock(): Clock & { t: number } {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

describe('RateLimiter', () => {
  it('never lets more than the limit plus the burst through in any minute', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter(600, 20, clock);
    const times: number[] = [];
    for (let i = 0; i < 3_000; i++) {
      await limiter.acquire();
      times.push(clock.t);
    }
    let worst = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= 60_000) j++;
      worst = Math.max(worst, i - j + 1);
    }
    expect(worst).toBeLessThanOrEqual(600 + 20 + 1);
    expect(worst).toBeGreaterThanOrEqual(600);
  });

  it('holds every caller back during a pause', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter(60_000, 10, clock);
    limiter.pauseFor(5_000);
    await limiter.acquire();
    expect(clock.t).toBe(5_000);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', 0)).toBe(3_000);
    expect(parseRetryAfter('Wed, 01 Jun 2022 00:00:10 GMT', Date.parse('2022-06-01T00:00:00Z'))).toBe(10_000);
    expect(parseRetryAfter(null, 0)).toBeNull();
    expect(parseRetryAfter('soon', 0)).toBeNull();
  });
});
