import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CRC32C } from '@google-cloud/storage';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IDLE_CONNECTION_MS } from '../services.ts';

/**
 * A fake of the Cloud Storage JSON API on a loopback port, for the real `@google-cloud/storage`
 * client (`apiEndpoint`): multipart and resumable uploads with crc32c and md5 in the answers,
 * `ifGenerationMatch=0` -> 412, object metadata and `alt=media` reads, listing with prefix and
 * paging. An upload that does not complete leaves no object.
 */
export interface StoredObject {
  bucket: string;
  name: string;
  generation: number;
  contentType: string;
  size: number;
  crc32c: string;
  md5Hash: string;
  sha256: string;
  metadata: Record<string, string>;
  /** Kept only when the fake stores content (the default). */
  data: Buffer | null;
  updated: string;
}

export type GcsOperation = 'upload' | 'get' | 'list';

export interface GcsFaultRule {
  op: GcsOperation | 'any';
  /** Only objects whose name matches. */
  name?: RegExp;
  status: number;
  times?: number;
  hits?: number;
}

export interface GcsRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  op: GcsOperation | 'other';
  name?: string;
  /** Body bytes received so far: an upload in flight (status 0) shows how far it got. */
  received: number;
}

interface Session {
  bucket: string;
  name: string;
  contentType: string;
  metadata: Record<string, string>;
  ifGenerationMatch: string | undefined;
  chunks: Buffer[];
  received: number;
  crc: CRC32C;
  md5: ReturnType<typeof createHash>;
  sha: ReturnType<typeof createHash>;
}

export class FakeGcs {
  readonly objects = new Map<string, StoredObject>();
  readonly requests: GcsRequest[] = [];
  readonly faults: GcsFaultRule[] = [];
  /**
   * How a write with ifGenerationMatch=0 onto an existing object is refused: 412, or 403 as Cloud
   * Storage may answer a writer that has no delete permission.
   */
  existingObjectStatus: 412 | 403 = 412;
  /** Runs just before an upload is finalised (to stage a concurrent writer, for 412 races). */
  beforeFinalize: ((bucket: string, name: string) => void) | undefined;
  private readonly sessions = new Map<string, Session>();
  private readonly storeContent: boolean;
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  private generation = 1_654_041_600_000_000;

  /** Where finalised objects are also written as files (`<dir>/<bucket>/<name>`), for people to look at. */
  private readonly mirrorDir: string | undefined;

  /** The buckets that exist; when set, any other bucket answers 404 as Cloud Storage does. Unset: every bucket exists. */
  private readonly buckets: ReadonlySet<string> | undefined;

  constructor(options: FakeGcsOptions = {}) {
    this.storeContent = options.storeContent ?? true;
    this.mirrorDir = options.mirrorDir;
    this.buckets = options.buckets ? new Set(options.buckets) : undefined;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('the fake Cloud Storage is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    // A loaded machine saw an upload reuse a socket the fake was closing after 5 s idle (EPIPE, a retry).
    this.server.keepAliveTimeout = IDLE_CONNECTION_MS;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  fail(rule: GcsFaultRule): GcsFaultRule {
    rule.hits = 0;
    this.faults.push(rule);
    return rule;
  }

  /** Objects of a bucket under a prefix, by name. */
  list(bucket: string, prefix = ''): StoredObject[] {
    return [...this.objects.values()]
      .filter((o) => o.bucket === bucket && o.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Puts an object directly (a concurrent writer, or existing history). */
  put(bucket: string, name: string, data: Buffer, contentType = 'application/octet-stream'): StoredObject {
    const crc = new CRC32C();
    crc.update(data);
    const obj: StoredObject = {
      bucket,
      name,
      generation: this.generation++,
      contentType,
      size: data.length,
      crc32c: crc.toString(),
      md5Hash: createHash('md5').update(data).digest('base64'),
      sha256: createHash('sha256').update(data).digest('hex'),
      metadata: {},
      data: this.storeContent ? data : null,
      updated: new Date().toISOString(),
    };
    this.objects.set(`${bucket}/${name}`, obj);
    return obj;
  }

  // ---- plumbing --------------------------------------------------------------------------------

  private fault(op: GcsOperation, name: string | undefined): number | undefined {
    for (const rule of this.faults) {
      if (rule.op !== 'any' && rule.op !== op) continue;
      if (rule.name && (!name || !rule.name.test(name))) continue;
      if (rule.times !== undefined && (rule.hits ?? 0) >= rule.times) continue;
      rule.hits = (rule.hits ?? 0) + 1;
      return rule.status;
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const entry: GcsRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      status: 0,
      op: 'other',
      received: 0,
    };
    req.on('data', (chunk: Buffer) => (entry.received += chunk.length));
    this.requests.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    try {
      const named = /^(?:\/upload)?\/storage\/v1\/b\/([^/]+)/.exec(url.pathname);
      if (named && this.buckets && !this.buckets.has(decodeURIComponent(named[1]!)))
        return error(res, 404, 'The specified bucket does not exist.');
      const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      const object = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
      const listing = /^\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(url.pathname);
      if (upload) {
        const m = upload;
        entry.op = 'upload';
        const bucket = decodeURIComponent(m[1]!);
        const uploadId = query['upload_id'];
        if (req.method === 'POST' && query['uploadType'] === 'multipart')
          return await this.multipart(req, res, bucket, query, entry);
        if (req.method === 'POST' && query['uploadType'] === 'resumable' && !uploadId)
          return await this.startResumable(req, res, bucket, query, entry);
        if (req.method === 'PUT' && uploadId) return await this.continueResumable(req, res, uploadId, entry);
        return error(res, 400, `unsupported upload ${req.method} ${url.search}`);
      }
      if (object && req.method === 'GET') {
        const m = object;
        entry.op = 'get';
        const bucket = decodeURIComponent(m[1]!);
        const name = decodeURIComponent(m[2]!);
        entry.name = name;
        const injected = this.fault('get', name);
        if (injected) return error(res, injected, 'injected failure');
        const obj = this.objects.get(`${bucket}/${name}`);
        if (!obj) return error(res, 404, `No such object: ${bucket}/${name}`);
        if (query['alt'] === 'media') {
          if (!obj.data) return error(res, 501, 'content not kept by this fake');
          res.writeHead(200, {
            'Content-Type': obj.contentType,
            'Content-Length': obj.size,
            'X-Goog-Hash': `crc32c=${obj.crc32c},md5=${obj.md5Hash}`,
            'X-Goog-Generation': String(obj.generation),
          });
          res.end(obj.data);
          return;
        }
        return json(res, 200, resource(obj));
      }
      if (listing && req.method === 'GET') {
        const m = listing;
        entry.op = 'list';
        const injected = this.fault('list', undefined);
        if (injected) return error(res, injected, 'injected failure');
        const bucket = decodeURIComponent(m[1]!);
        const all = this.list(bucket, query['prefix'] ?? '');
        const start = query['pageToken'] ? Number(Buffer.from(query['pageToken'], 'base64url').toString()) : 0;
        const max = Math.min(Number(query['maxResults'] ?? 1000) || 1000, 1000);
        const page = all.slice(start, start + max);
        const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
        return json(res, 200, {
          kind: 'storage#objects',
          items: page.map(resource),
          ...(next ? { nextPageToken: next } : {}),
        });
      }
      return error(res, 404, `Not Found: ${req.method} ${url.pathname}`);
    } catch (err) {
      if (!res.headersSent) error(res, 500, String(err));
      else res.destroy();
    }
  }

  private refuseExisting(res: ServerResponse): void {
    if (this.existingObjectStatus === 403) {
      error(res, 403, 'The caller does not have storage.objects.delete access to the Google Cloud Storage object.');
      return;
    }
    error(res, 412, 'At least one of the pre-conditions you specified did not hold.');
  }

  private precondition(bucket: string, name: string, ifGenerationMatch: string | undefined): boolean {
    if (ifGenerationMatch === undefined) return true;
    const existing = this.objects.get(`${bucket}/${name}`);
    return ifGenerationMatch === '0' ? !existing : existing?.generation === Number(ifGenerationMatch);
  }

  private async multipart(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    query: Record<string, string>,
    entry: GcsRequest,
  ): Promise<void> {
    const type = req.headers['content-type'] ?? '';
    const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
    const body = await readAll(req);
    if (!boundary) return error(res, 400, 'multipart upload without a boundary');
    const parts = splitMultipart(body, boundary);
    if (parts.length !== 2) return error(res, 400, `multipart upload with ${parts.length} parts`);
    const meta = JSON.parse(parts[0]!.body.toString('utf8')) as {
      name?: string;
      contentType?: string;
      metadata?: Record<string, string>;
    };
    const name = query['name'] ?? meta.name;
    if (!name) return error(res, 400, 'upload without an object name');
    entry.name = name;
    const injected = this.fault('upload', name);
    if (injected) return error(res, injected, 'injected failure');
    const session = this.newSession(
      bucket,
      name,
      meta.contentType ?? parts[1]!.contentType ?? 'application/octet-stream',
      meta.metadata ?? {},
      query['ifGenerationMatch'],
    );
    this.absorb(session, parts[1]!.body);
    return this.finalize(res, session);
  }

  private async startResumable(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    query: Record<string, string>,
    entry: GcsRequest,
  ): Promise<void> {
    const text = (await readAll(req)).toString('utf8');
    const meta = (text ? JSON.parse(text) : {}) as {
      name?: string;
      contentType?: string;
      metadata?: Record<string, string>;
    };
    const name = query['name'] ?? meta.name;
    if (!name) return error(res, 400, 'upload without an object name');
    entry.name = name;
    const injected = this.fault('upload', name);
    if (injected) return error(res, injected, 'injected failure');
    if (!this.precondition(bucket, name, query['ifGenerationMatch'])) return this.refuseExisting(res);
    const contentType = meta.contentType ?? String(req.headers['x-upload-content-type'] ?? 'application/octet-stream');
    const id = randomUUID();
    this.sessions.set(id, this.newSession(bucket, name, contentType, meta.metadata ?? {}, query['ifGenerationMatch']));
    res.writeHead(200, {
      Location: `${this.url}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`,
      'Content-Length': 0,
    });
    res.end();
  }

  private async continueResumable(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    entry: GcsRequest,
  ): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) {
      await readAll(req);
      return error(res, 404, 'No such upload session');
    }
    entry.name = session.name;
    const range = String(req.headers['content-range'] ?? '');
    // "bytes */N" or "bytes */*" asks how much arrived; "bytes a-b/N" or "bytes a-*/*" carries data.
    let aborted = false;
    req.on('aborted', () => (aborted = true));
    const body = await readAll(req).catch(() => {
      aborted = true;
      return Buffer.alloc(0);
    });
    if (aborted) return; // the client went away: the session stays unfinished, no object
    const injected = this.fault('upload', session.name);
    if (injected) return error(res, injected, 'injected failure');
    const m = /^bytes (\d+)-(\d+|\*)\/(\d+|\*)$/.exec(range);
    const status = /^bytes \*\/(\d+|\*)$/.exec(range);
    if (status) {
      const total = status[1];
      if (total !== '*' && Number(total) === session.received) return this.finalize(res, session, id);
      return incomplete(res, session.received);
    }
    if (m) {
      const start = Number(m[1]);
      if (start !== session.received) {
        // Replayed bytes after a retry: keep only what is new.
        const skip = session.received - start;
        if (skip < 0) return error(res, 400, 'gap in resumable upload');
        this.absorb(session, body.subarray(skip));
      } else {
        this.absorb(session, body);
      }
      const total = m[3];
      // "a-*/..." streams the rest of the object in this one request: its end is the object's end.
      if (m[2] === '*' || (total !== '*' && Number(total) === session.received)) return this.finalize(res, session, id);
      return incomplete(res, session.received);
    }
    // No Content-Range: the whole object in one request.
    this.absorb(session, body);
    return this.finalize(res, session, id);
  }

  private newSession(
    bucket: string,
    name: string,
    contentType: string,
    metadata: Record<string, string>,
    ifGenerationMatch: string | undefined,
  ): Session {
    return {
      bucket,
      name,
      contentType,
      metadata,
      ifGenerationMatch,
      chunks: [],
      received: 0,
      crc: new CRC32C(),
      md5: createHash('md5'),
      sha: createHash('sha256'),
    };
  }

  private absorb(session: Session, data: Buffer): void {
    session.received += data.length;
    session.crc.update(data);
    session.md5.update(data);
    session.sha.update(data);
    if (this.storeContent) session.chunks.push(data);
  }

  private finalize(res: ServerResponse, session: Session, id?: string): void {
    if (id) this.sessions.delete(id);
    this.beforeFinalize?.(session.bucket, session.name);
    if (!this.precondition(session.bucket, session.name, session.ifGenerationMatch)) {
      this.refuseExisting(res);
      return;
    }
    const obj: StoredObject = {
      bucket: session.bucket,
      name: session.name,
      generation: this.generation++,
      contentType: session.contentType,
      size: session.received,
      crc32c: session.crc.toString(),
      md5Hash: session.md5.digest('base64'),
      sha256: session.sha.digest('hex'),
      metadata: session.metadata,
      data: this.storeContent ? Buffer.concat(session.chunks) : null,
      updated: new Date().toISOString(),
    };
    this.objects.set(`${session.bucket}/${session.name}`, obj);
    if (this.mirrorDir && obj.data) {
      const file = join(this.mirrorDir, session.bucket, ...session.name.split('/'));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, obj.data);
    }
    json(res, 200, resource(obj));
  }
}

function resource(o: StoredObject): Record<string, unknown> {
  return {
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    name: o.name,
    bucket: o.bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    size: String(o.size),
    crc32c: o.crc32c,
    md5Hash: o.md5Hash,
    metadata: o.metadata,
    storageClass: 'STANDARD',
    timeCreated: o.updated,
    updated: o.updated,
  };
}

function incomplete(res: ServerResponse, received: number): void {
  res.writeHead(
    308,
    received > 0 ? { Range: `bytes=0-${received - 1}`, 'Content-Length': 0 } : { 'Content-Length': 0 },
  );
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function error(res: ServerResponse, status: number, message: string): void {
  json(res, status, {
    error: { code: status, message, errors: [{ message, reason: status === 412 ? 'conditionNotMet' : 'failed' }] },
  });
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function splitMultipart(body: Buffer, boundary: string): { contentType: string | undefined; body: Buffer }[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { contentType: string | undefined; body: Buffer }[] = [];
  let pos = body.indexOf(delimiter);
  while (pos !== -1) {
    const start = pos + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    const part = body.subarray(start, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, headerEnd).toString('utf8');
    let content = part.subarray(headerEnd + 4);
    if (content.subarray(-2).toString() === '\r\n') content = content.subarray(0, -2);
    parts.push({ contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim(), body: content });
    pos = next;
  }
  return parts;
}

export interface FakeGcsOptions {
  storeContent?: boolean;
  mirrorDir?: string;
  /** The buckets that exist (others answer 404); unset, every bucket exists. */
  buckets?: readonly string[];
}

export async function startFakeGcs(options: FakeGcsOptions = {}): Promise<FakeGcs> {
  return new FakeGcs(options).start();
}
