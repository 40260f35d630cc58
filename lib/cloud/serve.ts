/**
 * Serving one function of the table under the functions framework. The instance that serves it
 * (FUNCTION_TARGET, or --target) reads its configuration at start-up, and a configuration that
 * cannot serve it stops the instance there with one clear message; the handler's module and its
 * clients load then too, and only for that function. Every answer is JSON.
 * @module
 */
import type { HttpFunction, Request } from '@google-cloud/functions-framework';
import { loadConfig, type ConfigFor, type Need } from '../config/load.ts';
import { ConfigError, errorMessage } from '../core/errors.ts';
import { createLogger, scrub, type Logger } from '../log.ts';
import type { CloudFunction } from './functions.ts';
import { failure, type CloudRequest, type Handler, type Reply } from './http.ts';
import { MAX_REQUEST_BYTES, readBodiesFirst, setBodyPolicy } from './raw-body.ts';
import { tuneForSmallInstances } from '../config/runtime.ts';

/** The target this process serves: FUNCTION_TARGET, else `--target=X` or `--target X`. */
export function servedTarget(env: Record<string, string | undefined>, argv: readonly string[]): string | undefined {
  if (env['FUNCTION_TARGET']) return env['FUNCTION_TARGET'];
  const i = argv.findIndex((a) => a === '--target' || a.startsWith('--target='));
  return i < 0 ? undefined : argv[i]!.includes('=') ? argv[i]!.slice('--target='.length) : argv[i + 1];
}

export function serve<N extends Need>(
  fn: CloudFunction<N>,
  env: Record<string, string | undefined>,
  argv: readonly string[] = process.argv,
): HttpFunction {
  readBodiesFirst();
  // The instance's function decides (one target an instance; a process serving several, the first).
  const target = servedTarget(env, argv);
  if (target === undefined || target === fn.name) tuneForSmallInstances(fn.tuning);
  let logger: Logger = createLogger();
  let ready: Promise<Handler> | undefined;
  // The configuration is read once per instance: at start-up by the instance that serves this
  // function, else (a process that registers several) at its first request.
  const start = (config?: ConfigFor<N>): Promise<Handler> => {
    ready ??= (async () => {
      const loaded = config ?? loadConfig({ env, needs: fn.needs, cloud: true });
      logger = createLogger({ level: loaded.logLevel });
      for (const warning of loaded.warnings) logger.warn(warning);
      const module = await fn.load();
      return module.create(loaded, logger);
    })();
    return ready;
  };

  const served = servedTarget(env, argv) === fn.name;
  if (served)
    setBodyPolicy({
      maxBytes: fn.maxBodyBytes ?? MAX_REQUEST_BYTES,
      ...(fn.public ? { precheck: fn.public.precheck } : {}),
    });
  if (served) {
    let config: ConfigFor<N>;
    try {
      config = loadConfig({ env, needs: fn.needs, cloud: true });
    } catch (err) {
      if (err instanceof ConfigError)
        logger.error(`${fn.name} cannot start: ${err.message}`, { problems: err.problems });
      throw err;
    }
    // Load the handler now, before the first request; a failure surfaces on that request.
    start(config).catch(() => {});
  }

  return async (req, res) => {
    let reply: Reply;
    try {
      const handler = await start();
      reply = await handler(toCloudRequest(req));
    } catch (err) {
      if (err instanceof ConfigError) {
        logger.error(`${fn.name} is not configured`, { problems: err.problems });
        // A public function names nothing internal (variables, secrets, topics) to its callers.
        reply = fn.public ? failure(500, 'not configured', []) : failure(500, 'configuration', err.problems);
      } else {
        logger.error('unexpected failure', { error: err });
        reply = failure(500, 'internal error', fn.public ? [] : [errorMessage(err)]);
      }
    }
    // Whatever an answer carries (an error dbt Cloud or a proxy echoed), the token is not in it.
    res
      .status(reply.status)
      .type('application/json')
      .send(scrub(JSON.stringify(reply.body)));
  };
}

function toCloudRequest(req: Request): CloudRequest {
  return { method: req.method, header: (name) => req.get(name) ?? undefined, rawBody: req.rawBody ?? Buffer.alloc(0) };
}
