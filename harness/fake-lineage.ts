/**
 * Stand-ins for where `lineage export` sends events, on loopback: an OpenLineage HTTP endpoint as
 * Marquez serves it (`POST /api/v1/lineage`, one event a request, 201), and Dataplex's Data Lineage
 * API (`POST /v1/projects/P/locations/L:processOpenLineageRunEvent?requestId=…`, an access token
 * required, its documented limits enforced: 5 MB a message, 100 links, a requestId of at most 36
 * characters, a repeated requestId taken once). Each records what it accepted, and fails the next
 * requests on demand, so a test sees retries and duplicates.
 * @module
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface Received {
  /** The path and query of the request. */
  path: string;
  event: Record<string, unknown>;
}

export interface FakeLineageEndpoint {
  url: string;
  /** Every event accepted, in order. */
  accepted: Received[];
  /** Every request, accepted or not. */
  requests: { path: string; status: number }[];
  /** The next `n` requests answer `status` (503 by default) and are not accepted. */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

type Handler = (req: IncomingMessage, body: Buffer, url: URL) => { status: number; json: unknown; event?: unknown };

function endpoint(handle: Handler): Promise<FakeLineageEndpoint> {
  const accepted: Received[] = [];
  const requests: { path: string; status: number }[] = [];
  let failing = 0;
  let failStatus = 503;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const body = await bodyOf(req);
      const url = new URL(req.url ?? '/', 'http://x');
      const path = `${url.pathname}${url.search}`;
      let answer: ReturnType<Handler>;
      if (failing > 0) {
        failing--;
        answer = { status: failStatus, json: { error: 'injected' } };
      } else answer = handle(req, body, url);
      requests.push({ path, status: answer.status });
      if (answer.event !== undefined) accepted.push({ path, event: answer.event as Record<string, unknown> });
      res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer.json));
    })();
  });
  return listen(server).then((url) => ({
    url,
    accepted,
    requests,
    failNext: (n, status = 503) => {
      failing = n;
      failStatus = status;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  }));
}

const parsed = (body: Buffer): Record<string, unknown> | null => {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};

/** Marquez's endpoint: an event a request; 201 when it is an event, 400 when not. */
export function startFakeOpenLineage(): Promise<FakeLineageEndpoint> {
  return endpoint((req, body, url) => {
    if (req.method !== 'POST' || url.pathname !== '/api/v1/lineage')
      return { status: 404, json: { error: 'no route' } };
    const event = parsed(body);
    if (!event || typeof event['eventTime'] !== 'string' || typeof event['run'] !== 'object')
      return { status: 400, json: { error: 'not a RunEvent' } };
    return { status: 201, json: {}, event };
  });
}

const ROUTE = /^\/v1\/(projects\/[^/]+\/locations\/[^/:]+):processOpenLineageRunEvent$/;

/** Dataplex's processOpenLineageRunEvent, with its limits and its idempotent requestId. */
export function startFakeDataplex(options: {
  accessToken: string;
}): Promise<FakeLineageEndpoint & { parents: Set<string> }> {
  const seen = new Map<string, unknown>();
  const parents = new Set<string>();
  return endpoint((req, body, url) => {
    const m = ROUTE.exec(url.pathname);
    if (req.method !== 'POST' || !m) return { status: 404, json: { error: { code: 404, message: 'no route' } } };
    if (req.headers['authorization'] !== `Bearer ${options.accessToken}`)
      return {
        status: 401,
        json: { error: { code: 401, message: 'Request had invalid authentication credentials.' } },
      };
    const bad = (message: string) => ({
      status: 400,
      json: { error: { code: 400, message, status: 'INVALID_ARGUMENT' } },
    });
    const requestId = url.searchParams.get('requestId');
    if (requestId !== null && requestId.length > 36) return bad('requestId is longer than 36 characters');
    if (body.length > 5 * 1024 * 1024) return bad('message larger than 5 MB');
    const event = parsed(body);
    if (!event) return bad('not an OpenLineage RunEvent');
    const links = ((event['inputs'] as unknown[]) ?? []).length * ((event['outputs'] as unknown[]) ?? []).length;
    if (links > 100) return bad(`${links} links in one event: at most 100`);
    const answer = { name: `${m[1]}/processes/p/runs/r/lineageEvents/${requestId ?? 'x'}` };
    if (requestId !== null && seen.has(requestId)) return { status: 200, json: seen.get(requestId) };
    if (requestId !== null) seen.set(requestId, answer);
    parents.add(m[1]!);
    return { status: 200, json: answer, event };
  }).then((e) => ({ ...e, parents }));
}
