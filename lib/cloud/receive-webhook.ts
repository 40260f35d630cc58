/**
 * receiveWebhook: dbt Cloud's signed webhook for a run that ended becomes the same run message the
 * dispatchers publish, seconds after the run, with `source: "webhook"`. The hourly dispatch stays
 * the safety net; harvestRun stores a run once whichever message comes first.
 *
 * The function is reachable without a Google identity (dbt Cloud has none), so the signature is the
 * gate: nothing is parsed, logged or published before the HMAC of the raw bytes matches. It never
 * calls dbt Cloud, and answers as soon as the message is published: dbt Cloud gives up on slow
 * answers and retries (https://docs.getdbt.com/docs/deploy/webhooks).
 * @module
 */
import type { ConfigFor } from '../config/load.ts';
import { zodIssues } from '../core/errors.ts';
import type { RunMessage } from '../core/messages.ts';
import { RunStatus } from '../core/run-model.ts';
import { outsideBecause, type Scope } from '../core/scope.ts';
import {
  RUN_END_EVENTS,
  RunEventDataSchema,
  WebhookEnvelopeSchema,
  verifyWebhookSignature,
} from '../dbt-cloud/webhooks.ts';
import type { Logger } from '../log.ts';
import { WEBHOOK_SECRET, secretFrom, type Secret } from '../secrets/secret-manager.ts';
import { failure, jsonBody, onlyPost, type CloudRequest, type Handler, type Reply } from './http.ts';
import { PubSubRunPublisher, type RunPublisher } from './publisher.ts';

export interface WebhookDeps {
  accountId: number;
  /** The signing secret: fixed, or read from Secret Manager and re-read when a signature does not match. */
  secret: Secret;
  publisher: RunPublisher;
  scope: Scope;
  logger: Logger;
  /** Events published lately, by event id: a replay is answered without publishing again. */
  published: RecentEvents;
  /** Refused deliveries, logged at most once a minute with their count. */
  refusals: Refusals;
}

/** The most event ids remembered, and for how long: a few MB at most, whatever is sent. */
export const REPLAY_MEMORY = { entries: 10_000, ms: 24 * 3_600_000 } as const;

/** A bounded memory of recent events (oldest forgotten first, and after REPLAY_MEMORY.ms). */
export class RecentEvents {
  private readonly entries = new Map<string, { runId: number; at: number }>();
  private readonly now: () => number;
  constructor(now: () => number = Date.now) {
    this.now = now;
  }
  get(eventId: string): { runId: number } | undefined {
    const e = this.entries.get(eventId);
    if (e && this.now() - e.at > REPLAY_MEMORY.ms) {
      this.entries.delete(eventId);
      return undefined;
    }
    return e;
  }
  set(eventId: string, value: { runId: number }): void {
    this.entries.delete(eventId);
    this.entries.set(eventId, { ...value, at: this.now() });
    while (this.entries.size > REPLAY_MEMORY.entries) this.entries.delete(this.entries.keys().next().value!);
  }
}

/**
 * Refused deliveries counted, and logged at most once a minute (a scan of the public endpoint
 * would otherwise write a line per request): the first refusal at once, then a count.
 */
export class Refusals {
  private readonly logger: Logger;
  private readonly now: () => number;
  private counts: Record<string, number> = {};
  private lastLog = Number.NEGATIVE_INFINITY;
  constructor(logger: Logger, now: () => number = Date.now) {
    this.logger = logger;
    this.now = now;
  }
  note(reason: string): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    if (this.now() - this.lastLog < 60_000) return;
    this.lastLog = this.now();
    this.logger.warn('webhook deliveries refused (bad or missing signature); nothing published', {
      refused: this.counts,
    });
    this.counts = {};
  }
}

/** What a failing delivery is answered, naming nothing internal (the log has the details). */
const RETRY_LATER = 'the delivery cannot be handled now; dbt Cloud retries it';

/** The signature header's problem, before any secret is read: missing, or not 64 hex digits. */
export function signatureHeaderProblem(authorization: string | undefined): 'missing' | 'malformed' | null {
  const text = (authorization ?? '').trim();
  if (text === '') return 'missing';
  return /^(?:sha256=)?[0-9a-fA-F]{64}$/i.test(text) ? null : 'malformed';
}

/** A signature that does not match re-reads the secret at most this often (rotation, not attack). */
const REFRESH_AFTER_MS = 30_000;

const REFUSALS = {
  missing:
    'no Authorization header: dbt Cloud signs every delivery with the subscription secret; other callers are refused',
  malformed: 'the Authorization header is not a hex HMAC-SHA256 (64 hex digits)',
  mismatch:
    "the signature does not match the body under this deployment's webhook secret (was the body changed, or the secret rotated without updating DBT_CLOUD_WEBHOOK_SECRET?)",
} as const;

const ignored = (reason: string, extra: Record<string, unknown> = {}): Reply => ({
  status: 200,
  body: { ignored: true, reason, ...extra },
});

export async function handleWebhook(deps: WebhookDeps, req: CloudRequest): Promise<Reply> {
  const log = deps.logger;
  const refused = onlyPost(req, 'a dbt Cloud webhook event');
  if (refused) return refused;

  // The header first: a caller without a signature costs no Secret Manager read and no parse.
  const authorization = req.header('authorization');
  const form = signatureHeaderProblem(authorization);
  if (form) {
    deps.refusals.note(form);
    return failure(401, 'unauthorized', [REFUSALS[form]]);
  }
  let secret: string;
  try {
    secret = await deps.secret.get();
  } catch (err) {
    // The details (the secret's name, the project) go to the log, never to the caller.
    log.error('webhook secret unavailable; dbt Cloud will retry the delivery', { error: err });
    return failure(503, 'not ready', [RETRY_LATER]);
  }
  let check = verifyWebhookSignature(secret, req.rawBody, authorization);
  if (!check.ok && check.reason === 'mismatch') {
    const again = await deps.secret.refresh(REFRESH_AFTER_MS).catch(() => secret);
    if (again !== secret) check = verifyWebhookSignature(again, req.rawBody, authorization);
  }
  if (!check.ok) {
    deps.refusals.note(check.reason);
    return failure(401, 'unauthorized', [REFUSALS[check.reason]]);
  }

  const read = jsonBody(req, 'a dbt Cloud webhook event', { typeOptional: true });
  if ('reply' in read) {
    log.warn('signed webhook delivery refused', { status: read.reply.status, details: read.reply.body['details'] });
    return read.reply;
  }
  const event = WebhookEnvelopeSchema.safeParse(read.body);
  if (!event.success) {
    const details = zodIssues(event.error);
    log.error(
      'signed webhook event does not have the documented shape; nothing published (the hourly dispatch will still find its run)',
      { details },
    );
    return failure(400, 'invalid webhook event', details);
  }
  const { eventType, eventId, accountId } = event.data;
  const eventLog = log.child({ eventId, eventType });
  // A signed event delivered again (its answer was lost, or it was replayed): published once.
  const seen = eventId !== undefined ? deps.published.get(eventId) : undefined;
  if (seen) return { status: 200, body: { published: 0, duplicate: true, runId: seen.runId } };
  if (!(RUN_END_EVENTS as readonly string[]).includes(eventType))
    return ignored(`${eventType} events are not harvested; only ${RUN_END_EVENTS.join(' and ')}`);
  if (accountId !== deps.accountId) {
    eventLog.warn('webhook event for another account ignored', { accountId, configured: deps.accountId });
    return ignored(`the event is for account ${accountId}, this deployment harvests account ${deps.accountId}`);
  }
  const data = RunEventDataSchema.safeParse(event.data.data);
  if (!data.success) {
    const details = zodIssues(data.error, 'data');
    eventLog.error(
      'signed run event does not have the documented shape; nothing published (the hourly dispatch will still find its run)',
      { details },
    );
    return failure(400, 'invalid webhook event', details);
  }
  const run = data.data;
  const cancelled =
    run.runStatusCode === RunStatus.Cancelled || (run.runStatusCode == null && /^cancel/i.test(run.runStatus ?? ''));
  const outside = outsideBecause(deps.scope, {
    jobId: run.jobId,
    projectId: run.projectId,
    environmentId: run.environmentId,
    cancelled,
  });
  if (outside) return ignored(`run ${run.runId} ${outside}`, { runId: run.runId, jobId: run.jobId });

  // The finish time is a hint for the harvest (where to look for a stored run): only a plausible one.
  const finished = run.runFinishedAt ? run.runFinishedAt.at.getTime() : Number.NaN;
  const plausible = finished > Date.UTC(2016, 0, 1) && finished < Date.now() + 86_400_000;
  const message: RunMessage = {
    runId: run.runId,
    jobId: run.jobId,
    ...(run.runFinishedAt && plausible ? { finishedAt: run.runFinishedAt } : {}),
    source: 'webhook',
  };
  try {
    await deps.publisher.publish([message]);
  } catch (err) {
    eventLog.error('run message not published; dbt Cloud will retry the delivery', { runId: run.runId, error: err });
    return failure(503, 'not published', [RETRY_LATER], { runId: run.runId });
  }
  if (eventId !== undefined) deps.published.set(eventId, { runId: run.runId });
  eventLog.info('run published from webhook', { runId: run.runId, jobId: run.jobId, finishedAt: message.finishedAt });
  return { status: 200, body: { published: 1, runId: run.runId, jobId: run.jobId } };
}

export async function create(
  config: ConfigFor<'accountId' | 'webhookSecret' | 'runsTopic'>,
  logger: Logger,
): Promise<Handler> {
  const deps: WebhookDeps = {
    accountId: config.accountId,
    secret: secretFrom(config.webhookSecret, WEBHOOK_SECRET),
    publisher: new PubSubRunPublisher(config.runsTopic),
    scope: config.scope,
    logger,
    published: new RecentEvents(),
    refusals: new Refusals(logger),
  };
  return (req) => handleWebhook(deps, req);
}
