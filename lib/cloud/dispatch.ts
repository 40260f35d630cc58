/**
 * What both dispatchers do: list a window's runs and publish one message per run.
 * @module
 */
import { errorMessage } from '../core/errors.ts';
import { messageFor } from '../core/messages.ts';
import type { RunFilter } from '../core/select.ts';
import { formatWindow, type Window } from '../core/time.ts';
import type { ConfigFor } from '../config/load.ts';
import type { DbtCloudClient } from '../dbt-cloud/client.ts';
import { connectDbtCloud } from '../harvest/connect.ts';
import { listWindowRuns, scopeOf } from '../harvest/window.ts';
import type { Logger } from '../log.ts';
import { failure, type Reply } from './http.ts';
import { PubSubRunPublisher, type RunPublisher } from './publisher.ts';

export interface DispatchDeps {
  client: DbtCloudClient;
  publisher: RunPublisher;
  filter: RunFilter;
  logger: Logger;
  now: () => number;
}

/** The real adapters of a dispatcher, built once per instance. */
export function dispatchDeps(config: ConfigFor<'dbtCloud' | 'runsTopic'>, logger: Logger): DispatchDeps {
  return {
    client: connectDbtCloud(config.dbtCloud, { logger, userAgent: 'dbt-cloud-harvester-function' }),
    publisher: new PubSubRunPublisher(config.runsTopic),
    filter: scopeOf(config),
    logger,
    now: Date.now,
  };
}

export async function dispatchWindow(deps: DispatchDeps, window: Window, source: 'hourly' | 'backfill', options: { jobIds?: number[]; dryRun?: boolean } = {}): Promise<Reply> {
  const w = formatWindow(window);
  const log = deps.logger.child({ window: w });
  let runs: Awaited<ReturnType<typeof listWindowRuns>> | undefined;
  try {
    runs = await listWindowRuns(deps.client, window, { ...deps.filter, jobIds: options.jobIds });
    const messages = runs.map((run) => messageFor(run, window, source));
    const published = options.dryRun ? 0 : await deps.publisher.publish(messages);
    log.info(options.dryRun ? 'dry run: nothing published' : 'window dispatched', { runs: runs.length, published, source });
    return { status: 200, body: { window: w, runs: runs.length, published, ...(options.dryRun ? { dryRun: true, runIds: runs.map((r) => r.id) } : {}) } };
  } catch (err) {
    log.error('dispatch failed; the caller should retry (publishing again is harmless)', { error: err, runs: runs?.length });
    return failure(500, 'dispatch failed', [errorMessage(err)], { window: w });
  }
}
