/**
 * Events POSTed to an OpenLineage HTTP endpoint (`/api/v1/lineage`, as Marquez and DataHub accept
 * it): one event per request, as the OpenLineage HTTP transport sends it, a batch of events at a
 * time, at most `concurrency` requests in flight and at most `perSecond` a second. A request that
 * fails with 429, a 5xx or no answer is retried with exponential backoff and jitter (Retry-After
 * honoured, up to a minute); an event the endpoint accepted (2xx) is never sent again, so a batch
 * retried after a failure resends only what was not delivered. Another 4xx is the endpoint refusing
 * the event: not retried, and the export stops naming it.
 * @module
 */
import { drain } from '../core/pool.ts';
import { RateLimiter, realClock, type Clock } from '../dbt-cloud/rate-limit.ts';
import { LineageSinkError, type LineageSink } from './lineage-sink.ts';
import type { RunEvent } from './openlineage.ts';

export interface HttpSinkOptions {
  /** The endpoint's base URL (`http://localhost:5000`, to which /api/v1/lineage is added) or the full URL. */
  url: string;
  /** Sent as `Authorization: Bearer …` where the endpoint needs it. */
  apiKey?: string | undefined;
  batchSize?: number;
  concurrency?: number;
  perSecond?: number;
  /** Attempts of one event (default 6). */
  attempts?: number;
  timeoutMs?: number;
  clock?: Clock;
}

/** The endpoint of a base URL: `/api/v1/lineage` unless the URL names a path of its own. */
export function lineageEndpoint(url: string): string {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/api/v1/lineage';
  return u.toString();
}

export class HttpLineageSink implements LineageSink {
  readonly description: string;
  private readonly endpoint: string;
  private readonly options: HttpSinkOptions;
  private readonly limiter: RateLimiter;
  private readonly clock: Clock;
  private batch: RunEvent[] = [];
  /** Requests made, and events delivered (tests and the summary read them). */
  requests = 0;
  delivered = 0;

  constructor(options: HttpSinkOptions) {
    this.options = options;
    this.endpoint = lineageEndpoint(options.url);
    this.description = this.endpoint;
    this.clock = options.clock ?? realClock;
    this.limiter = new RateLimiter((options.perSecond ?? 50) * 60, options.concurrency ?? 8, this.clock);
  }

  async send(event: RunEvent): Promise<void> {
    this.batch.push(event);
    if (this.batch.length >= (this.options.batchSize ?? 100)) await this.flush();
  }

  async close(): Promise<void> {
    await this.flush();
  }

  /** Delivers the batch: each event until it is accepted, the batch again for those that were not. */
  private async flush(): Promise<void> {
    let pending = this.batch;
    this.batch = [];
    const attempts = this.options.attempts ?? 6;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const failed: { event: RunEvent; why: string; retryAfterMs: number | null }[] = [];
      await drain(pending.values(), this.options.concurrency ?? 8, async (event) => {
        const why = await this.post(event);
        if (why === null) this.delivered++;
        else failed.push({ event, ...why });
      });
      if (failed.length === 0) return;
      if (attempt >= attempts)
        throw new LineageSinkError(
          this.endpoint,
          `${failed.length} events not accepted after ${attempts} attempts (last: ${failed[0]!.why})`,
        );
      const backoff = Math.min(30_000, 500 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      const asked = Math.max(0, ...failed.map((f) => f.retryAfterMs ?? 0));
      await this.clock.sleep(Math.max(backoff, Math.min(asked, 60_000)));
      pending = failed.map((f) => f.event);
    }
  }

  /** One POST: null when accepted; why not, and any Retry-After, when it may be retried; throws when refused. */
  private async post(event: RunEvent): Promise<{ why: string; retryAfterMs: number | null } | null> {
    await this.limiter.acquire();
    this.requests++;
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(this.options.apiKey ? { Authorization: `Bearer ${this.options.apiKey}` } : {}),
        },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      return { why: `no answer (${err instanceof Error ? err.message : String(err)})`, retryAfterMs: null };
    }
    const text = (await res.text().catch(() => '')).slice(0, 300);
    if (res.ok) return null;
    if (res.status === 429 || res.status >= 500) {
      const after = Number(res.headers.get('retry-after'));
      return { why: `${res.status} ${text}`.trim(), retryAfterMs: Number.isFinite(after) ? after * 1000 : null };
    }
    throw new LineageSinkError(
      this.endpoint,
      `${res.status} for the ${event.eventType} event of ${event.job.name}: ${text}`,
      res.status === 401 || res.status === 403 || res.status === 404 ? 2 : undefined,
    );
  }
}
