/**
 * Harvesting a window: list its runs (pages by finish time, selected and checked on the client)
 * and harvest each with bounded concurrency.
 * @module
 */
import type { Run } from '../core/run.ts';
import { selectRuns, type RunFilter } from '../core/select.ts';
import { formatWindow, type Window } from '../core/time.ts';
import type { DbtCloudClient } from '../dbt-cloud/client.ts';
import { harvestRun, type HarvestContext } from './run.ts';

/** The runs of a window, as the dispatchers and the CLI select them. */
export async function listWindowRuns(client: DbtCloudClient, window: Window, filter: RunFilter): Promise<Run[]> {
  const jobIds = filter.jobIds ?? [];
  const pages = client.listRuns({
    project_id: filter.projectId,
    environment_id: filter.environmentId,
    job_definition_id: jobIds.length === 1 ? jobIds[0] : undefined,
    order_by: '-finished_at',
    limit: 100,
  });
  return selectRuns(pages, window, filter);
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
}

export interface WindowOptions {
  concurrency: number;
  onProgress?: (done: number, total: number, summary: WindowSummary) => void;
}

export async function harvestWindow(window: Window, ctx: HarvestContext, options: WindowOptions): Promise<WindowSummary> {
  const runs = await listWindowRuns(ctx.client, window, ctx.filter ?? {});
  const summary: WindowSummary = { window: formatWindow(window), runs: runs.length, stored: 0, skipped: 0, notReady: 0, failed: 0, files: 0, bytes: 0, fileRetries: 0, failures: [], notReadyRuns: [] };
  const stats = { fileRetries: 0 };
  ctx = { ...ctx, stats };
  let done = 0;
  options.onProgress?.(0, runs.length, summary);
  await mapPool(runs, options.concurrency, async (run) => {
    const outcome = await harvestRun(run.id, ctx, run.finished_at ? { jobId: run.job_definition_id, finishedAt: run.finished_at } : undefined);
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
    options.onProgress?.(done, runs.length, summary);
  });
  summary.failures.sort((a, b) => a.runId - b.runId);
  summary.fileRetries = stats.fileRetries;
  return summary;
}

/** Runs `fn` over `items` with at most `concurrency` at once. */
export async function mapPool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}



/** The configured scope of a harvest: project, environment and whether cancelled runs count. */
export function scopeOf(config: { projectId?: number; environmentId?: number; includeCancelled: boolean }): RunFilter {
  return { projectId: config.projectId, environmentId: config.environmentId, includeCancelled: config.includeCancelled };
}
