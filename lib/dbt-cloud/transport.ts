/**
 * The one place that talks HTTP to dbt Cloud: auth header, keep-alive, timeouts, the rate limit,
 * and retries of 429, 5xx and connection errors with exponential backoff, full jitter and
 * Retry-After. Other 4xx are never retried. POSTs (not idempotent) are retried only on 429 (the request was refused,
 * so nothing happened): a 5xx or a dropped connection may hide a job run that did start.
 * @module
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import fetch, { type RequestInit, type Response } from 'node-fetch';
import { defaultOf } from '../config/options.ts';
import { errorMessage } from '../core/errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { userMessageOf } from './api.ts';
import {
  DbtCloudAuthError,
  DbtCloudHttpError,
  DbtCloudNetworkError,
  DbtCloudResponseError,
  DbtCloudUnreachableError,
  DeadlineError,
} from './dbt-cloud-errors.ts';
import { RateLimiter, realClock, type Clock } from './rate-limit.ts';
import { JsonScanError, parseJsonBounded } from '../json/json-scan.ts';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After this client will honour; longer answers are capped to it. */
  maxRetryAfterMs: number;
  /**
   * 429s are retried until this much time was spent waiting on them, whatever the count: dbt Cloud
   * cools an account down for about five minutes once it is over its limit.
   */
  maxThrottleWaitMs: number;
  /** ... and at most this many times, however short the waits. */
  maxThrottledRetries: number;
  /**
   * The most time one request spends waiting between its attempts, whatever the answers (429, 5xx,
   * dropped connections): a server that keeps asking for an hour (`Retry-After: 3600`) fails the
   * request, naming what it asked, rather than hold it for 48 minutes.
   */
  maxWaitMs: number;
  /**
   * A refused connection (nothing listens at the host and port) is tried again for at most this
   * long, then is a setting to fix (a wrong port), not a failure to retry for minutes.
   */
  maxRefusedMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 8,
  baseDelayMs: 500,
  maxDelayMs: 60_000,
  maxRetryAfterMs: 360_000,
  maxThrottleWaitMs: 420_000,
  maxThrottledRetries: 60,
  maxWaitMs: 420_000,
  maxRefusedMs: 5_000,
};

/** A JSON answer is read whole, so it is capped (after decompression); artifacts stream instead. */
/** The largest API answer read (a page of 100 runs with their steps is about 1 MB). */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;
/** Of an error answer, only this much is read. */
const MAX_ERROR_BYTES = 65_536;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/** The token, read when a request is sent (from Secret Manager, say); it may throw a typed error. */
export type TokenSource = string | (() => Promise<string>);

export interface TransportOptions {
  baseUrl: string;
  token: TokenSource;
  /** Timeout for an answer's headers and, for JSON answers, the whole body. */
  timeoutMs?: number;
  /** For streamed artifact bodies: the longest silence between two chunks. */
  idleTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  requestsPerMinute?: number;
  rateLimiter?: RateLimiter;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  userAgent?: string;
  /** Told of every retry before its wait, with why (a terminal shows it). */
  onRetry?: (retry: { what: string; attempt: number; delayMs: number }) => void;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  /** Statuses handed back to the caller instead of raising (404 for artifacts). */
  passStatuses?: readonly number[];
  /**
   * Follow a redirect to another origin, without the token (artifact downloads, which might be
   * served from storage elsewhere; dbt-cloud-api.md: unconfirmed). Otherwise only same-origin
   * redirects are followed.
   */
  foreignRedirects?: boolean;
  /** A time (the clock's ms) after which no attempt starts and no retry waits: the caller's own timeout. */
  deadline?: number;
}

/** Where one request stands: redirects move it, 429s spend its throttling budget. */
interface SendState {
  method: NonNullable<RequestOptions['method']>;
  url: string;
  redirects: number;
  throttled: number;
  throttledWaitMs: number;
  /** Time spent waiting between attempts, every cause together (maxWaitMs). */
  waitedMs: number;
  /** Time spent waiting on refused connections (maxRefusedMs). */
  refusedMs: number;
}

export interface TransportStats {
  requests: number;
  retries: number;
  throttled: number;
}

const RETRIABLE_STATUS = (status: number): boolean => status === 429 || (status >= 500 && status <= 599);

export class Transport {
  readonly baseUrl: string;
  readonly host: string;
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly stats: TransportStats = { requests: 0, retries: 0, throttled: 0 };
  private readonly token: TokenSource;
  private readonly retry: RetryPolicy;
  private readonly limiter: RateLimiter;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly userAgent: string;
  private readonly onRetry: TransportOptions['onRetry'];
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64 });

  constructor(options: TransportOptions) {
    this.baseUrl = options.baseUrl;
    this.host = new URL(options.baseUrl).host;
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? defaultOf('timeoutSeconds') * 1000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.clock = options.clock ?? realClock;
    // A small burst: dbt Cloud counts per minute, but bursts invite 429s and their cooldown.
    this.limiter =
      options.rateLimiter ??
      new RateLimiter(options.requestsPerMinute ?? defaultOf('requestsPerMinute'), 5, this.clock);
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.userAgent = options.userAgent ?? 'dbt-cloud-harvester';
    this.onRetry = options.onRetry;
  }

  url(path: string, query?: RequestOptions['query']): string {
    const url = new URL(`${this.baseUrl}${path.startsWith('/') ? '' : '/'}${path}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /**
   * Sends a request and returns the response once its status is final: 2xx, or one of
   * `passStatuses`. Retries what can succeed later (429, 5xx, dropped connections), within the
   * retry budget and the deadline; follows redirects within dbt Cloud's origin (an artifact's to
   * another https origin, without the token). The caller owns the body, read under its own timeout.
   */
  async send(path: string, options: RequestOptions = {}): Promise<Response> {
    const first = this.url(path, options.query);
    const origin = new URL(first).origin;
    const token = typeof this.token === 'string' ? this.token : await this.token();
    const state: SendState = {
      method: options.method ?? 'GET',
      url: first,
      redirects: 0,
      throttled: 0,
      throttledWaitMs: 0,
      waitedMs: 0,
      refusedMs: 0,
    };
    for (let attempt = 1; ; attempt++) {
      // The token goes to dbt Cloud's origin only: never along a redirect to another one.
      const sameOrigin = new URL(state.url).origin === origin;
      const sent = await this.fetchOnce(
        state,
        sameOrigin ? token : undefined,
        state.url === first ? options.json : undefined,
        options.deadline,
      );
      if ('reason' in sent) {
        const permanent = permanentNetworkProblem(sent.error, this.host);
        if (permanent) throw new DbtCloudUnreachableError(state.method, state.url, permanent, sent.error);
        const delay = this.delayFor(attempt, null);
        // Nothing listens there: briefly, a restart; for longer, a wrong host or port (a setting).
        const refused = connectionRefused(sent.error);
        if (refused && state.refusedMs + delay > this.retry.maxRefusedMs)
          throw new DbtCloudUnreachableError(
            state.method,
            state.url,
            `nothing answers at ${this.host} (connection refused, for ${Math.round((state.refusedMs + delay) / 1000)} s). Check DBT_CLOUD_HOST (--host), its port above all: your account's access URL, such as ab123.us1.dbt.com`,
            sent.error,
          );
        if (
          attempt <= this.retry.maxRetries &&
          state.method !== 'POST' &&
          state.waitedMs + delay <= this.retry.maxWaitMs
        ) {
          if (refused) state.refusedMs += delay;
          state.waitedMs += delay;
          await this.backoff(delay, `${state.method} ${state.url}: ${sent.reason}`, attempt, false, options.deadline);
          continue;
        }
        throw new DbtCloudNetworkError(state.method, state.url, attempt, sent.reason, sent.error);
      }
      const { response } = sent;
      const status = response.status;
      if ((status >= 200 && status < 300) || options.passStatuses?.includes(status)) return response;
      if (REDIRECTS.has(status)) {
        await this.followRedirect(state, response, origin, options);
        attempt--;
        continue;
      }
      const body = await readSmallBody(response, this.timeoutMs);
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.clock.now());
      const delay = this.retryDelay(state, attempt, response, retryAfterMs);
      if (delay !== null) {
        const asked = retryAfterMs !== null ? ` (Retry-After: ${Math.round(retryAfterMs / 1000)} s)` : '';
        await this.backoff(
          delay,
          `${state.method} ${state.url}: ${status}${asked}`,
          attempt,
          status === 429,
          options.deadline,
        );
        continue;
      }
      const init = {
        method: state.method,
        url: state.url,
        status,
        userMessage: userMessageOf(body),
        retriable: RETRIABLE_STATUS(status),
        attempts: attempt,
        ...(RETRIABLE_STATUS(status) ? { waitedMs: state.waitedMs, retryAfterMs } : {}),
      };
      if (status === 401) throw new DbtCloudAuthError(init, this.host);
      throw new DbtCloudHttpError(init);
    }
  }

  /** One attempt under the request timeout (or what is left of the deadline): the response, or why there is none. */
  private async fetchOnce(
    state: SendState,
    token: string | undefined,
    json: unknown,
    deadline: number | undefined,
  ): Promise<{ response: Response } | { reason: string; error: unknown }> {
    await this.limiter.acquire();
    this.stats.requests++;
    const controller = new AbortController();
    const timeoutMs =
      deadline === undefined ? this.timeoutMs : Math.max(1, Math.min(this.timeoutMs, deadline - this.clock.now()));
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      return { response: await fetch(state.url, this.init(state.method, token, json, controller.signal)) };
    } catch (error) {
      return { reason: controller.signal.aborted ? `no answer within ${timeoutMs} ms` : errorMessage(error), error };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Moves `state` to where a redirect points, or refuses one that would leave dbt Cloud or loop. */
  private async followRedirect(
    state: SendState,
    response: Response,
    origin: string,
    options: RequestOptions,
  ): Promise<void> {
    await readSmallBody(response, this.timeoutMs);
    const location = response.headers.get('location');
    const target = location ? new URL(location, state.url) : null;
    if (!target || state.redirects >= MAX_REDIRECTS)
      throw new DbtCloudResponseError(
        state.url,
        `redirects ${target ? `more than ${MAX_REDIRECTS} times` : 'without a Location'}`,
      );
    if (target.origin !== origin && !(options.foreignRedirects && target.protocol === 'https:')) {
      throw new DbtCloudResponseError(
        state.url,
        `redirects to another origin (${target.origin}); not followed, so that the token stays with ${origin}`,
      );
    }
    state.redirects++;
    state.url = target.toString();
    if (response.status === 303) state.method = 'GET';
  }

  /**
   * How long to wait before trying an error status again, or null when it is not to be retried:
   * 429 within the throttling budget (time and count), 5xx within the retry count; POSTs only on
   * 429 (the request was refused, so nothing happened: a 5xx may hide a job run that did start).
   */
  private retryDelay(
    state: SendState,
    attempt: number,
    response: Response,
    retryAfterMs: number | null,
  ): number | null {
    const status = response.status;
    if (status === 429) this.stats.throttled++;
    if (!RETRIABLE_STATUS(status) || (state.method === 'POST' && status !== 429)) return null;
    // Retry-After is honoured as asked (at least the backoff): one longer than the wait left fails
    // the request now, naming it, rather than cut short and tried again too early.
    const delay = Math.max(this.delayFor(attempt, null), retryAfterMs ?? 0);
    if (state.waitedMs + delay > this.retry.maxWaitMs) return null;
    if (status !== 429) {
      if (attempt > this.retry.maxRetries) return null;
    } else {
      if (
        state.throttled >= this.retry.maxThrottledRetries ||
        state.throttledWaitMs + delay > this.retry.maxThrottleWaitMs
      )
        return null;
      state.throttled++;
      state.throttledWaitMs += delay;
    }
    state.waitedMs += delay;
    return delay;
  }

  /**
   * Sends a request and parses its JSON body under the request timeout. A body that breaks off is
   * retried like a dropped connection (GET only).
   */
  async json(path: string, options: RequestOptions = {}): Promise<{ status: number; body: unknown; url: string }> {
    const method = options.method ?? 'GET';
    for (let attempt = 1; ; attempt++) {
      const response = await this.send(path, options);
      const url = response.url || this.url(path, options.query);
      let text: string;
      try {
        text = await readBody(response, this.timeoutMs, MAX_JSON_BYTES);
      } catch (err) {
        if (err instanceof BodyTooLargeError)
          throw new DbtCloudResponseError(url, `is larger than ${MAX_JSON_BYTES / 1048576} MiB; not read further`);
        if (method !== 'POST' && attempt <= this.retry.maxRetries) {
          await this.backoff(
            this.delayFor(attempt, null),
            `${method} ${url}: body broke off`,
            attempt,
            false,
            options.deadline,
          );
          continue;
        }
        throw new DbtCloudNetworkError(method, url, attempt, `the answer broke off: ${errorMessage(err)}`, err);
      }
      try {
        return { status: response.status, body: parseJsonBounded(text), url };
      } catch (err) {
        if (err instanceof JsonScanError && /nested deeper/.test(err.message))
          throw new DbtCloudResponseError(url, `${err.message.replace(/ \(at byte \d+\)$/, '')}; not read`);
        const excerpt = text.slice(0, 80).replace(/\s+/g, ' ');
        throw new DbtCloudResponseError(
          url,
          `is not JSON (HTTP ${response.status}, ${text.length} characters: "${excerpt}")`,
        );
      }
    }
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private init(method: string, token: string | undefined, json: unknown, signal: AbortSignal): RequestInit {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': this.userAgent,
    };
    if (token !== undefined) headers['Authorization'] = `Token ${token}`;
    if (json !== undefined) headers['Content-Type'] = 'application/json';
    return {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      // Redirects are followed by send(), which knows whom the token belongs to.
      redirect: 'manual',
      compress: true,
      signal,
      agent: (parsed: URL) => (parsed.protocol === 'http:' ? this.httpAgent : this.httpsAgent),
    };
  }

  /**
   * Exponential backoff with jitter, or Retry-After (capped) when it asks for longer: never less
   * than the backoff, so that `Retry-After: 0` or a date in the past cannot make a tight loop.
   */
  private delayFor(attempt: number, retryAfterMs: number | null): number {
    const exponential =
      Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + this.random() / 2);
    return retryAfterMs === null
      ? exponential
      : Math.max(exponential, Math.min(retryAfterMs, this.retry.maxRetryAfterMs));
  }

  private async backoff(
    delay: number,
    what: string,
    attempt: number,
    throttled = false,
    deadline?: number,
  ): Promise<void> {
    if (deadline !== undefined && this.clock.now() + delay > deadline)
      throw new DeadlineError(`${what}; the next attempt would come after the deadline`);
    this.stats.retries++;
    if (throttled) this.limiter.pauseFor(delay);
    this.logger.debug('retrying dbt Cloud request', { what, attempt, delayMs: Math.round(delay) });
    this.onRetry?.({ what, attempt, delayMs: delay });
    await this.clock.sleep(delay);
  }
}

/** The code of a network error, or of its cause (node-fetch wraps the socket's). */
function codeOf(err: unknown): string {
  const own = (err as { code?: unknown } | null)?.code;
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return String(own ?? cause ?? '');
}

/**
 * Why a request can never succeed as configured (a host that does not exist, https spoken to a
 * plain-http server, a certificate that is not the host's), or null for errors that may pass (a
 * reset, a refused or timed-out connection): those are retried, these are not.
 */
export function permanentNetworkProblem(err: unknown, host: string): string | null {
  const code = codeOf(err);
  const text = errorMessage(err);
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME')
    return `the host ${host} does not exist (DNS). Check DBT_CLOUD_HOST (--host): your account's access URL, such as ab123.us1.dbt.com, is under Account settings in dbt Cloud`;
  if (
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'EPROTO' ||
    /wrong version number|packet length too long/i.test(text)
  )
    return `${host} does not answer https there (is it a plain http server, or the wrong port?). DBT_CLOUD_HOST (--host) takes https://HOST; http://HOST is accepted for loopback test servers only`;
  if (/CERT|self[- ]signed|unable to (get|verify)|altname/i.test(code) || /certificate/i.test(text))
    return `the TLS certificate of ${host} is not valid for it (${text}). Check DBT_CLOUD_HOST (--host)`;
  return null;
}

/** Whether nothing listened where a request was sent (ECONNREFUSED). */
export function connectionRefused(err: unknown): boolean {
  return codeOf(err) === 'ECONNREFUSED' || /ECONNREFUSED/.test(errorMessage(err));
}

/** Retry-After as seconds or as an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

class BodyTooLargeError extends Error {}

/**
 * Reads a whole body as text under a timeout, at most `maxBytes` of it (after decompression):
 * rejects when it breaks off, times out, or is larger.
 */
async function readBody(response: Response, timeoutMs: number, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const body = asReadable(response.body);
  const chunks: Buffer[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        for await (const chunk of body) {
          const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
          size += buf.length;
          if (size > maxBytes) {
            body.destroy();
            throw new BodyTooLargeError(`more than ${maxBytes} bytes`);
          }
          chunks.push(buf);
        }
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          body.destroy();
          reject(new Error(`body not received within ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Error bodies are read best effort and at most 64 KiB: a broken, endless or huge one yields what arrived. */
async function readSmallBody(response: Response, timeoutMs: number): Promise<string> {
  if (!response.body) return '';
  const body = asReadable(response.body);
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => body.destroy(), timeoutMs);
  try {
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      chunks.push(buf);
      size += buf.length;
      if (size >= MAX_ERROR_BYTES) break;
    }
  } catch {
    /* what arrived is enough */
  } finally {
    clearTimeout(timer);
    body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BYTES);
}

/** node-fetch types its body as the DOM-ish NodeJS.ReadableStream; at run time it is a Readable. */
export function asReadable(body: NodeJS.ReadableStream): Readable {
  if (body instanceof Readable) return body;
  throw new TypeError('expected a Node.js Readable body');
}
