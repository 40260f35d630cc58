/**
 * The three Cloud Run functions. Thin: parse the request, call lib/, map the result to a status.
 * Configuration is read once per instance; where the platform names the target (FUNCTION_TARGET),
 * a configuration that cannot serve it stops the instance at start-up with one clear message.
 */
import * as ff from '@google-cloud/functions-framework';
import { loadConfig, requireDestination, requireRunsTopic } from '../lib/config.ts';
import { ConfigError } from '../lib/errors.ts';
import { createLogger } from '../lib/log.ts';
import { createServices, handleBackfill, handleDispatchHourly, handleHarvestRun, type Reply, type Services } from '../lib/service.ts';

let services: Services | undefined;
let startupProblem: ConfigError | undefined;

try {
  const config = loadConfig(process.env);
  services = createServices(config);
  const target = process.env['FUNCTION_TARGET'];
  if (target === 'harvestRun') requireDestination(config);
  if (target === 'dispatchHourly' || target === 'backfill') requireRunsTopic(config);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  startupProblem = err;
  createLogger().error(err.message, { problems: err.problems });
  if (process.env['FUNCTION_TARGET']) throw err;
}

type Handler = (s: Services, req: ff.Request) => Promise<Reply>;

function serve(handler: Handler): ff.HttpFunction {
  return async (req, res) => {
    let reply: Reply;
    if (!services) {
      reply = { status: 500, body: { error: 'configuration', details: startupProblem?.problems ?? ['not configured'] } };
    } else {
      try {
        reply = await handler(services, req);
      } catch (err) {
        services.logger.error('unexpected failure', { error: err });
        reply = { status: 500, body: { error: 'internal error', details: [err instanceof Error ? err.message : String(err)] } };
      }
    }
    res.status(reply.status).type('application/json').send(JSON.stringify(reply.body));
  };
}

/** The body as parsed JSON, or why it is not JSON (functions-framework parses application/json). */
function jsonBody(req: ff.Request): { body?: unknown; error?: string } {
  if (typeof req.body === 'object' && req.body !== null && !Buffer.isBuffer(req.body)) return { body: req.body as unknown };
  const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : typeof req.body === 'string' ? req.body : req.rawBody?.toString('utf8') ?? '';
  if (raw.trim() === '') return { error: 'the body is empty; send JSON with Content-Type: application/json' };
  try {
    return { body: JSON.parse(raw) as unknown };
  } catch {
    return { error: 'the body is not JSON' };
  }
}

ff.http(
  'dispatchHourly',
  serve((s, req) => handleDispatchHourly(s, req.get('X-CloudScheduler-ScheduleTime') ?? undefined)),
);

ff.http(
  'backfill',
  serve((s, req) => {
    const { body, error } = jsonBody(req);
    return handleBackfill(s, req.method, body, error);
  }),
);

ff.http(
  'harvestRun',
  serve((s, req) => {
    const { body, error } = jsonBody(req);
    return handleHarvestRun(s, body, error);
  }),
);

