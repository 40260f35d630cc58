/**
 * A stand-in alert sink on loopback: it keeps every request (path, headers, raw body) and answers
 * as told: `ok` (Slack's 200 "ok") by default, or a queue of failures first (500s, a 400, a stall
 * past the sender's timeout). Serves any path, so one server stands in for Slack, Teams, a generic
 * webhook and PagerDuty at once (each at its own path).
 * @module
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An answer to give: a status (and body), or no answer until the sender gives up. */
export type SinkAnswer = { status: number; body?: string } | 'stall';

export interface FakeAlertSink {
  url: string;
  /** Every request that was answered 2xx, by path. */
  delivered: (path?: string) => SinkRequest[];
  /** Every request, whatever it was answered. */
  received: SinkRequest[];
  /** The next answers to give to requests on `path`, before the default 200 "ok". */
  failNext(path: string, answers: SinkAnswer[]): void;
  /** Resolves once `n` requests were answered 2xx in all. */
  waitForDelivered(n: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startFakeAlertSink(): Promise<FakeAlertSink> {
  const received: SinkRequest[] = [];
  const ok: SinkRequest[] = [];
  const queued = new Map<string, SinkAnswer[]>();
  const waiters: { n: number; resolve: () => void }[] = [];
  const stalled: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      const answer = queued.get(request.path)?.shift() ?? { status: 200, body: 'ok' };
      if (answer === 'stall') {
        stalled.push(res);
        return;
      }
      if (answer.status < 300) {
        ok.push(request);
        for (const w of waiters.filter((w) => ok.length >= w.n)) w.resolve();
      }
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? '');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    delivered: (path) => ok.filter((r) => path === undefined || r.path === path),
    failNext: (path, answers) => queued.set(path, [...(queued.get(path) ?? []), ...answers]),
    waitForDelivered: (n) =>
      ok.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
    stop: async () => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
