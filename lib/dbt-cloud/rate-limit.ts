/*
 * A client-side rate limit (GCRA: a leaky bucket that queues instead of rejecting), plus a shared
 * pause: when dbt Cloud answers 429, every request of the process waits, not only the one refused.
 */

/** Time, injectable so that tests can assert waits without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** In any 60 s the limiter lets through at most perMinute + burst + 1 requests. */
export class RateLimiter {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private readonly clock: Clock;
  private tat = 0;
  private pausedUntil = 0;

  constructor(perMinute: number, burst: number, clock: Clock = realClock) {
    if (!(perMinute > 0)) throw new RangeError('perMinute must be positive');
    this.intervalMs = 60_000 / perMinute;
    this.toleranceMs = Math.max(0, burst) * this.intervalMs;
    this.clock = clock;
  }

  /** Resolves when this request may be sent. */
  async acquire(): Promise<void> {
    const now = this.clock.now();
    const tat = Math.max(this.tat, now, this.pausedUntil);
    const allowedAt = Math.max(now, this.pausedUntil, tat - this.toleranceMs);
    this.tat = tat + this.intervalMs;
    if (allowedAt > now) await this.clock.sleep(allowedAt - now);
  }

  /** Holds every request back until `ms` from now (a 429 with Retry-After, or backoff after one). */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + ms);
  }
}
