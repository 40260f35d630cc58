import { Readable } from 'node:stream';
import { RUN_RELATED, type DbtCloudClient } from './dbt-cloud/client.ts';
import { TERMINAL_STATUSES, type Run } from './dbt-cloud/schemas.ts';
import { DbtCloudAuthError, DbtCloudHttpError, InputError, errorMessage } from './errors.ts';
import { artifactPath, runDirectory, runMarkerPath } from './core/paths.ts';
import { inScope, selectRuns, type RunFilter } from './core/select.ts';
import { selectDbtSteps, storedFileName } from './core/steps.ts';
import { silentLogger, type Logger } from './log.ts';
import type { ArtifactSink } from './sinks/index.ts';
import { formatWindow, parseTimestamp, type Window } from './time.ts';

/**
 * Harvesting: one run (every wanted artifact of every dbt step, then `_run.json` last), and a
 * window of runs with bounded concurrency. I/O goes through the client and the sink.
 */
export interface HarvestContext {
  client: DbtCloudClient;
  sink: ArtifactSink;
  artifacts: readonly string[];
  filter?: RunFilter;
  logger?: Logger;
  now?: () => number;
  /** Attempts per file when a body breaks off or the sink fails (default 3). */
  fileAttempts?: number;
  /** A run that finished less than this long ago with artifacts_saved false is retried later. */
  artifactsGraceMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Counts whole-file retries (a body that broke off, a sink that failed). */
  stats?: { fileRetries: number };
}

export type RunOutcome =
  | { status: 'stored'; runId: number; jobId: number; path: string; files: number; bytes: number }
  | { status: 'skipped'; runId: number; jobId?: number; reason: string }
  | { status: 'not-ready'; runId: number; jobId?: number; reason: string }
  | { status: 'failed'; runId: number; jobId?: number; error: string; retriable: boolean };

const HOUR = 3_600_000;

/** What a listing or a message already says about a run: enough to find its `_run.json`. */
export interface RunHint {
  jobId: number;
  finishedAt: string;
}

/**
 * Harvests one run. Never throws for a run-level problem: the outcome says what happened. With a
 * hint, a run already stored is recognised without asking dbt Cloud.
 */
export async function harvestRun(runId: number, ctx: HarvestContext, hint?: RunHint): Promise<RunOutcome> {
  const logger = (ctx.logger ?? silentLogger).child({ runId });
  if (hint) {
    const hinted = runMarkerPath(runDirectory(undefined, { id: runId, job_definition_id: hint.jobId, finished_at: hint.finishedAt }));
    try {
      if (await ctx.sink.exists(hinted)) return { status: 'skipped', runId, jobId: hint.jobId, reason: 'already stored' };
    } catch (err) {
      return { status: 'failed', runId, jobId: hint.jobId, error: `cannot read ${ctx.sink.description}: ${errorMessage(err)}`, retriable: true };
    }
  }
  let run: Run;
  try {
    run = await ctx.client.getRun(runId, RUN_RELATED);
  } catch (err) {
    const missing = err instanceof DbtCloudHttpError && err.status === 404;
    return {
      status: 'failed',
      runId,
      error: missing ? `run ${runId} not found in account ${ctx.client.accountId}, or the token may not read it` : errorMessage(err),
      retriable: !missing && !(err instanceof InputError),
    };
  }
  const jobId = run.job_definition_id;
  const log = logger.child({ jobId });
  if (!run.finished_at || !TERMINAL_STATUSES.includes(run.status)) {
    return { status: 'not-ready', runId, jobId, reason: `run is still in progress (status ${run.status})` };
  }
  if (ctx.filter && !inScope(run, ctx.filter)) {
    return { status: 'skipped', runId, jobId, reason: 'outside the configured project, environment, jobs or statuses' };
  }
  const runDir = runDirectory(undefined, run);
  const marker = runMarkerPath(runDir);
  try {
    if (await ctx.sink.exists(marker)) return { status: 'skipped', runId, jobId, reason: 'already stored' };
  } catch (err) {
    return { status: 'failed', runId, jobId, error: `cannot read ${ctx.sink.description}: ${errorMessage(err)}`, retriable: true };
  }

  const finishedAt = parseTimestamp(run.finished_at, 'finished_at').getTime();
  const now = (ctx.now ?? Date.now)();
  let files = 0;
  let bytes = 0;
  const { steps, fallback } = selectDbtSteps(run);
  if (run.artifacts_saved === false) {
    // A run that never reached a dbt step will never have artifacts: nothing to wait for.
    if (steps.length > 0 && now - finishedAt < (ctx.artifactsGraceMs ?? HOUR)) {
      return { status: 'not-ready', runId, jobId, reason: 'dbt Cloud has not saved the artifacts yet (artifacts_saved is false)' };
    }
    log.info('run has no saved artifacts; storing its metadata alone');
  } else {
    if (fallback) log.warn('run has no run steps; numbering the job\'s execute_steps from 4', { steps: steps.length });
    for (const step of steps) {
      for (const file of ctx.artifacts) {
        const path = artifactPath(runDir, step.index, storedFileName(file, step.subcommand));
        try {
          const result = await fetchToSink(ctx, run.id, file, step.index, path);
          if (result) {
            files++;
            bytes += result;
          }
        } catch (err) {
          log.error('artifact not stored', { step: step.index, file, error: err });
          return { status: 'failed', runId, jobId, error: `step ${step.index} ${file}: ${errorMessage(err)}`, retriable: !(err instanceof DbtCloudHttpError) || err.retriable || err instanceof DbtCloudAuthError };
        }
      }
    }
  }
  // `_run.json` last: its presence means every artifact of the run is stored.
  const line = Buffer.from(JSON.stringify(run) + '\n', 'utf8');
  try {
    await ctx.sink.write(marker, Readable.from([line]), { contentType: 'application/json', size: line.length });
  } catch (err) {
    return { status: 'failed', runId, jobId, error: `storing ${marker}: ${errorMessage(err)}`, retriable: true };
  }
  log.info('run stored', { files, bytes, path: runDir });
  return { status: 'stored', runId, jobId, path: runDir, files, bytes };
}

/** One artifact into the sink, retried when the body breaks off or the sink fails. Bytes, or null for 404. */
async function fetchToSink(ctx: HarvestContext, runId: number, file: string, step: number, path: string): Promise<number | null> {
  const attempts = ctx.fileAttempts ?? 3;
  const sleep = ctx.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    const artifact = await ctx.client.getRunArtifact(runId, file, step);
    if (!artifact.found) return null;
    try {
      const result = await ctx.sink.write(path, artifact.body, { contentType: artifact.contentType ?? 'application/json', size: artifact.contentLength });
      return result.bytes;
    } catch (err) {
      artifact.body.destroy();
      if (attempt >= attempts) throw err;
      if (ctx.stats) ctx.stats.fileRetries++;
      (ctx.logger ?? silentLogger).warn('artifact transfer failed; retrying', { runId, step, file, attempt, error: err });
      await sleep(250 * 2 ** (attempt - 1));
    }
  }
}

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


