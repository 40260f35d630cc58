/**
 * Every request's body, read by us before the functions framework's parsers see it: bounded, kept
 * as raw bytes (what a webhook signature covers), and never answered by the framework. Its
 * body-parser otherwise answers a body that is not JSON, `null`, an unsupported charset or a bad
 * gzip with an HTML error page and a stack trace, before any handler runs, and reads up to 1 GB
 * (functions-framework 5 has no hook for this:
 * https://github.com/GoogleCloudPlatform/functions-framework-nodejs/issues/686).
 *
 * The framework builds its server with `http.createServer(app)` after loading the entry file, so
 * the first serve() wraps that call: the express app gets each request with its body already read
 * into `req.rawBody`, and the framework's parsers, finding the stream finished, skip it. A body
 * over the limit is answered 413 in JSON here. Servers that are not express apps are untouched.
 *
 * The function served sets the policy (its table entry, functions.ts): its own limit, and for a
 * public function a check of the headers before any byte of the body is read, so that a caller
 * without a signature costs neither memory nor a secret read. Refusals are logged at most once a
 * minute, with their counts.
 * @module
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createLogger } from '../log.ts';

/** The largest request a function accepts by default: a push envelope or a backfill is a few kB. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export interface BodyPolicy {
  maxBytes: number;
  /** Why the request's headers alone refuse it (answered 401, the body never read), or null. */
  precheck?: (header: (name: string) => string | undefined) => string | null;
}

let policy: BodyPolicy = { maxBytes: MAX_REQUEST_BYTES };

/** Sets the policy of the function this instance serves. */
export function setBodyPolicy(next: BodyPolicy): void {
  policy = next;
}

/** Refusals counted, and logged at most once a minute. */
const refusals = { counts: {} as Record<string, number>, lastLog: Number.NEGATIVE_INFINITY };
function noteRefusal(reason: string, fields: Record<string, unknown>): void {
  refusals.counts[reason] = (refusals.counts[reason] ?? 0) + 1;
  if (Date.now() - refusals.lastLog < 60_000) return;
  refusals.lastLog = Date.now();
  createLogger().warn('requests refused before their body was read', { refused: refusals.counts, ...fields });
  refusals.counts = {};
}

/**
 * How much of a refused request's body is still read, and for how long, before its connection is
 * closed (a "lingering close", as nginx does it): a client still sending a body of a few megabytes
 * then reads the answer, instead of a reset that hides it. Bounded, so a refusal costs little.
 */
const LINGER_BYTES = 4 * 1024 * 1024;
const LINGER_MS = 2_000;

function refuse(req: IncomingMessage, res: ServerResponse, status: number, error: string, detail: string): void {
  // Not `Connection: close`: Node would close the socket as the answer ends, under a client still
  // sending (EPIPE, the answer lost); the connection is closed by linger() instead.
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error, details: [detail] }), () => linger(req));
}

function linger(req: IncomingMessage): void {
  if (req.complete) {
    req.destroy();
    return;
  }
  let drained = 0;
  const stop = (): void => {
    clearTimeout(timer);
    req.destroy();
  };
  const timer = setTimeout(stop, LINGER_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > LINGER_BYTES) stop();
  });
  req.on('end', stop);
  req.resume();
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const isExpressApp = (listener: unknown): listener is Listener & { handle: unknown; set: unknown; use: unknown } =>
  typeof listener === 'function' &&
  ['handle', 'set', 'use'].every((k) => typeof (listener as unknown as Record<string, unknown>)[k] === 'function');

function readFirst(app: Listener): Listener {
  return (req, res) => {
    const { maxBytes, precheck } = policy;
    const header = (name: string): string | undefined => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    };
    const unsigned = precheck?.(header) ?? null;
    if (unsigned) {
      noteRefusal('unsigned', { path: req.url });
      refuse(req, res, 401, 'unauthorized', unsigned);
      return;
    }
    const declared = Number(header('content-length') ?? Number.NaN);
    if (declared > maxBytes) {
      noteRefusal('too large', { bytes: declared, limit: maxBytes, path: req.url });
      refuse(req, res, 413, 'body too large', `a request body is at most ${maxBytes} bytes`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBytes) {
        refused = true;
        noteRefusal('too large', { bytes: size, limit: maxBytes, path: req.url });
        refuse(req, res, 413, 'body too large', `a request body is at most ${maxBytes} bytes`);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      (req as IncomingMessage & { rawBody?: Buffer }).rawBody = Buffer.concat(chunks);
      app(req, res);
    });
    req.on('error', () => res.destroy());
  };
}

let installed = false;

/** Wraps http.createServer once, for the express app the framework is about to create. */
export function readBodiesFirst(): void {
  if (installed) return;
  installed = true;
  const original = http.createServer.bind(http) as (...args: unknown[]) => http.Server;
  (http as { createServer: unknown }).createServer = (...args: unknown[]): http.Server => {
    const i = args.findIndex(isExpressApp);
    if (i >= 0) args[i] = readFirst(args[i] as Listener);
    return original(...args);
  };
}
