import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable, Transform, pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { IDLE_CONNECTION_MS } from '../services.ts';
import { artifactSize, artifactStream } from './artifacts.ts';
import { FakeAccount, type FakeAccountOptions, type FakeRun, type Outcome } from './model.ts';
import { FakeWebhooks, type WebhookSenderOptions } from './webhooks.ts';

/**
 * A fake of the dbt Cloud Administrative API v2 on a loopback port, faithful to the rules in
 * dbt-cloud-api.md, with per-test fault injection and a request log.
 */
export type RouteKind =
  | 'runs'
  | 'run'
  | 'artifacts'
  | 'artifact'
  | 'jobs'
  | 'job'
  | 'trigger'
  | 'cancel'
  | 'rerun'
  | 'job-artifact'
  | 'webhooks'
  | 'webhook'
  | 'unknown';

export type Fault =
  /** An error status; `body` html (default for 5xx), json (default otherwise), empty, or json echoing the request's Authorization header (as some proxies do). */
  | { type: 'status'; status: number; retryAfter?: string; body?: 'html' | 'json' | 'empty' | 'echo' }
  /** The connection is reset: before any answer, or after `afterBytes` of an artifact body. */
  | { type: 'reset'; afterBytes?: number }
  /** A body shorter than its Content-Length: `bytes` are sent, then the connection is closed. */
  | { type: 'short'; bytes: number }
  /** Answers only after `ms` (slower than a client's timeout, say). */
  | { type: 'delay'; ms: number }
  /** Sends `afterBytes` of the body, then nothing more (for idle timeouts). */
  | { type: 'stall'; afterBytes: number }
  /** Answers 200 with a JSON-looking body of `bytes` bytes, streamed; gzip-compressed when asked (a small bomb). */
  | { type: 'huge'; bytes: number; gzip?: boolean }
  /** Answers a redirect (302 by default) to `location`. */
  | { type: 'redirect'; location: string; status?: number }
  /** Answers 200 with this body and content type instead of the real one. */
  | { type: 'body'; contentType: string; text: string };

/** One request to the API, as its route's handler gets it. */
interface ApiCall {
  method: string;
  route: ReturnType<FakeDbtCloud['route']>;
  params: URLSearchParams;
  body: string;
  res: ServerResponse;
  fault: Fault | undefined;
}

export interface FaultRule {
  kind?: RouteKind | 'any';
  runId?: number;
  step?: number;
  file?: string;
  /** How many matching requests it hits (default: all). */
  times?: number;
  /** Matching requests let through before it starts to hit. */
  skip?: number;
  fault: Fault;
}

export interface FaultHandle {
  readonly rule: FaultRule;
  hits: number;
  seen: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string[]>;
  kind: RouteKind;
  status: number;
  runId?: number;
  step?: number;
  fault?: Fault['type'];
  authScheme: string | null;
}

export interface FakeDbtCloudOptions extends FakeAccountOptions {
  token?: string;
  /** Latency added to every answer, in ms. */
  latencyMs?: number;
  /** Requests per second over which the fake answers 429 (sliding one-second window). */
  rateLimitPerSecond?: number;
  /** Retry-After sent with rate-limit 429s; none when undefined. */
  rateLimitRetryAfter?: string;
  /** How the fake sends webhooks (retry delays, timeout). */
  webhooks?: WebhookSenderOptions;
}

const ORDERS = new Set(['id', '-id', 'created_at', '-created_at', 'finished_at', '-finished_at']);
const RELATED = new Set(['run_steps', 'job', 'trigger', 'environment', 'debug_logs', 'job.environment']);

class HttpProblem extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, userMessage: string, body?: unknown) {
    super(userMessage);
    this.status = status;
    this.body = body ?? {
      status: { code: status, is_success: false, user_message: userMessage, developer_message: null },
      data: null,
    };
  }
}

export class FakeDbtCloud {
  readonly account: FakeAccount;
  /** Webhook subscriptions, and the deliveries sent to them. */
  readonly webhooks: FakeWebhooks;
  readonly requests: LoggedRequest[] = [];
  tokens: Set<string>;
  latencyMs: number;
  rateLimitPerSecond: number | undefined;
  rateLimitRetryAfter: string | undefined;
  /** Answers every list page as if offset were 0 (a server that ignores offset). */
  ignoreOffset = false;
  /** What the next run triggered through the API ends as. */
  nextTriggeredOutcome: Outcome = 'success';
  private faults: FaultHandle[] = [];
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  private recent: number[] = [];

  constructor(options: FakeDbtCloudOptions) {
    this.account = new FakeAccount(options);
    this.webhooks = new FakeWebhooks(this.account, options.webhooks);
    this.tokens = new Set([options.token ?? 'fake-token']);
    this.latencyMs = options.latencyMs ?? 0;
    this.rateLimitPerSecond = options.rateLimitPerSecond;
    this.rateLimitRetryAfter = options.rateLimitRetryAfter;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('the fake dbt Cloud is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  get accountId(): number {
    return this.account.accountId;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = IDLE_CONNECTION_MS;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  inject(rule: FaultRule): FaultHandle {
    const handle: FaultHandle = { rule, hits: 0, seen: 0 };
    this.faults.push(handle);
    return handle;
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Requests made to one kind of route (and run), for assertions. */
  requestsOf(kind: RouteKind, runId?: number): LoggedRequest[] {
    return this.requests.filter((r) => r.kind === kind && (runId === undefined || r.runId === runId));
  }

  // ---- plumbing --------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) {
      query[k] ??= [];
      query[k].push(v);
    }
    const route = this.route(req.method ?? 'GET', url.pathname);
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      kind: route.kind,
      status: 0,
      runId: route.runId,
      step: query['step']?.[0] !== undefined ? Number(query['step'][0]) : undefined,
      authScheme: null,
    };
    this.requests.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    try {
      const body = await readBody(req);
      if (this.latencyMs > 0) await sleep(this.latencyMs);
      const fault = this.matchFault(
        route.kind,
        route.runId,
        entry.step,
        route.file,
        this.servesArtifactBody(route, entry.step),
      );
      if (fault) entry.fault = fault.type;
      if (fault?.type === 'delay') await sleep(fault.ms);
      if (fault?.type === 'reset' && fault.afterBytes === undefined) {
        req.socket.resetAndDestroy();
        return;
      }
      if (fault?.type === 'status') return this.faultStatus(res, fault, req.headers.authorization ?? '');
      if (fault?.type === 'huge') return sendHuge(res, fault.bytes, fault.gzip ?? false);
      if (fault?.type === 'redirect') {
        res.writeHead(fault.status ?? 302, { Location: fault.location, 'Content-Length': 0 });
        res.end();
        return;
      }
      if (fault?.type === 'body') {
        res.writeHead(200, { 'Content-Type': fault.contentType, 'Content-Length': Buffer.byteLength(fault.text) });
        res.end(fault.text);
        return;
      }
      if (this.overRateLimit()) {
        return sendJson(
          res,
          429,
          {
            status: { code: 429, is_success: false, user_message: 'Too many requests', developer_message: null },
            data: null,
          },
          this.rateLimitRetryAfter ? { 'Retry-After': this.rateLimitRetryAfter } : {},
        );
      }
      const auth = req.headers.authorization ?? '';
      const m = /^(Token|Bearer)\s+(\S+)$/i.exec(auth);
      entry.authScheme = m?.[1] ?? null;
      if (!m || !this.tokens.has(m[2]!)) {
        return sendJson(res, 401, {
          status: { code: 401, is_success: false, user_message: 'Invalid token.', developer_message: null },
          data: null,
        });
      }
      if (route.accountId !== undefined && route.accountId !== this.account.accountId) {
        throw new HttpProblem(404, 'The requested resource was not found.');
      }
      if (route.kind === 'unknown') throw new HttpProblem(404, 'Not found.');
      if (!route.trailingSlash && route.kind !== 'artifact' && route.kind !== 'job-artifact') {
        if (req.method === 'POST') return sendJson(res, 405, { detail: `Method "POST" not allowed.` });
        res.writeHead(301, { Location: `${url.pathname}/${url.search}` });
        res.end();
        return;
      }
      await this.dispatch(req.method ?? 'GET', route, url.searchParams, body, res, fault);
    } catch (err) {
      if (err instanceof HttpProblem) return sendJson(res, err.status, err.body);
      sendJson(res, 500, {
        status: { code: 500, is_success: false, user_message: String(err), developer_message: null },
        data: null,
      });
    }
  }

  /**
   * A run of `jobId` ends now (a live account), and its webhooks go out as dbt Cloud sends them.
   * Artifacts are saved `artifactsAfterMs` later (default at once).
   */
  finishRun(
    jobId: number,
    options: Parameters<FakeAccount['finishNow']>[1] & Parameters<FakeWebhooks['runEnded']>[1] = {},
  ): FakeRun {
    const run = this.account.finishNow(jobId, options);
    this.webhooks.runEnded(run, options);
    return run;
  }

  private route(
    method: string,
    path: string,
  ): {
    kind: RouteKind;
    accountId?: number;
    runId?: number;
    jobId?: number;
    file?: string;
    subscriptionId?: string;
    trailingSlash: boolean;
  } {
    const v3 = /^\/api\/v3\/accounts\/(\d+)\/webhooks\/(subscriptions|subscription\/([^/]+))\/?$/.exec(path);
    if (v3)
      return {
        kind: v3[3] ? 'webhook' : 'webhooks',
        accountId: Number(v3[1]),
        subscriptionId: v3[3],
        trailingSlash: true,
      };
    const m = /^\/api\/v2\/accounts\/(\d+)\/(.*)$/.exec(path);
    if (!m) return { kind: 'unknown', trailingSlash: true };
    const accountId = Number(m[1]);
    const rest = m[2]!;
    const trailingSlash = rest.endsWith('/');
    const parts = rest.replace(/\/$/, '').split('/');
    const [a, b, c, ...tail] = parts;
    const num = (s: string | undefined): number | undefined =>
      s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
    if (a === 'runs' && b === undefined) return { kind: 'runs', accountId, trailingSlash };
    if (a === 'runs' && num(b) !== undefined) {
      const runId = num(b);
      if (c === undefined) return { kind: 'run', accountId, runId, trailingSlash };
      if (c === 'cancel' && tail.length === 0 && method === 'POST')
        return { kind: 'cancel', accountId, runId, trailingSlash };
      if (c === 'artifacts' && tail.length === 0 && trailingSlash)
        return { kind: 'artifacts', accountId, runId, trailingSlash };
      if (c === 'artifacts')
        return { kind: 'artifact', accountId, runId, file: decodeURIComponent(tail.join('/')), trailingSlash };
    }
    if (a === 'jobs' && b === undefined) return { kind: 'jobs', accountId, trailingSlash };
    if (a === 'jobs' && num(b) !== undefined) {
      const jobId = num(b);
      if (c === undefined) return { kind: 'job', accountId, jobId, trailingSlash };
      if (c === 'run' && tail.length === 0) return { kind: 'trigger', accountId, jobId, trailingSlash };
      if (c === 'rerun' && tail.length === 0) return { kind: 'rerun', accountId, jobId, trailingSlash };
      if (c === 'artifacts' && tail.length > 0)
        return { kind: 'job-artifact', accountId, jobId, file: decodeURIComponent(tail.join('/')), trailingSlash };
    }
    return { kind: 'unknown', accountId, trailingSlash };
  }

  /**
   * Whether this request will be answered with an artifact body. A fault that cuts a body short
   * (stall, short, reset after some bytes) only applies, and only counts, where there is one: a 404
   * for a file the step never wrote would otherwise swallow it, and a test waiting for a half-sent
   * body would wait for nothing.
   */
  private servesArtifactBody(route: ReturnType<FakeDbtCloud['route']>, step: number | undefined): boolean {
    if (route.kind !== 'artifact' || route.runId === undefined) return false;
    const run = this.account.run(route.runId);
    const s = run && this.account.stepFor(run, step);
    return Boolean(
      run && s && this.account.artifactsSaved(run) && route.file !== undefined && s.files.includes(route.file),
    );
  }

  private matchFault(
    kind: RouteKind,
    runId: number | undefined,
    step: number | undefined,
    file: string | undefined,
    hasBody: boolean,
  ): Fault | undefined {
    for (const handle of this.faults) {
      const r = handle.rule;
      const cutsBody =
        r.fault.type === 'stall' ||
        r.fault.type === 'short' ||
        (r.fault.type === 'reset' && r.fault.afterBytes !== undefined);
      if (cutsBody && !hasBody) continue;
      if (r.kind && r.kind !== 'any' && r.kind !== kind) continue;
      if (r.runId !== undefined && r.runId !== runId) continue;
      if (r.step !== undefined && r.step !== step) continue;
      if (r.file !== undefined && r.file !== file) continue;
      handle.seen++;
      if (handle.seen <= (r.skip ?? 0)) continue;
      if (r.times !== undefined && handle.hits >= r.times) continue;
      handle.hits++;
      return r.fault;
    }
    return undefined;
  }

  private overRateLimit(): boolean {
    if (!this.rateLimitPerSecond) return false;
    const now = Date.now();
    while (this.recent.length > 0 && this.recent[0]! <= now - 1000) this.recent.shift();
    if (this.recent.length >= this.rateLimitPerSecond) return true;
    this.recent.push(now);
    return false;
  }

  private faultStatus(res: ServerResponse, fault: Extract<Fault, { type: 'status' }>, authorization: string): void {
    const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'Retry-After': fault.retryAfter } : {};
    const kind = fault.body ?? (fault.status >= 500 ? 'html' : 'json');
    if (kind === 'html') {
      const html = `<!DOCTYPE html><html><head><title>${fault.status} Server Error</title></head><body><h1>Server Error (${fault.status})</h1></body></html>`;
      res.writeHead(fault.status, {
        'Content-Type': 'text/html',
        'Content-Length': Buffer.byteLength(html),
        ...headers,
      });
      res.end(html);
    } else if (kind === 'echo') {
      sendJson(
        res,
        fault.status,
        {
          status: {
            code: fault.status,
            is_success: false,
            user_message: `Rejected request with Authorization: ${authorization}`,
            developer_message: null,
          },
          data: null,
        },
        headers,
      );
    } else if (kind === 'empty') {
      res.writeHead(fault.status, { 'Content-Length': 0, ...headers });
      res.end();
    } else {
      sendJson(
        res,
        fault.status,
        {
          status: {
            code: fault.status,
            is_success: false,
            user_message: fault.status === 429 ? 'Rate limit exceeded' : 'Injected failure',
            developer_message: null,
          },
          data: null,
        },
        headers,
      );
    }
  }

  // ---- the API ---------------------------------------------------------------------------------

  private async dispatch(
    method: string,
    route: ReturnType<FakeDbtCloud['route']>,
    params: URLSearchParams,
    body: string,
    res: ServerResponse,
    fault: Fault | undefined,
  ): Promise<void> {
    const answer = this.routes[route.kind];
    if (!answer) throw new HttpProblem(404, 'Not found.');
    await answer({ method, route, params, body, res, fault });
  }

  /** The API's routes: each kind of request and what answers it. */
  private readonly routes: Partial<Record<RouteKind, (call: ApiCall) => void | Promise<void>>> = {
    runs: (c) => this.routeRuns(c),
    run: (c) => this.routeRun(c),
    cancel: (c) => this.routeCancel(c),
    artifacts: (c) => this.routeArtifacts(c),
    artifact: (c) => this.routeArtifact(c),
    'job-artifact': (c) => this.routeJobArtifact(c),
    jobs: (c) => this.routeJobs(c),
    job: (c) => this.routeJob(c),
    trigger: (c) => this.routeTrigger(c),
    webhooks: (c) => this.routeWebhooks(c),
    webhook: (c) => this.routeWebhook(c),
    rerun: (c) => this.routeRerun(c),
  };

  private routeRuns(call: ApiCall): void | Promise<void> {
    const { method, params, res } = call;
    const acct = this.account;
    if (method !== 'GET') throw new HttpProblem(405, 'Method not allowed');
    const { limit, offset } = paging(params);
    const related = relatedOf(params);
    for (const key of params.keys())
      if (key.endsWith('__range')) throw new HttpProblem(400, `Invalid value for ${key}`);
    const order = params.get('order_by') ?? 'id';
    if (!ORDERS.has(order))
      throw new HttpProblem(400, `Invalid order_by: ${order}. Choose one of id, created_at, finished_at.`);
    const intParam = (k: string): number | undefined => {
      const v = params.get(k);
      if (v === null) return undefined;
      if (!/^\d+$/.test(v)) throw new HttpProblem(400, `${k} must be an integer`);
      return Number(v);
    };
    const jobId = intParam('job_definition_id');
    const envId = intParam('environment_id');
    const projectId = intParam('project_id');
    const status = intParam('status');
    const idGt = intParam('id__gt');
    const statusIn = listParam(params, 'status__in').map(Number);
    const projectIn = listParam(params, 'project_id__in').map(Number);
    let rows = acct.runs.filter(
      (r) =>
        (jobId === undefined || r.jobId === jobId) &&
        (envId === undefined || r.environmentId === envId) &&
        (projectId === undefined || r.projectId === projectId) &&
        (projectIn.length === 0 || projectIn.includes(r.projectId)) &&
        (idGt === undefined || r.id > idGt) &&
        (status === undefined || acct.statusOf(r) === status) &&
        (statusIn.length === 0 || statusIn.includes(acct.statusOf(r))),
    );
    rows = sortRuns(rows, order, (r) => (acct.isComplete(r) ? r.finishedAt.getTime() : null));
    const from = this.ignoreOffset ? 0 : offset;
    const page = rows.slice(from, from + limit);
    return sendJson(res, 200, {
      status: ok(),
      data: page.map((r) => acct.runJson(r, related)),
      extra: {
        filters: Object.fromEntries(params),
        order_by: order,
        pagination: { count: page.length, total_count: rows.length },
      },
    });
  }

  private routeRun(call: ApiCall): void | Promise<void> {
    const { route, params, res } = call;
    const acct = this.account;
    const run = this.findRun(route.runId);
    if (run.pollsLeft !== undefined && run.pollsLeft > 0) {
      run.pollsLeft--;
      if (run.pollsLeft === 0) this.completeTriggered(run);
    }
    return sendJson(res, 200, { status: ok(), data: acct.runJson(run, relatedOf(params)) });
  }

  private routeCancel(call: ApiCall): void | Promise<void> {
    const { route, res } = call;
    const acct = this.account;
    const run = this.findRun(route.runId);
    if (!acct.isComplete(run)) {
      run.patch['status'] = 30;
      run.outcome = 'cancelled';
      run.pollsLeft = 0;
    }
    return sendJson(res, 200, { status: ok(), data: acct.runJson(run, new Set()) });
  }

  private routeArtifacts(call: ApiCall): void | Promise<void> {
    const { route, res } = call;
    const acct = this.account;
    const run = this.findRun(route.runId);
    const last = run.steps[run.steps.length - 1];
    const files = acct.artifactsSaved(run) && last ? last.files : [];
    return sendJson(res, 200, { status: ok(), data: files.length > 0 ? files : null });
  }

  private routeArtifact(call: ApiCall): void | Promise<void> {
    const { route, params, res, fault } = call;
    const acct = this.account;
    const run = this.findRun(route.runId);
    const stepParam = params.get('step');
    if (stepParam !== null && !/^\d+$/.test(stepParam)) throw new HttpProblem(400, 'step must be an integer');
    const step = acct.stepFor(run, stepParam === null ? undefined : Number(stepParam));
    const file = route.file ?? '';
    if (!acct.artifactsSaved(run) || !step?.files.includes(file))
      throw new HttpProblem(404, `No ${file} for run ${run.id}`);
    return this.sendArtifact(res, run, step.index, file, fault);
  }

  private routeJobArtifact(call: ApiCall): void | Promise<void> {
    const { route, res, fault } = call;
    const acct = this.account;
    const job = this.findJob(route.jobId);
    const run = sortRuns(
      acct.runs.filter((r) => r.jobId === job.id && acct.statusOf(r) === 10),
      '-finished_at',
      (r) => r.finishedAt.getTime(),
    )[0];
    const step = run && acct.stepFor(run, undefined);
    const file = route.file ?? '';
    if (!run || !step?.files.includes(file)) throw new HttpProblem(404, `No ${file} for job ${job.id}`);
    return this.sendArtifact(res, run, step.index, file, fault);
  }

  private routeJobs(call: ApiCall): void | Promise<void> {
    const { params, res } = call;
    const acct = this.account;
    const { limit, offset } = paging(params);
    const projectId = params.get('project_id');
    const envId = params.get('environment_id');
    const nameLike = params.get('name__icontains')?.toLowerCase();
    const rows = acct.jobs.filter(
      (j) =>
        (projectId === null || j.projectId === Number(projectId)) &&
        (envId === null || j.environmentId === Number(envId)) &&
        (!nameLike || j.name.toLowerCase().includes(nameLike)),
    );
    const page = rows.slice(offset, offset + limit);
    return sendJson(res, 200, {
      status: ok(),
      data: page.map((j) => acct.jobJson(j)),
      extra: {
        filters: Object.fromEntries(params),
        order_by: 'id',
        pagination: { count: page.length, total_count: rows.length },
      },
    });
  }

  private routeJob(call: ApiCall): void | Promise<void> {
    const { route, res } = call;
    const acct = this.account;
    return sendJson(res, 200, { status: ok(), data: acct.jobJson(this.findJob(route.jobId)) });
  }

  private routeTrigger(call: ApiCall): void | Promise<void> {
    const { method, route, body, res } = call;
    const acct = this.account;
    if (method !== 'POST')
      throw new HttpProblem(405, 'Method not allowed', { detail: `Method "${method}" not allowed.` });
    const job = this.findJob(route.jobId);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body || '{}') as Record<string, unknown>;
    } catch {
      throw new HttpProblem(400, 'JSON parse error');
    }
    const cause = parsed['cause'];
    if (typeof cause !== 'string' || cause.length === 0)
      throw new HttpProblem(400, 'Invalid request', {
        status: {
          code: 400,
          is_success: false,
          user_message: 'The request was invalid. Please double check the provided data and try again.',
          developer_message: '',
        },
        data: { cause: ['This field is required.'] },
      });
    if (cause.length > 255)
      throw new HttpProblem(400, 'Invalid request', {
        status: {
          code: 400,
          is_success: false,
          user_message: 'The request was invalid. Please double check the provided data and try again.',
          developer_message: '',
        },
        data: { cause: ['Ensure this field has no more than 255 characters.'] },
      });
    const steps = parsed['steps_override'];
    const run = acct.triggerRun(
      job.id,
      {
        cause,
        git_sha: str(parsed['git_sha']),
        git_branch: str(parsed['git_branch']),
        steps_override: Array.isArray(steps) ? steps.map(String) : undefined,
      },
      this.nextTriggeredOutcome,
    );
    run.patch['trigger_body'] = parsed;
    return sendJson(res, 200, { status: ok(), data: acct.runJson(run, new Set(['trigger', 'job'])) });
  }

  private routeWebhooks(call: ApiCall): void | Promise<void> {
    const { method, params, body, res } = call;
    const acct = this.account;
    if (method === 'GET') {
      const { limit, offset } = paging(params);
      const all = [...this.webhooks.subscriptions.values()];
      const page = all.slice(offset, offset + limit);
      return sendJson(res, 200, {
        status: ok(),
        data: page.map((w) => FakeWebhooks.view(w)),
        extra: { pagination: { count: page.length, total_count: all.length } },
      });
    }
    if (method !== 'POST') throw new HttpProblem(405, 'Method not allowed');
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body || '{}') as Record<string, unknown>;
    } catch {
      throw new HttpProblem(400, 'JSON parse error');
    }
    const invalid: Record<string, string[]> = {};
    if (typeof parsed['name'] !== 'string' || !parsed['name']) invalid['name'] = ['This field is required.'];
    const url = parsed['client_url'];
    let target: URL | null = null;
    try {
      target = typeof url === 'string' ? new URL(url) : null;
    } catch {
      target = null;
    }
    // dbt Cloud requires https; the fake also takes loopback http, where tests listen.
    if (!target || !(target.protocol === 'https:' || (target.protocol === 'http:' && target.hostname === '127.0.0.1')))
      invalid['client_url'] = ['Enter a valid https URL.'];
    const types = parsed['event_types'];
    if (
      !Array.isArray(types) ||
      types.length === 0 ||
      types.some((t) => !['job.run.started', 'job.run.completed', 'job.run.errored'].includes(String(t)))
    )
      invalid['event_types'] = ['Choose job.run.started, job.run.completed or job.run.errored.'];
    const jobs = parsed['job_ids'];
    if (jobs !== undefined && (!Array.isArray(jobs) || jobs.some((j) => !acct.jobs.some((x) => x.id === Number(j)))))
      invalid['job_ids'] = ['Unknown job id.'];
    if (Object.keys(invalid).length > 0)
      throw new HttpProblem(400, 'Invalid request', {
        status: {
          code: 400,
          is_success: false,
          user_message: 'The request was invalid. Please double check the provided data and try again.',
          developer_message: '',
        },
        data: invalid,
      });
    const created = this.webhooks.create(parsed);
    return sendJson(res, 201, { status: ok(), data: FakeWebhooks.view(created, true) });
  }

  private routeWebhook(call: ApiCall): void | Promise<void> {
    const { method, route, res } = call;
    const sub = route.subscriptionId ? this.webhooks.subscriptions.get(route.subscriptionId) : undefined;
    if (!sub) throw new HttpProblem(404, 'The requested resource was not found.');
    if (method === 'GET') return sendJson(res, 200, { status: ok(), data: FakeWebhooks.view(sub) });
    if (method === 'DELETE') {
      this.webhooks.subscriptions.delete(sub.id);
      return sendJson(res, 200, { status: ok(), data: FakeWebhooks.view(sub) });
    }
    throw new HttpProblem(405, 'Method not allowed');
  }

  private routeRerun(call: ApiCall): void | Promise<void> {
    const { route, res } = call;
    const acct = this.account;
    const job = this.findJob(route.jobId);
    const failed = sortRuns(
      acct.runs.filter((r) => r.jobId === job.id && acct.statusOf(r) === 20),
      '-finished_at',
      (r) => r.finishedAt.getTime(),
    )[0];
    if (!failed) throw new HttpProblem(400, 'No failed run to retry');
    const run = acct.triggerRun(job.id, { cause: `Rerun of ${failed.id}` }, this.nextTriggeredOutcome);
    return sendJson(res, 200, { status: ok(), data: acct.runJson(run, new Set()) });
  }

  private completeTriggered(run: FakeRun): void {
    const now = new Date();
    run.startedAt = new Date(now.getTime() - 5_000);
    run.finishedAt = now;
    run.steps = this.account.buildSteps(
      this.account.job(run.jobId),
      run,
      undefined,
      (run.patch['trigger_body'] as { steps_override?: string[] } | undefined)?.steps_override,
    );
  }

  private sendArtifact(res: ServerResponse, run: FakeRun, step: number, file: string, fault: Fault | undefined): void {
    const s = this.account.stepFor(run, step)!;
    // Fusion's telemetry comes as application/x-parquet ("Retrieve Run Artifact", dbt's v2 spec).
    const type = file.endsWith('.json')
      ? 'application/json'
      : file.endsWith('.parquet')
        ? 'application/x-parquet'
        : 'text/plain; charset=utf-8';
    const given = this.account.bodyOf?.(run.id, s.index, file);
    if (given) {
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': given.size });
      pipeline(given.open(), res, () => {});
      return;
    }
    const spec = this.account.spec(run, s, file);
    const size = artifactSize(spec);
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': size });
    const limitBytes =
      fault?.type === 'reset' || fault?.type === 'stall'
        ? (fault.afterBytes ?? 0)
        : fault?.type === 'short'
          ? fault.bytes
          : undefined;
    const source = artifactStream(spec);
    if (limitBytes === undefined) {
      pipeline(source, res, () => {});
      return;
    }
    let sent = 0;
    const cut = new Transform({
      transform(chunk: Buffer, _enc, done) {
        const room = limitBytes - sent;
        if (room <= 0) return done();
        const part = chunk.subarray(0, room);
        sent += part.length;
        done(null, part);
      },
    });
    source.pipe(cut);
    cut.on('data', (chunk: Buffer) => res.write(chunk));
    cut.on('end', () => {
      const socket = res.socket;
      if (!socket) return;
      if (fault?.type === 'reset') setTimeout(() => socket.resetAndDestroy(), 20);
      else if (fault?.type === 'short') setTimeout(() => socket.end(), 20);
      // stall: leave the connection open and silent until the client gives up.
    });
  }

  private findRun(id: number | undefined): FakeRun {
    const run = id === undefined ? undefined : this.account.run(id);
    if (!run) throw new HttpProblem(404, 'The requested resource was not found.');
    return run;
  }

  private findJob(id: number | undefined) {
    const job = this.account.jobs.find((j) => j.id === id);
    if (!job) throw new HttpProblem(404, 'The requested resource was not found.');
    return job;
  }
}

function ok() {
  return { code: 200, is_success: true, user_message: 'Success!', developer_message: '' };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function paging(params: URLSearchParams): { limit: number; offset: number } {
  const limitText = params.get('limit') ?? '100';
  const offsetText = params.get('offset') ?? '0';
  if (!/^\d+$/.test(limitText) || !/^\d+$/.test(offsetText))
    throw new HttpProblem(400, 'limit and offset must be integers');
  const limit = Number(limitText);
  if (limit > 100) throw new HttpProblem(400, 'The limit parameter must be less than or equal to 100.');
  return { limit: limit === 0 ? 100 : limit, offset: Number(offsetText) };
}

/** A list parameter in any encoding real clients use: JSON array, comma separated, repeated keys. */
function listParam(params: URLSearchParams, key: string): string[] {
  const out: string[] = [];
  for (const raw of params.getAll(key)) {
    const text = raw.trim();
    if (text.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new HttpProblem(400, `Invalid value for ${key}`);
      }
      if (!Array.isArray(parsed)) throw new HttpProblem(400, `Invalid value for ${key}`);
      out.push(...parsed.map(String));
    } else {
      out.push(
        ...text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
    }
  }
  return out;
}

function relatedOf(params: URLSearchParams): Set<string> {
  const related = new Set(listParam(params, 'include_related'));
  for (const r of related) if (!RELATED.has(r)) throw new HttpProblem(400, `Invalid include_related value: ${r}`);
  return related;
}

/** Postgres order: NULLs last ascending and first descending; ties by id. */
function sortRuns(rows: FakeRun[], order: string, finished: (r: FakeRun) => number | null): FakeRun[] {
  const desc = order.startsWith('-');
  const field = order.replace(/^-/, '');
  const key = (r: FakeRun): number | null =>
    field === 'id' ? r.id : field === 'created_at' ? r.createdAt.getTime() : finished(r);
  return [...rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    let cmp: number;
    if (ka === null && kb === null) cmp = 0;
    else if (ka === null) cmp = 1;
    else if (kb === null) cmp = -1;
    else cmp = ka - kb;
    if (cmp === 0) cmp = a.id - b.id;
    return desc ? -cmp : cmp;
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `{"data":[` and spaces up to `bytes`, generated as it is sent; gzipped, it is a few hundred kB. */
function sendHuge(res: ServerResponse, bytes: number, gzip: boolean): void {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    ...(gzip ? { 'Content-Encoding': 'gzip' } : { 'Content-Length': bytes }),
  });
  const chunk = Buffer.alloc(1 << 20, 0x20);
  let sent = 0;
  const source = new Readable({
    read() {
      if (sent === 0) {
        sent += 9;
        this.push(Buffer.from('{"data":['));
      } else if (sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        this.push(chunk.subarray(0, n));
      } else this.push(null);
    },
  });
  pipeline(gzip ? source.pipe(createGzip()) : source, res, () => {});
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startFakeDbtCloud(options: FakeDbtCloudOptions, port = 0): Promise<FakeDbtCloud> {
  return new FakeDbtCloud(options).start(port);
}
