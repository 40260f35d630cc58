/**
 * Harvesting a window: list its runs (pages by finish time, selected and checked on the client)
 * and harvest each with bounded concurrency.
 * @module
 */
import type { RunRow } from '../core/run-model.ts';
import { WHOLE_ACCOUNT, type Scope } from '../core/scope.ts';
import { selectRuns } from '../core/select.ts';
import { HarvesterError, errorMessage } from '../core/errors.ts';
import { drain } from '../core/pool.ts';
import { formatWindow, type Window } from '../core/time.ts';
import type { DbtCloudClient, InvalidRow } from '../dbt-cloud/client.ts';
import { FactsGate } from './facts-gate.ts';
import { harvestRun, type HarvestContext, type RunSource } from './run-harvest.ts';

export interface ListingOptions {
  /** A listed row that does not have the documented shape: skipped, and reported here. */
  onInvalidRow?: (row: InvalidRow) => void;
}

/**
 * The runs of a window, as the dispatchers and the CLI select them: yielded as their pages arrive,
 * so that memory does not grow with the window.
 */
export function listWindowRuns(
  client: Pick<DbtCloudClient, 'listRunRows'>,
  window: Window,
  scope: Scope,
  options: ListingOptions = {},
): AsyncGenerator<RunRow, void, undefined> {
  const jobIds = scope.jobIds ?? [];
  const pages = client.listRunRows(
    {
      project_id: scope.projectId,
      environment_id: scope.environmentId,
      job_definition_id: jobIds.length === 1 ? jobIds[0] : undefined,
      order_by: '-finished_at',
      limit: 100,
    },
    { onInvalidRow: options.onInvalidRow },
  );
  return selectRuns(pages, window, scope);
}

export interface WindowSummary {
  window: { start: string; end: string };
  runs: number;
  stored: number;
  skipped: number;
  notReady: number;
  failed: number;
  files: number;
  bytes: number;
  /** Artifacts transferred again whole after a body broke off or the sink failed. */
  fileRetries: number;
  failures: { runId: number; jobId?: number; error: string }[];
  notReadyRuns: { runId: number; reason: string }[];
  /** Listed rows that do not have the documented shape, skipped (the first few are in invalidRowDetails). */
  invalidRows: number;
  invalidRowDetails: InvalidRow[];
  /** Why the listing stopped before the window's end, if it did: the runs after it were not seen. */
  listingError?: string;
}

export interface WindowOptions {
  concurrency: number;
  onProgress?: (done: number, total: number, summary: WindowSummary) => void;
}

export async function harvestWindow(
  window: Window,
  ctx: HarvestContext & { client: RunSource & Pick<DbtCloudClient, 'listRunRows'> },
  options: WindowOptions,
): Promise<WindowSummary> {
  const summary: WindowSummary = {
    window: formatWindow(window),
    runs: 0,
    stored: 0,
    skipped: 0,
    notReady: 0,
    failed: 0,
    files: 0,
    bytes: 0,
    fileRetries: 0,
    failures: [],
    notReadyRuns: [],
    invalidRows: 0,
    invalidRowDetails: [],
  };
  const stats = { fileRetries: 0 };
  // The runs harvested at once share one gate for the facts of big artifacts (facts-gate.ts).
  ctx = { ...ctx, stats, factsGate: ctx.factsGate ?? new FactsGate() };
  const runs = listWindowRuns(ctx.client, window, ctx.scope ?? WHOLE_ACCOUNT, {
    onInvalidRow: (row) => {
      summary.invalidRows++;
      if (summary.invalidRowDetails.length < 20) summary.invalidRowDetails.push(row);
    },
  });
  let done = 0;
  options.onProgress?.(0, 0, summary);
  // Runs are harvested as they are listed; a listing that fails half-way leaves those harvested.
  await drain(runs, options.concurrency, async (run) => {
    summary.runs++;
    const outcome = await harvestRun(
      run.id,
      ctx,
      run.finished_at ? { jobId: run.job_definition_id, finishedAt: run.finished_at.at } : undefined,
    );
    switch (outcome.status) {
      case 'stored':
        summary.stored++;
        summary.files += outcome.files;
        summary.bytes += outcome.bytes;
        break;
      case 'skipped':
        summary.skipped++;
        break;
      case 'not-ready':
        summary.notReady++;
        summary.notReadyRuns.push({ runId: outcome.runId, reason: outcome.reason });
        break;
      case 'failed':
        summary.failed++;
        summary.failures.push({ runId: outcome.runId, jobId: outcome.jobId, error: outcome.error });
        break;
    }
    done++;
    options.onProgress?.(done, summary.runs, summary);
  }).catch((err: unknown) => {
    // Nothing listed and a setting to fix (a wrong token, account or host): the caller says so and stops.
    if (summary.runs === 0 && err instanceof HarvesterError && err.exitCode === 2) throw err;
    summary.listingError = errorMessage(err);
  });
  summary.failures.sort((a, b) => a.runId - b.runId);
  summary.fileRetries = stats.fileRetries;
  return summary;
}
