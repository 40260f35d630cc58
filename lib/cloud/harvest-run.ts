/**
 * harvestRun: one run per Pub/Sub push. The outcome maps to a status: 2xx acknowledges (stored or
 * already stored), anything else has Pub/Sub retry and, after its attempts, dead-letter.
 * @module
 */
import type { ConfigFor } from '../config/load.ts';
import { errorMessage } from '../core/errors.ts';
import { RunMessageSchema } from '../core/messages.ts';
import { connectDbtCloud } from '../harvest/connect.ts';
import { harvestRun, type HarvestContext, type RunOutcome } from '../harvest/run-harvest.ts';
import { FactsGate } from '../harvest/facts-gate.ts';
import type { Logger } from '../log.ts';
import { openStore } from '../storage/index.ts';
import { unwrapPush } from './envelope.ts';
import { failure, jsonBody, onlyPost, type CloudRequest, type Handler, type Reply } from './http.ts';
import { runStoredMessage, runStoredNotifier, type RunStoredNotifier } from './run-stored.ts';

type HarvestRunContext = HarvestContext & { logger: Logger; runStored?: RunStoredNotifier };

export async function handleHarvestRun(ctx: HarvestRunContext, req: CloudRequest): Promise<Reply> {
  const log = ctx.logger;
  const refused = onlyPost(req, 'a Pub/Sub push envelope');
  if (refused) return refused;
  const read = jsonBody(req, 'a Pub/Sub push envelope');
  if ('reply' in read) {
    log.error('push request refused; Pub/Sub will retry it and then dead-letter it', {
      status: read.reply.status,
      details: read.reply.body['details'],
    });
    return failure(read.reply.status, 'invalid push request', read.reply.body['details'] as string[]);
  }
  const push = unwrapPush(read.body, RunMessageSchema);
  const context = { messageId: push.delivery.messageId, deliveryAttempt: push.delivery.deliveryAttempt };
  if (!push.ok) {
    const what = push.stage === 'envelope' ? 'invalid push envelope' : 'invalid run message';
    log.error(`${what}; it will be retried and then dead-lettered`, { ...context, details: push.details });
    return failure(400, what, push.details, { messageId: context.messageId });
  }
  const msg = push.payload;
  const runLog = log.child({ runId: msg.runId, jobId: msg.jobId, window: msg.window, ...context });
  runLog.debug('push delivery received');
  let outcome: RunOutcome;
  try {
    outcome = await harvestRun(
      msg.runId,
      { ...ctx, logger: runLog },
      msg.jobId !== undefined && msg.finishedAt ? { jobId: msg.jobId, finishedAt: msg.finishedAt.at } : undefined,
    );
  } catch (err) {
    runLog.error('harvest crashed', { error: err });
    return failure(500, 'harvest failed', [errorMessage(err)], { runId: msg.runId });
  }
  const stored = ctx.runStored ? runStoredMessage(outcome, (ctx.now ?? Date.now)()) : null;
  if (stored && ctx.runStored) {
    try {
      await ctx.runStored.notify(stored);
    } catch (err) {
      runLog.error('run stored, but alertRun could not be told; retrying (the run is not harvested again)', {
        error: err,
      });
      return failure(503, 'run stored, not published to RUN_STORED_TOPIC', [errorMessage(err)], { runId: msg.runId });
    }
  }
  switch (outcome.status) {
    case 'stored':
      // harvestRun has logged "run stored" with this delivery's context: one outcome line per delivery.
      return { status: 200, body: { ...outcome } };
    case 'skipped':
      runLog.info(`run skipped: ${outcome.reason}`);
      return { status: 200, body: { ...outcome } };
    case 'not-ready':
      runLog.warn(`run not ready; retrying later: ${outcome.reason}`);
      return { status: 503, body: { ...outcome } };
    case 'failed':
      runLog.error(`run not stored: ${outcome.error}`, { retriable: outcome.retriable });
      return { status: outcome.retriable ? 502 : 422, body: { ...outcome } };
  }
}

export async function create(config: ConfigFor<'dbtCloud' | 'destination'>, logger: Logger): Promise<Handler> {
  const ctx = {
    client: connectDbtCloud(config.dbtCloud, { logger, userAgent: 'dbt-cloud-harvester-function' }),
    store: await openStore(config.destination, { storageApiEndpoint: config.storageApiEndpoint }),
    artifacts: config.artifacts,
    coverage: config.coverage,
    scope: config.scope,
    logger,
    // An instance serving several deliveries at once (harvest_concurrency) reads big facts one run at a time.
    factsGate: new FactsGate(),
    ...(config.runStoredTopic ? { runStored: runStoredNotifier(config.runStoredTopic) } : {}),
  };
  return (req) => handleHarvestRun(ctx, req);
}
