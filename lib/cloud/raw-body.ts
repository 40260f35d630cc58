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
 * @module
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createLogger } from '../log.ts';

/** The largest request any function accepts: a push envelope or a backfill is a few kB. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const isExpressApp = (listener: unknown): listener is Listener & { handle: unknown; set: unknown; use: unknown } =>
  typeof listener === 'function' &&
  ['handle', 'set', 'use'].every((k) => typeof (listener as unknown as Record<string, unknown>)[k] === 'function');

function readFirst(app: Listener): Listener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        refused = true;
        createLogger().warn('request body too large; refused', {
          bytes: size,
          limit: MAX_REQUEST_BYTES,
          path: req.url,
        });
        res.writeHead(413, { 'Content-Type': 'application/json', Connection: 'close' });
        res.end(
          JSON.stringify({
            error: 'body too large',
            details: [`a request body is at most ${MAX_REQUEST_BYTES} bytes`],
          }),
          () => req.destroy(),
        );
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
