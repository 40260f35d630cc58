/**
 * What both dispatchers do: list a window's runs and publish one message per run.
 * @module
 */
import { errorMessage } from '../core/errors.ts';
import { messageFor, type RunMessage } from '../core/messages.ts';
import { narrowToJobs, type Scope } from '../core/scope.ts';
import { formatWindow, type Window } from '../core/time.ts';
import type { ConfigFor } from '../config/load.ts';
import type { DbtCloudClient } from '../dbt-cloud/client.ts';
import { connectDbtCloud } from '../harvest/connect.ts';
import { listWindowRuns } from '../harvest/window.ts';
import type { Logger } from '../log.ts';
import { failure, type Reply } from './http.ts';
import { PubSubRunPublisher, type RunPublisher } from './publisher.ts';

export interface DispatchDeps {
  client: DbtCloudClient;
  publisher: RunPublisher;
  scope: Scope;
  logger: Logger;
  now: () => number;
}

/** The real adapters of a dispatcher, built once per instance. */
export function dispatchDeps(config: ConfigFor<'dbtCloud' | 'runsTopic'>, logger: Logger): DispatchDeps {
  return {
    client: connectDbtCloud(config.dbtCloud, { logger, userAgent: 'dbt-cloud-harvester-function' }),
    publisher: new PubSubRunPublisher(config.runsTopic),
    scope: config.scope,
    logger,
    now: Date.now,
  };
}

/** Messages published at a time: the publisher holds one batch, whatever the window. */
const BATCH = 500;
/** A dry run lists at most this many run ids in its answer (it counts them all). */
const MAX_DRY_RUN_IDS = 10_000;

/**
 * Streams the window's runs from their pages into batched, awaited publishes: memory holds one page
 * and one batch, however long the window.
 */
export async function dispatchWindow(
  deps: DispatchDeps,
  window: Window,
  source: 'hourly' | 'backfill',
  options: { jobIds?: number[]; dryRun?: boolean } = {},
): Promise<Reply> {
  const w = formatWindow(window);
  const log = deps.logger.child({ window: w });
  let runs = 0;
  let published = 0;
  let invalidRows = 0;
  const runIds: number[] = [];
  let batch: RunMessage[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    published += await deps.publisher.publish(batch);
    batch = [];
  };
  try {
    // A backfill's jobs narrow the configured scope; they never widen it.
    const scope = narrowToJobs(deps.scope, options.jobIds);
    if (!scope)
      return {
        status: 200,
        body: { window: w, runs: 0, published: 0, note: 'none of the requested jobs is among HARVEST_JOB_IDS' },
      };
    const listing = listWindowRuns(deps.client, window, scope, {
      onInvalidRow: (row) => {
        invalidRows++;
        log.warn('a listed run does not have the documented shape; skipped', { ...row, runId: row.id });
      },
    });
    for await (const run of listing) {
      runs++;
      if (options.dryRun) {
        if (runIds.length < MAX_DRY_RUN_IDS) runIds.push(run.id);
        continue;
      }
      batch.push(messageFor(run, window, source));
      if (batch.length >= BATCH) await flush();
    }
    await flush();
    log.info(options.dryRun ? 'dry run: nothing published' : 'window dispatched', {
      runs,
      published,
      invalidRows,
      source,
    });
    const counts = { window: w, runs, published, ...(invalidRows > 0 ? { invalidRows } : {}) };
    return {
      status: 200,
      body: options.dryRun
        ? { ...counts, dryRun: true, runIds, ...(runs > runIds.length ? { runIdsTruncated: true } : {}) }
        : counts,
    };
  } catch (err) {
    log.error('dispatch failed; the caller should retry (publishing again is harmless)', {
      error: err,
      runs,
      published,
    });
    return failure(500, 'dispatch failed', [errorMessage(err)], { window: w, runs, published });
  }
}
