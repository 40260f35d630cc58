/**
 * A typed client for the dbt Cloud Administrative API v2. Every answer is validated; unknown fields
 * are kept.
 * @module
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { InputError, zodIssues } from '../core/errors.ts';
import { relativePathProblem } from '../core/paths.ts';
import {
  JobSchema,
  RunRowSchema,
  RunSchema,
  RunStatus,
  TERMINAL_STATUSES,
  dbtId,
  statusName,
  type Job,
  type Run,
  type RunRow,
} from '../core/run-model.ts';
import { ArtifactListSchema, envelope } from './api.ts';
import { checkedBody, contentTypeProblem, kindOfArtifact, notItsKind } from './artifact-body.ts';
import {
  DbtCloudHttpError,
  DbtCloudNetworkError,
  DbtCloudRefusedError,
  DbtCloudResponseError,
  DeadlineError,
  ListingTooLongError,
  PagingStuckError,
  WaitTimeoutError,
} from './dbt-cloud-errors.ts';
import { realClock, type Clock } from './rate-limit.ts';
import { Transport, asReadable, type TransportOptions } from './transport.ts';
import { WebhookSubscriptionSchema, type NewWebhookSubscription, type WebhookSubscription } from './webhooks.ts';

export type IncludeRelated = 'run_steps' | 'job' | 'trigger' | 'environment' | 'debug_logs';
export const RUN_RELATED: readonly IncludeRelated[] = ['run_steps', 'job', 'trigger', 'environment'];

export type RunOrder = 'id' | '-id' | 'created_at' | '-created_at' | 'finished_at' | '-finished_at';

export interface ListRunsFilters {
  project_id?: number;
  environment_id?: number;
  job_definition_id?: number;
  status?: number;
  status__in?: readonly number[];
  order_by?: RunOrder;
  include_related?: readonly IncludeRelated[];
  /** Rows per page, at most 100 (more is an error on multi-tenant hosts). */
  limit?: number;
  offset?: number;
}

export interface ListJobsFilters {
  project_id?: number;
  environment_id?: number;
  state?: number;
  name__icontains?: string;
  order_by?: string;
  limit?: number;
}

export interface TriggerJobRunOptions {
  cause: string;
  git_sha?: string;
  git_branch?: string;
  schema_override?: string;
  dbt_version_override?: string;
  threads_override?: number;
  target_name_override?: string;
  generate_docs_override?: boolean;
  timeout_seconds_override?: number;
  steps_override?: readonly string[];
}

export interface WaitOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /** Statuses that end the wait; terminal statuses always do. */
  expected?: readonly number[];
  onPoll?: (run: Run) => void;
}

export type ArtifactResult =
  | { found: false; url: string }
  | { found: true; url: string; body: Readable; contentLength: number | null; contentType: string | null };

export interface DbtCloudClientOptions extends Omit<TransportOptions, 'baseUrl'> {
  baseUrl: string;
  accountId: number;
}

const PAGE_LIMIT = 100;
/** 200,000 rows: a window's listing that reads more has not reached its start (README: backfill). */
const DEFAULT_MAX_PAGES = 2_000;

/** A listed row that does not have the documented shape, skipped. */
export interface InvalidRow {
  url: string;
  offset: number;
  id?: number;
  issues: string[];
}

export interface PageOptions {
  limit?: number;
  offset?: number;
  /** The most pages a listing reads before it stops with ListingTooLongError. */
  maxPages?: number;
  onInvalidRow?: (row: InvalidRow) => void;
}

/** What identifies a row that failed validation: its id if it has one, else its content. */
function identify(raw: unknown): number | string {
  const id = raw && typeof raw === 'object' ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'number' ? id : `row:${JSON.stringify(raw).slice(0, 500)}`;
}

/** Artifact paths are relative to target/ and may be nested; nothing that could escape it. */
export function checkArtifactPath(path: string): string[] {
  const problem = relativePathProblem(path);
  if (problem)
    throw new InputError(`Invalid artifact path "${path.replace(/\0/g, '\\0')}"`, [
      `a relative path inside target/, such as manifest.json or compiled/x.sql: ${problem}`,
    ]);
  return path.split('/');
}

export class DbtCloudClient {
  readonly accountId: number;
  readonly transport: Transport;
  private readonly clock: Clock;

  constructor(options: DbtCloudClientOptions) {
    this.accountId = options.accountId;
    this.transport = new Transport(options);
    this.clock = options.clock ?? realClock;
  }

  get host(): string {
    return this.transport.host;
  }

  /** An account path of the v2 API, or of v3 (webhooks) when `rest` starts with `v3:`. */
  private path(rest: string): string {
    return rest.startsWith('v3:')
      ? `/api/v3/accounts/${this.accountId}/${rest.slice(3)}`
      : `/api/v2/accounts/${this.accountId}/${rest}`;
  }

  private async get<T extends z.ZodType>(
    rest: string,
    schema: T,
    query?: Record<string, string | number | undefined>,
    options: { about?: Resource; deadline?: number } = {},
  ): Promise<{ parsed: z.infer<T>; url: string }> {
    const { body, url } = await this.named(options.about ?? { kind: 'account' }, () =>
      this.transport.json(this.path(rest), { query, deadline: options.deadline }),
    );
    return { parsed: validate(schema, body, url), url };
  }

  /**
   * A request whose 403 and 404 name the setting to fix: dbt Cloud answers 404 for an account, job
   * or run that does not exist and for one the token may not read (dbt-cloud-api.md: Envelope).
   */
  private async named<T>(about: Resource, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof DbtCloudHttpError) || (err.status !== 403 && err.status !== 404)) throw err;
      throw new DbtCloudRefusedError(err, refusal(err.status, about, this.accountId, this.host));
    }
  }

  /**
   * Pages through a list endpoint (offset paging, `limit` at most 100), yielding one page at a time
   * and dropping rows already seen: a list that grows while it is paged repeats rows. A row of the
   * wrong shape is skipped and reported, not fatal to the listing. Paging always ends: a full page
   * that brings nothing new (a server that ignores `offset`) is an error, and so is reading more
   * than `maxPages` pages.
   */
  private async *pages<T extends { id: number | string }>(
    rest: string,
    item: z.ZodType<T>,
    query: Record<string, string | number | undefined>,
    options: PageOptions = {},
  ): AsyncGenerator<T[], void, undefined> {
    const limit = Math.min(PAGE_LIMIT, options.limit ?? PAGE_LIMIT);
    const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
    const schema = envelope(z.array(z.unknown()));
    const seen = new Set<number | string>();
    for (let offset = options.offset ?? 0, page = 1; ; page++) {
      if (page > maxPages)
        throw new ListingTooLongError(this.transport.url(this.path(rest), query), maxPages, maxPages * limit);
      const { parsed, url } = await this.get(rest, schema, { ...query, limit, offset });
      const rows: T[] = [];
      let fresh = 0;
      parsed.data.forEach((raw, i) => {
        const result = item.safeParse(raw);
        const id: number | string = result.success ? result.data.id : identify(raw);
        if (seen.has(id)) return;
        seen.add(id);
        fresh++;
        if (result.success) rows.push(result.data);
        else
          options.onInvalidRow?.({
            url,
            offset: offset + i,
            id: typeof id === 'number' ? id : undefined,
            issues: zodIssues(result.error, 'row'),
          });
      });
      if (rows.length > 0) yield rows;
      if (fresh === 0 && parsed.data.length >= limit) throw new PagingStuckError(url, offset);
      offset += parsed.data.length;
      const total = parsed.extra?.pagination?.total_count;
      if (parsed.data.length < limit || (total !== undefined && offset >= total)) return;
    }
  }

  /** Runs, one page at a time. */
  listRuns(
    filters: ListRunsFilters = {},
    options: Omit<PageOptions, 'limit' | 'offset'> = {},
  ): AsyncGenerator<Run[], void, undefined> {
    return this.runPages(RunSchema, filters, options);
  }

  /** Runs, one page at a time, each row cut to what selecting a window needs (long listings). */
  listRunRows(
    filters: Omit<ListRunsFilters, 'include_related'> = {},
    options: Omit<PageOptions, 'limit' | 'offset'> = {},
  ): AsyncGenerator<RunRow[], void, undefined> {
    return this.runPages(RunRowSchema, filters, options);
  }

  private runPages<T extends { id: number | string }>(
    schema: z.ZodType<T>,
    filters: ListRunsFilters,
    options: Omit<PageOptions, 'limit' | 'offset'>,
  ): AsyncGenerator<T[], void, undefined> {
    return this.pages('runs/', schema, this.runQuery(filters), {
      ...options,
      limit: filters.limit,
      offset: filters.offset,
    });
  }

  private runQuery(filters: ListRunsFilters): Record<string, string | number | undefined> {
    return {
      project_id: filters.project_id,
      environment_id: filters.environment_id,
      job_definition_id: filters.job_definition_id,
      status: filters.status,
      status__in: filters.status__in ? JSON.stringify(filters.status__in) : undefined,
      order_by: filters.order_by,
      include_related: filters.include_related?.length ? JSON.stringify(filters.include_related) : undefined,
    };
  }

  async getRun(
    runId: number,
    includeRelated: readonly IncludeRelated[] = RUN_RELATED,
    deadline?: number,
  ): Promise<Run> {
    const query = includeRelated.length ? { include_related: JSON.stringify(includeRelated) } : undefined;
    const { parsed, url } = await this.get(`runs/${checkId(runId, 'run id')}/`, envelope(RunSchema), query, {
      about: { kind: 'run', id: runId },
      deadline,
    });
    if (parsed.data.id !== runId)
      throw new DbtCloudResponseError(url, `describes run ${parsed.data.id}, not run ${runId}`);
    return parsed.data;
  }

  /** The artifact list of a run. dbt Cloud ignores `step` here: this is always the last step's list. */
  async listRunArtifacts(runId: number): Promise<string[]> {
    const { parsed } = await this.get(`runs/${checkId(runId, 'run id')}/artifacts/`, ArtifactListSchema);
    return parsed.data ?? [];
  }

  /**
   * One artifact as a stream, checked as it passes (artifact-body.ts). 404 is `{found: false}`. The
   * stream fails with ArtifactIncompleteError if the body is shorter than its Content-Length, breaks
   * off, or stalls longer than the idle timeout; a `.json` artifact fails with ArtifactNotJsonError
   * when it comes as another content type or does not open a JSON value, a `.parquet` one with
   * ArtifactNotParquetError when it comes as another type or does not start with `PAR1`.
   */
  async getRunArtifact(runId: number, path: string, step?: number): Promise<ArtifactResult> {
    const segments = checkArtifactPath(path);
    if (step !== undefined) checkId(step, 'step');
    const rel = this.path(`runs/${checkId(runId, 'run id')}/artifacts/${segments.map(encodeURIComponent).join('/')}`);
    const response = await this.transport.send(rel, { query: { step }, passStatuses: [404], foreignRedirects: true });
    const url = response.url || this.transport.url(rel, { step });
    if (response.status === 404) {
      response.body?.resume();
      return { found: false, url };
    }
    const lengthHeader = response.headers.get('content-length');
    const contentLength = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
    const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
    if (!response.body) throw new DbtCloudResponseError(url, 'has no body');
    const kind = kindOfArtifact(path);
    const contentType = response.headers.get('content-type');
    const wrongType = contentTypeProblem(contentType, kind);
    if (wrongType) {
      response.body.resume();
      throw notItsKind(kind, url, wrongType);
    }
    const body = checkedBody(asReadable(response.body), {
      url,
      expectedBytes: encoded ? null : contentLength,
      idleMs: this.transport.idleTimeoutMs,
      kind,
    });
    return {
      found: true,
      url,
      body,
      contentLength: encoded ? null : contentLength,
      contentType,
    };
  }

  async listJobs(filters: ListJobsFilters = {}): Promise<Job[]> {
    const jobs: Job[] = [];
    const pages = this.pages(
      'jobs/',
      JobSchema,
      {
        project_id: filters.project_id,
        environment_id: filters.environment_id,
        state: filters.state,
        name__icontains: filters.name__icontains,
        order_by: filters.order_by,
      },
      { limit: filters.limit },
    );
    for await (const page of pages) jobs.push(...page);
    return jobs;
  }

  async getJob(jobId: number): Promise<Job> {
    const { parsed } = await this.get(`jobs/${checkId(jobId, 'job id')}/`, envelope(JobSchema), undefined, {
      about: { kind: 'job', id: jobId },
    });
    return parsed.data;
  }

  async triggerJobRun(jobId: number, options: TriggerJobRunOptions): Promise<Run> {
    const cause = options.cause.trim();
    if (!cause) throw new InputError('A job run needs a cause', ['pass --cause "why this run"']);
    if (cause.length > 255)
      throw new InputError('The cause of a job run is at most 255 characters', [`it has ${cause.length}`]);
    const body: Record<string, unknown> = { ...options, cause };
    for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
    return this.post(`jobs/${checkId(jobId, 'job id')}/run/`, body, { kind: 'job', id: jobId });
  }

  async cancelRun(runId: number): Promise<Run> {
    return this.post(`runs/${checkId(runId, 'run id')}/cancel/`, {}, { kind: 'run', id: runId });
  }

  /** Retries the job's last failed run from the point of failure. */
  async rerunJob(jobId: number): Promise<Run> {
    return this.post(`jobs/${checkId(jobId, 'job id')}/rerun/`, {}, { kind: 'job', id: jobId });
  }

  /** Polls a run until it reaches a terminal status (or one of `expected`). */
  async waitForRun(runId: number, options: WaitOptions = {}): Promise<Run> {
    const interval = options.intervalMs ?? 10_000;
    const timeout = options.timeoutMs ?? 3_600_000;
    const ends = new Set<number>([...TERMINAL_STATUSES, ...(options.expected ?? [])]);
    // The timeout bounds everything the wait does: each poll, and its retries, end by the deadline.
    const deadline = this.clock.now() + timeout;
    let last = 'not read yet';
    for (;;) {
      let run: Run;
      try {
        run = await this.getRun(runId, [], deadline);
      } catch (err) {
        if (err instanceof DeadlineError || (this.clock.now() >= deadline && err instanceof DbtCloudNetworkError))
          throw new WaitTimeoutError(runId, Math.round(timeout / 1000), last);
        throw err;
      }
      last = statusName(run.status);
      options.onPoll?.(run);
      if (ends.has(run.status)) return run;
      if (this.clock.now() + interval > deadline) throw new WaitTimeoutError(runId, Math.round(timeout / 1000), last);
      await this.clock.sleep(interval);
    }
  }

  /**
   * The newest run of a job with a status (default success), ordered by finish time; optionally the
   * newest whose git_sha is `gitSha`. Every filter is checked again on the client.
   */
  async getMostRecentRun(options: { jobId: number; status?: number; gitSha?: string }): Promise<Run | null> {
    const status = options.status ?? RunStatus.Success;
    const sha = options.gitSha?.toLowerCase();
    for await (const page of this.listRuns({
      job_definition_id: options.jobId,
      status,
      order_by: '-finished_at',
      limit: sha ? PAGE_LIMIT : 1,
    })) {
      const match = page.find(
        (run) =>
          run.job_definition_id === options.jobId &&
          run.status === status &&
          run.finished_at &&
          (!sha || (run.git_sha ?? '').toLowerCase().startsWith(sha)),
      );
      if (match) return match;
      if (!sha) return null;
    }
    return null;
  }

  // ---- webhook subscriptions (API v3) ----------------------------------------------------------

  /** Every webhook subscription of the account. */
  async listWebhookSubscriptions(): Promise<WebhookSubscription[]> {
    const all: WebhookSubscription[] = [];
    for await (const page of this.pages('v3:webhooks/subscriptions', WebhookSubscriptionSchema, {}, { maxPages: 100 }))
      all.push(...page);
    return all;
  }

  async getWebhookSubscription(id: string): Promise<WebhookSubscription> {
    const { parsed } = await this.get(
      `v3:webhooks/subscription/${checkSubscriptionId(id)}`,
      envelope(WebhookSubscriptionSchema),
    );
    return parsed.data;
  }

  /** Creates a subscription; dbt Cloud answers with its secret, this once. */
  async createWebhookSubscription(subscription: NewWebhookSubscription): Promise<WebhookSubscription> {
    const { body, url } = await this.transport.json(this.path('v3:webhooks/subscriptions'), {
      method: 'POST',
      json: { ...subscription },
    });
    return validate(envelope(WebhookSubscriptionSchema), body, url).data;
  }

  async deleteWebhookSubscription(id: string): Promise<void> {
    const response = await this.transport.send(this.path(`v3:webhooks/subscription/${checkSubscriptionId(id)}`), {
      method: 'DELETE',
    });
    response.body?.resume();
  }

  close(): void {
    this.transport.close();
  }

  private async post(rest: string, json: unknown, about: Resource): Promise<Run> {
    const { body, url } = await this.named(about, () => this.transport.json(this.path(rest), { method: 'POST', json }));
    return validate(envelope(RunSchema), body, url).data;
  }
}

/** Subscription ids are opaque (`wsu_...`); nothing that could leave the path segment. */
function checkSubscriptionId(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(id))
    throw new InputError(`Invalid webhook subscription id "${id.slice(0, 100)}"`, [
      'an id as webhook list shows it, such as wsu_12345abcde',
    ]);
  return id;
}

/** What a request is about, to name the setting when dbt Cloud refuses it. */
type Resource = { kind: 'account' } | { kind: 'job' | 'run'; id: number };

function refusal(status: number, about: Resource, accountId: number, host: string): string {
  const verb = status === 403 ? 'refuses this token' : 'knows no';
  switch (about.kind) {
    case 'account':
      return status === 403
        ? `dbt Cloud refuses this token access to account ${accountId} (403): give the token a permission set that reads runs (Job Viewer, or Job Admin for trigger-job), and check DBT_CLOUD_ACCOUNT_ID (--account-id)`
        : `dbt Cloud has no account ${accountId} that this token may read, at ${host} (404): check DBT_CLOUD_ACCOUNT_ID (--account-id), and that DBT_CLOUD_HOST (--host) is the account's access URL`;
    case 'job':
      return `dbt Cloud ${verb === 'knows no' ? `knows no job ${about.id}` : `refuses this token job ${about.id}`} in account ${accountId} (${status}): check DBT_CLOUD_JOB_ID (--job-id)${status === 403 ? ", and the token's permission set (Job Admin to trigger runs)" : ' and DBT_CLOUD_ACCOUNT_ID (--account-id)'}`;
    case 'run':
      return `dbt Cloud ${verb === 'knows no' ? `knows no run ${about.id}` : `refuses this token run ${about.id}`} in account ${accountId} (${status}): check the run id and DBT_CLOUD_ACCOUNT_ID (--account-id)`;
  }
}

function checkId(id: number, what: string): number {
  const parsed = dbtId.safeParse(id);
  if (!parsed.success) throw new InputError(`Invalid ${what} ${String(id)}`, ['a positive whole number']);
  return parsed.data;
}

function validate<T extends z.ZodType>(schema: T, body: unknown, url: string): z.infer<T> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new DbtCloudResponseError(url, 'does not have the documented shape', issues);
  }
  return result.data;
}
