/**
 * alertRun: one "run stored" message per Pub/Sub push (RUN_STORED_TOPIC). Evaluates the alert rules
 * for that run and delivers its message to every configured sink, once (lib/alerts/). 200 when
 * delivered, already delivered, nothing to say, or refused by a sink (a 4xx is not retried: the log
 * says why); 503 when a sink kept failing, its secret cannot be read, or another delivery holds the
 * message, so Pub/Sub asks again later; 400 for a message that is not one (dead-lettered).
 * @module
 */
import { evaluateStoredRun, sinksOf } from '../alerts/alerting.ts';
import { deliver } from '../alerts/deliver.ts';
import { SentLedger } from '../alerts/ledger.ts';
import type { ConfigFor } from '../config/load.ts';
import { RunStoredMessageSchema } from '../core/alert.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../log.ts';
import { openStore, type Store } from '../storage/index.ts';
import { unwrapPush } from './envelope.ts';
import { failure, jsonBody, onlyPost, type CloudRequest, type Handler, type Reply } from './http.ts';

export interface AlertRunContext {
  store: Store;
  alerts: ConfigFor<'alerts'>['alerts'];
  logger: Logger;
  /** Tests: the sinks' send options (backoff). */
  send?: Parameters<typeof deliver>[0]['send'];
  pagerDutyUrl?: string;
}

export async function handleAlertRun(ctx: AlertRunContext, req: CloudRequest): Promise<Reply> {
  const refused = onlyPost(req, 'a Pub/Sub push envelope');
  if (refused) return refused;
  const read = jsonBody(req, 'a Pub/Sub push envelope');
  if ('reply' in read) return read.reply;
  const push = unwrapPush(read.body, RunStoredMessageSchema);
  const context = { messageId: push.delivery.messageId, deliveryAttempt: push.delivery.deliveryAttempt };
  if (!push.ok) {
    const what = push.stage === 'envelope' ? 'invalid push envelope' : 'invalid run stored message';
    ctx.logger.error(`${what}; it will be retried and then dead-lettered`, { ...context, details: push.details });
    return failure(400, what, push.details, { messageId: context.messageId });
  }
  const msg = push.payload;
  const log = ctx.logger.child({ runId: msg.runId, jobId: msg.jobId, ...context });
  try {
    const run = { runId: msg.runId, jobId: msg.jobId, finishedAt: new Date(msg.finishedAt) };
    const evaluated = await evaluateStoredRun(ctx.store, run, ctx.alerts, log);
    if (!evaluated) {
      log.warn('the run has no history row: no alert evaluated (alerts send --from can, once it has one)');
      return { status: 200, body: { runId: msg.runId, alerts: 0, ignored: 'no history row' } };
    }
    const report = await deliver(
      {
        ledger: new SentLedger(ctx.store),
        sinks: sinksOf(ctx.alerts, ctx.pagerDutyUrl),
        logger: log,
        maxMessages: ctx.alerts.maxMessages,
        ...(ctx.send ? { send: ctx.send } : {}),
      },
      [evaluated],
    );
    const body = {
      runId: msg.runId,
      alerts: evaluated.alerts.length,
      sent: report.sent.map((s) => s.sink),
      alreadySent: report.alreadySent,
      refused: report.refused.map((r) => ({ sink: r.sink, error: r.error })),
    };
    if (report.failed.length > 0 || report.busy.length > 0)
      return failure(
        503,
        'alerts not delivered yet; retrying',
        [
          ...report.failed.map((f) => f.error),
          ...report.busy.map((b) => `${b.sink}: another delivery holds the message until ${b.until}`),
        ],
        body,
      );
    log.info(report.refused.length > 0 ? 'alerts refused by a sink (not retried)' : 'alerts delivered', body);
    return { status: 200, body };
  } catch (err) {
    log.error('alerts not evaluated; retrying', { error: err });
    return failure(503, 'alerts not evaluated', [errorMessage(err)], { runId: msg.runId });
  }
}

export async function create(config: ConfigFor<'destination' | 'alerts'>, logger: Logger): Promise<Handler> {
  const ctx: AlertRunContext = {
    store: await openStore(config.destination, { storageApiEndpoint: config.storageApiEndpoint }),
    alerts: config.alerts,
    logger,
  };
  return (req) => handleAlertRun(ctx, req);
}
