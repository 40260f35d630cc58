/**
 * Delivery: the alerts of evaluated runs, as messages, to every configured sink, each message once
 * (ledger.ts). A run already sent to a sink is left out before messages are planned, so a second
 * delivery over the same runs sends nothing, and a folded digest is the same digest when retried.
 * @module
 */
import type { Alert } from '../core/alert.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../log.ts';
import { planMessages, runKey, type AlertMessage } from './digest.ts';
import type { SentLedger } from './ledger.ts';
import type { RunEvidence } from './rules.ts';
import { sendRequest, type SendOptions } from './sink-http.ts';
import type { AlertSink, SinkName } from './sinks.ts';

export interface DeliveryContext {
  ledger: SentLedger;
  sinks: readonly AlertSink[];
  logger: Logger;
  /** Messages a sink is sent in one delivery at most; past it, the rest is one digest. */
  maxMessages: number;
  send?: SendOptions;
}

export interface Evaluated {
  evidence: RunEvidence;
  alerts: Alert[];
}

interface Outcome {
  sink: SinkName;
  key: string;
  runIds: number[];
}

export interface DeliveryReport {
  sent: (Outcome & { alerts: number })[];
  /** Messages another delivery had sent already. */
  alreadySent: number;
  /** Messages another sender is sending now (its lease runs until `until`). */
  busy: (Outcome & { until: string })[];
  /** The sink refused them (4xx): not retried. */
  refused: (Outcome & { error: string })[];
  /** The sink kept failing (5xx, timeouts): to be delivered again. */
  failed: (Outcome & { error: string })[];
}

/** Runs a sink has not been sent yet: one list of its records for many runs, one lookup each for a few. */
async function unsent(ctx: DeliveryContext, sink: SinkName, evaluated: readonly Evaluated[]): Promise<Evaluated[]> {
  if (evaluated.length > 20) {
    const sent = await ctx.ledger.sentKeys(sink);
    return evaluated.filter((e) => !sent.has(runKey(e.evidence.row.runId)));
  }
  const out: Evaluated[] = [];
  for (const e of evaluated) if (!(await ctx.ledger.isSent(sink, runKey(e.evidence.row.runId)))) out.push(e);
  return out;
}

export async function deliver(ctx: DeliveryContext, evaluated: readonly Evaluated[]): Promise<DeliveryReport> {
  const report: DeliveryReport = { sent: [], alreadySent: 0, busy: [], refused: [], failed: [] };
  for (const sink of ctx.sinks) {
    const pending = await unsent(ctx, sink.name, evaluated);
    report.alreadySent += evaluated.length - pending.length;
    for (const message of planMessages(pending, ctx.maxMessages)) await deliverOne(ctx, sink, message, report);
  }
  return report;
}

async function deliverOne(
  ctx: DeliveryContext,
  sink: AlertSink,
  message: AlertMessage,
  report: DeliveryReport,
): Promise<void> {
  const outcome: Outcome = { sink: sink.name, key: message.key, runIds: message.runs.map((r) => r.runId) };
  const log = ctx.logger.child({ sink: sink.name, key: message.key, runId: outcome.runIds[0] });
  let request: Awaited<ReturnType<AlertSink['render']>>;
  try {
    request = await sink.render(message);
  } catch (err) {
    log.error('alert message not sent: its sink is not readable', { error: errorMessage(err) });
    report.failed.push({ ...outcome, error: errorMessage(err) });
    return;
  }
  if (!request) return;
  const claim = await ctx.ledger.claim(sink.name, message.key);
  if (claim.status === 'sent') {
    report.alreadySent++;
    return;
  }
  if (claim.status === 'busy') {
    log.warn('alert message is being sent by another process; left to it', { until: claim.until });
    report.busy.push({ ...outcome, until: claim.until });
    return;
  }
  const result = await sendRequest(request, {
    ...ctx.send,
    onRetry: (what, attempt, delayMs) => log.warn('alert sink failed; retrying', { what, attempt, delayMs }),
  });
  if (result.ok) {
    const covered = message.runs.length > 1 ? outcome.runIds.map(runKey) : [];
    await ctx.ledger.markSent(
      sink.name,
      message.key,
      { runIds: outcome.runIds, alerts: message.alerts.length, status: result.status, attempts: result.attempts },
      covered,
    );
    log.info('alert message sent', { alerts: message.alerts.length, attempts: result.attempts });
    report.sent.push({ ...outcome, alerts: message.alerts.length });
    return;
  }
  await ctx.ledger.release(sink.name, message.key, claim.attempt, result.error);
  const error = `${sink.name} ${result.error}`;
  if (result.retriable) {
    log.error('alert message not sent: the sink kept failing; it will be sent by the next delivery', { error });
    report.failed.push({ ...outcome, error });
  } else {
    log.error('alert message refused by the sink; not retried (check the sink URL or key)', { error });
    report.refused.push({ ...outcome, error });
  }
}
