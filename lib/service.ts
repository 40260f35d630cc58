import { z } from 'zod';
import { DbtCloudClient } from './dbt-cloud/client.ts';
import { requireDestination, requireRunsTopic, type Config } from './config.ts';
import { ConfigError, errorMessage } from './errors.ts';
import { harvestRun, listWindowRuns, type HarvestContext, type RunOutcome } from './harvest.ts';
import { createLogger, redact, type Logger } from './log.ts';
import { PushEnvelopeSchema, RunMessageSchema, decodeBase64, issuesOf } from './messages.ts';
import { PubSubRunPublisher, messagesFor, type RunPublisher } from './publisher.ts';
import { sinkFor } from './sinks/index.ts';
import type { RunFilter } from './core/select.ts';
import { formatWindow, hourlyWindow, tryParseTimestamp, type Window } from './time.ts';

/**
 * What the three functions do, apart from HTTP plumbing: each takes a parsed request and answers a
 * status and a JSON body. Dependencies come in through `Services`, built once per instance.
 */
export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

export interface Services {
  config: Config;
  logger: Logger;
  client: () => DbtCloudClient;
  publisher: () => RunPublisher;
  harvest: () => HarvestContext;
  now: () => number;
}

export function createServices(config: Config, overrides: Partial<Services> = {}): Services {
  redact(config.token);
  const logger = overrides.logger ?? createLogger({ level: config.logLevel });
  let client: DbtCloudClient | undefined;
  let publisher: RunPublisher | undefined;
  let harvest: HarvestContext | undefined;
  const getClient = (): DbtCloudClient =>
    (client ??= new DbtCloudClient({ baseUrl: config.baseUrl, accountId: config.accountId, token: config.token, timeoutMs: config.timeoutMs, requestsPerMinute: config.requestsPerMinute, logger, userAgent: 'dbt-cloud-harvester-function' }));
  return {
    config,
    logger,
    now: () => Date.now(),
    client: getClient,
    publisher: () => (publisher ??= new PubSubRunPublisher(requireRunsTopic(config))),
    harvest: () =>
      (harvest ??= {
        client: getClient(),
        sink: sinkFor(requireDestination(config), { storageApiEndpoint: config.storageApiEndpoint }),
        artifacts: config.artifacts,
        filter: filterOf(config),
        logger,
      }),
    ...overrides,
  };
}

function filterOf(config: Config, jobIds?: number[]): RunFilter {
  return { projectId: config.projectId, environmentId: config.environmentId, includeCancelled: config.includeCancelled, jobIds };
}

const configFailure = (err: unknown): Reply | null =>
  err instanceof ConfigError ? { status: 500, body: { error: 'configuration', details: err.problems } } : null;

/** Lists the window's runs and publishes one message per run. */
async function dispatch(services: Services, window: Window, source: 'hourly' | 'backfill', jobIds: number[] | undefined, dryRun: boolean): Promise<Reply> {
  const w = formatWindow(window);
  const log = services.logger.child({ window: w });
  let runs: Awaited<ReturnType<typeof listWindowRuns>> | undefined;
  try {
    const publisher = dryRun ? undefined : services.publisher();
    runs = await listWindowRuns(services.client(), window, filterOf(services.config, jobIds));
    const messages = messagesFor(runs, window, source);
    const published = publisher ? await publisher.publish(messages) : 0;
    log.info(dryRun ? 'dry run: nothing published' : 'window dispatched', { runs: runs.length, published, source });
    return { status: 200, body: { window: w, runs: runs.length, published, ...(dryRun ? { dryRun: true, runIds: runs.map((r) => r.id) } : {}) } };
  } catch (err) {
    const config = configFailure(err);
    if (config) {
      log.error('configuration incomplete', { details: config.body['details'] });
      return config;
    }
    log.error('dispatch failed; the caller should retry (publishing again is harmless)', { error: err, runs: runs?.length });
    return { status: 500, body: { error: 'dispatch failed', details: [errorMessage(err)], window: w } };
  }
}

// ---- dispatchHourly ------------------------------------------------------------------------------

export async function handleDispatchHourly(services: Services, scheduleTime: string | undefined): Promise<Reply> {
  let t: Date;
  if (scheduleTime !== undefined && scheduleTime !== '') {
    const parsed = tryParseTimestamp(scheduleTime);
    if (!parsed) return { status: 400, body: { error: 'invalid X-CloudScheduler-ScheduleTime', details: [`"${scheduleTime.slice(0, 64)}" is not an RFC 3339 time`] } };
    t = parsed;
  } else {
    t = new Date(services.now());
  }
  return dispatch(services, hourlyWindow(t), 'hourly', undefined, false);
}

// ---- backfill ----------------------------------------------------------------------------------

const time = z.string().refine((s) => tryParseTimestamp(s) !== null, 'must be an ISO-8601 time such as 2022-06-01T00:00:00Z');

export const BackfillSchema = z
  .object({
    start: time,
    end: time,
    jobIds: z.array(z.number().int().positive().refine(Number.isSafeInteger)).max(1000).optional(),
    dryRun: z.boolean().optional(),
  })
  .strict();

export async function handleBackfill(services: Services, method: string, body: unknown, bodyError?: string): Promise<Reply> {
  if (method !== 'POST') return { status: 405, body: { error: 'method not allowed', details: ['use POST with a JSON body {start, end, jobIds?, dryRun?}'] } };
  if (bodyError) return { status: 400, body: { error: 'invalid body', details: [bodyError] } };
  const parsed = BackfillSchema.safeParse(body);
  if (!parsed.success) return { status: 400, body: { error: 'invalid backfill request', details: issuesOf(parsed.error) } };
  const start = tryParseTimestamp(parsed.data.start)!;
  const end = tryParseTimestamp(parsed.data.end)!;
  const details: string[] = [];
  if (start.getTime() >= end.getTime()) details.push(`start (${start.toISOString()}) must be before end (${end.toISOString()})`);
  const maxDays = services.config.backfillMaxDays;
  if (end.getTime() - start.getTime() > maxDays * 86_400_000) details.push(`the window is longer than ${maxDays} days (BACKFILL_MAX_DAYS); split it`);
  if (details.length > 0) return { status: 400, body: { error: 'invalid backfill request', details } };
  return dispatch(services, { start, end }, 'backfill', parsed.data.jobIds, parsed.data.dryRun ?? false);
}

// ---- harvestRun ----------------------------------------------------------------------------------

/** Maps a push delivery to a harvest and the outcome to a status: 2xx acknowledges, others retry. */
export async function handleHarvestRun(services: Services, body: unknown, bodyError?: string): Promise<Reply> {
  const log = services.logger;
  if (bodyError) {
    log.error('push request is not JSON; it will be retried and then dead-lettered', { error: bodyError });
    return { status: 400, body: { error: 'invalid push request', details: [bodyError] } };
  }
  const envelope = PushEnvelopeSchema.safeParse(body);
  if (!envelope.success) {
    log.error('invalid push envelope; it will be retried and then dead-lettered', { details: issuesOf(envelope.error) });
    return { status: 400, body: { error: 'invalid push envelope', details: issuesOf(envelope.error) } };
  }
  const message = envelope.data.message;
  const messageId = message.messageId ?? message.message_id;
  const context = { messageId, deliveryAttempt: envelope.data.deliveryAttempt ?? undefined };
  const decoded = decodeBase64(message.data);
  let payload: unknown;
  let problem: string | undefined;
  if (!decoded) problem = 'message.data is not base64';
  else {
    try {
      payload = JSON.parse(decoded.toString('utf8'));
    } catch {
      problem = 'message.data is not base64-encoded JSON';
    }
  }
  const parsed = RunMessageSchema.safeParse(payload);
  if (problem || !parsed.success) {
    const details = problem ? [problem] : issuesOf(parsed.error!);
    log.error('invalid run message; it will be retried and then dead-lettered', { ...context, details });
    return { status: 400, body: { error: 'invalid run message', details, messageId } };
  }
  const msg = parsed.data;
  const runLog = log.child({ runId: msg.runId, jobId: msg.jobId, window: msg.window, ...context });
  runLog.debug('push delivery received');
  let outcome: RunOutcome;
  try {
    const ctx = services.harvest();
    outcome = await harvestRun(msg.runId, { ...ctx, logger: runLog }, msg.jobId !== undefined && msg.finishedAt ? { jobId: msg.jobId, finishedAt: msg.finishedAt } : undefined);
  } catch (err) {
    const config = configFailure(err);
    if (config) {
      runLog.error('configuration incomplete', { details: config.body['details'] });
      return config;
    }
    runLog.error('harvest crashed', { error: err });
    return { status: 500, body: { error: 'harvest failed', details: [errorMessage(err)], runId: msg.runId } };
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
