/**
 * Sending one request to a sink: a timeout on each attempt; 429, 5xx, a timeout or a dropped
 * connection retried with exponential backoff and jitter (honouring a short Retry-After); any other
 * 4xx is the sink refusing the message, reported at once and not retried. Only https leaves the
 * machine (http to loopback, for tests and local receivers).
 * @module
 */
import { errorMessage } from '../core/errors.ts';
import type { OutgoingRequest } from './sinks.ts';

export interface SendOptions {
  /** Attempts in all (default 5). */
  attempts?: number;
  /** Each attempt's timeout (default 10 s). */
  timeoutMs?: number;
  /** The first wait between attempts, doubled each time up to maxDelayMs (default 1 s, 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (what: string, attempt: number, delayMs: number) => void;
}

export type SendResult =
  | { ok: true; status: number; attempts: number }
  /** `retriable`: the sink failed (5xx, timeout) every attempt; otherwise it refused the message (4xx). */
  | { ok: false; retriable: boolean; status: number | null; error: string; attempts: number };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Why a sink URL cannot be used, or null. */
export function sinkUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return null;
  return 'must be an https URL';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the sink answered, in a few words (its body, cut), for a report. */
const answerOf = async (response: Response): Promise<string> =>
  (await response.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 200);

export async function sendRequest(request: OutgoingRequest, options: SendOptions = {}): Promise<SendResult> {
  const attempts = options.attempts ?? 5;
  const base = options.baseDelayMs ?? 1000;
  const max = options.maxDelayMs ?? 30_000;
  const problem = sinkUrlProblem(request.url);
  if (problem) return { ok: false, retriable: false, status: null, error: `the sink URL ${problem}`, attempts: 0 };
  let last: { status: number | null; error: string } = { status: null, error: 'not sent' };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let retryAfterMs = 0;
    try {
      const response = await fetch(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const answer = await answerOf(response);
      if (response.ok) return { ok: true, status: response.status, attempts: attempt };
      last = { status: response.status, error: `answered ${response.status}${answer ? `: ${answer}` : ''}` };
      if (response.status !== 429 && response.status < 500)
        return { ok: false, retriable: false, ...last, attempts: attempt };
      const after = Number(response.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0) retryAfterMs = Math.min(after * 1000, max);
    } catch (err) {
      last = { status: null, error: errorMessage(err) };
    }
    if (attempt === attempts) break;
    const backoff = Math.min(max, base * 2 ** (attempt - 1));
    const delay = Math.max(retryAfterMs, backoff / 2 + Math.random() * (backoff / 2));
    options.onRetry?.(last.error, attempt, delay);
    await sleep(delay);
  }
  return { ok: false, retriable: true, ...last, attempts };
}
