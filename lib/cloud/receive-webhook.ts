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
import { errorMessage, zodIssues } from '../core/errors.ts';
import type { RunMessage } from '../core/messages.ts';
import { RunStatus } from '../core/run.ts';
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

  let secret: string;
  try {
    secret = await deps.secret.get();
  } catch (err) {
    log.error('webhook secret unavailable; dbt Cloud will retry the delivery', { error: err });
    return failure(503, 'webhook secret unavailable', [errorMessage(err)]);
  }
  const authorization = req.header('authorization');
  let check = verifyWebhookSignature(secret, req.rawBody, authorization);
  if (!check.ok && check.reason === 'mismatch') {
    const again = await deps.secret.refresh(REFRESH_AFTER_MS).catch(() => secret);
    if (again !== secret) check = verifyWebhookSignature(again, req.rawBody, authorization);
  }
  if (!check.ok) {
    log.warn('webhook delivery refused: bad signature; nothing published', {
      reason: check.reason,
      bytes: req.rawBody.length,
    });
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

  const message: RunMessage = {
    runId: run.runId,
    jobId: run.jobId,
    ...(run.runFinishedAt ? { finishedAt: run.runFinishedAt } : {}),
    source: 'webhook',
  };
  try {
    await deps.publisher.publish([message]);
  } catch (err) {
    eventLog.error('run message not published; dbt Cloud will retry the delivery', { runId: run.runId, error: err });
    return failure(503, 'not published', [errorMessage(err)], { runId: run.runId });
  }
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
  };
  return (req) => handleWebhook(deps, req);
}
