/**
 * Harvesting one run: every wanted artifact of every dbt step, a few at once, then `_run.json`
 * last. I/O goes through the client and the sink.
 * @module
 */
import { Readable, Transform, pipeline } from 'node:stream';
import { COVERAGE_FILE, summarize, type CatalogFacts, type ManifestFacts } from '../core/coverage.ts';
import { InputError, errorMessage } from '../core/errors.ts';
import { drain } from '../core/pool.ts';
import { artifactPath, runDirectory, runMarkerPath } from '../core/paths.ts';
import { TERMINAL_STATUSES, type Run } from '../core/run.ts';
import { inScope, type RunFilter } from '../core/select.ts';
import { selectDbtSteps, storedFileName, type DbtStep } from '../core/steps.ts';
import { HOUR_MS, parseTimestamp } from '../core/time.ts';
import { RUN_RELATED, type DbtCloudClient } from '../dbt-cloud/client.ts';
import { catalogCollector, manifestCollector, type Collector } from '../coverage/extract.ts';
import { DbtCloudAuthError, DbtCloudHttpError } from '../dbt-cloud/errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { ArtifactSink } from '../sinks/index.ts';
import { ArtifactNotJsonError, contentTypeProblem, jsonGuard } from './json-guard.ts';

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
  /** Files of one run transferred at once (default ARTIFACT_CONCURRENCY). */
  artifactConcurrency?: number;
  /** Write each step's coverage.json from its manifest and catalog as they stream by (default true). */
  coverage?: boolean;
}

/**
 * Files of one run in flight at once. Three dbt steps of four files are 12 requests: two rounds.
 * Each transfer streams, so memory grows with this bound, not with the files' sizes.
 */
export const ARTIFACT_CONCURRENCY = 8;

export type RunOutcome =
  | { status: 'stored'; runId: number; jobId: number; path: string; files: number; bytes: number }
  | { status: 'skipped'; runId: number; jobId?: number; reason: string }
  | { status: 'not-ready'; runId: number; jobId?: number; reason: string }
  | { status: 'failed'; runId: number; jobId?: number; error: string; retriable: boolean };

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
    const hinted = runMarkerPath(
      runDirectory({ id: runId, job_definition_id: hint.jobId, finished_at: hint.finishedAt }),
    );
    try {
      if (await ctx.sink.exists(hinted))
        return { status: 'skipped', runId, jobId: hint.jobId, reason: 'already stored' };
    } catch (err) {
      return {
        status: 'failed',
        runId,
        jobId: hint.jobId,
        error: `cannot read ${ctx.sink.description}: ${errorMessage(err)}`,
        retriable: true,
      };
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
      error: missing
        ? `run ${runId} not found in account ${ctx.client.accountId}, or the token may not read it`
        : errorMessage(err),
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
  const runDir = runDirectory(run);
  const marker = runMarkerPath(runDir);
  try {
    if (await ctx.sink.exists(marker)) return { status: 'skipped', runId, jobId, reason: 'already stored' };
  } catch (err) {
    return {
      status: 'failed',
      runId,
      jobId,
      error: `cannot read ${ctx.sink.description}: ${errorMessage(err)}`,
      retriable: true,
    };
  }

  const finishedAt = parseTimestamp(run.finished_at, 'finished_at').getTime();
  const now = (ctx.now ?? Date.now)();
  let files = 0;
  let bytes = 0;
  const { steps, fallback } = selectDbtSteps(run);
  if (run.artifacts_saved === false) {
    // A run that never reached a dbt step will never have artifacts: nothing to wait for.
    if (steps.length > 0 && now - finishedAt < (ctx.artifactsGraceMs ?? HOUR_MS)) {
      return {
        status: 'not-ready',
        runId,
        jobId,
        reason: 'dbt Cloud has not saved the artifacts yet (artifacts_saved is false)',
      };
    }
    log.info('run has no saved artifacts; storing its metadata alone');
  } else {
    if (fallback) log.warn("run has no run steps; numbering the job's execute_steps from 4", { steps: steps.length });
    // Every file of every step at once, a few at a time: a run costs about one round trip per
    // `artifactConcurrency` files, not one per file. The client's rate limit is shared, so a busy
    // instance spreads its requests whatever this bound.
    const transfers = steps.flatMap((step) =>
      ctx.artifacts.map((file) => ({
        step,
        file,
        path: artifactPath(runDir, step.index, storedFileName(file, step.subcommand)),
      })),
    );
    // Coverage reads the manifest and the catalog as they stream into the sink: one pass, no re-read.
    // Only a `docs generate` step has a catalog, so only there is every table of the manifest kept.
    const coverage = new Map<
      number,
      { manifest?: Collector<ManifestFacts>; catalog?: Collector<CatalogFacts>; tables: boolean }
    >();
    const observe = (step: DbtStep, file: string): (() => Collector<unknown>) | undefined => {
      if (ctx.coverage === false || (file !== 'manifest.json' && file !== 'catalog.json')) return undefined;
      const tables = step.subcommand === 'docs generate';
      if (file === 'catalog.json' && !tables) return undefined;
      return () => {
        const entry = coverage.get(step.index) ?? { tables };
        coverage.set(step.index, entry);
        if (file === 'manifest.json') {
          entry.manifest = manifestCollector({ tables });
          return entry.manifest;
        }
        entry.catalog = catalogCollector();
        return entry.catalog;
      };
    };
    let failed: { step: number; file: string; error: unknown } | undefined;
    await drain(transfers.values(), ctx.artifactConcurrency ?? ARTIFACT_CONCURRENCY, async (t) => {
      // After a failure, nothing new starts; what is in flight finishes (and is stored, write-once).
      if (failed) return;
      try {
        const result = await fetchToSink(ctx, run.id, t.file, t.step.index, t.path, observe(t.step, t.file));
        if (result !== null) {
          files++;
          bytes += result;
        }
      } catch (error) {
        log.error('artifact not stored', { step: t.step.index, file: t.file, error });
        failed ??= { step: t.step.index, file: t.file, error };
      }
    });
    if (failed) {
      const err = failed.error;
      return {
        status: 'failed',
        runId,
        jobId,
        error: `step ${failed.step} ${failed.file}: ${errorMessage(err)}`,
        retriable: !(err instanceof DbtCloudHttpError) || err.retriable || err instanceof DbtCloudAuthError,
      };
    }
    // Each step's coverage.json, before _run.json: a stored run has its summaries.
    for (const [step, c] of [...coverage].sort(([a], [b]) => a - b)) {
      if (!c.manifest) continue;
      let line: Buffer;
      try {
        const manifest = c.manifest.finish();
        const catalog = c.catalog && c.tables ? c.catalog.finish() : null;
        const summary = summarize(manifest, catalog, {
          finishedAt: run.finished_at,
          jobName: typeof run.job?.name === 'string' ? run.job.name : null,
        });
        line = Buffer.from(`${JSON.stringify(summary)}\n`, 'utf8');
      } catch (err) {
        // The artifacts are stored; `coverage history` computes this summary from them later.
        log.warn('coverage not computed for this step', { step, error: err });
        continue;
      }
      try {
        const written = await ctx.sink.write(artifactPath(runDir, step, COVERAGE_FILE), Readable.from([line]), {
          contentType: 'application/json',
          size: line.length,
        });
        files++;
        bytes += written.bytes;
      } catch (err) {
        return {
          status: 'failed',
          runId,
          jobId,
          error: `step ${step} ${COVERAGE_FILE}: ${errorMessage(err)}`,
          retriable: true,
        };
      }
    }
  }
  // `_run.json` last: its presence means every artifact of the run is stored.
  const line = Buffer.from(`${JSON.stringify(run)}\n`, 'utf8');
  try {
    await ctx.sink.write(marker, Readable.from([line]), { contentType: 'application/json', size: line.length });
  } catch (err) {
    return { status: 'failed', runId, jobId, error: `storing ${marker}: ${errorMessage(err)}`, retriable: true };
  }
  log.info('run stored', { files, bytes, path: runDir });
  return { status: 'stored', runId, jobId, path: runDir, files, bytes };
}

/**
 * One artifact into the sink, retried when the body breaks off or the sink fails. Bytes, or null
 * for 404. `observe` makes a collector the body also streams through (a fresh one each attempt).
 */
async function fetchToSink(
  ctx: HarvestContext,
  runId: number,
  file: string,
  step: number,
  path: string,
  observe?: () => Collector<unknown>,
): Promise<number | null> {
  const attempts = ctx.fileAttempts ?? 3;
  const sleep = ctx.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    const artifact = await ctx.client.getRunArtifact(runId, file, step);
    if (!artifact.found) return null;
    try {
      const wrongType = contentTypeProblem(artifact.contentType);
      if (wrongType) throw new ArtifactNotJsonError(artifact.url, wrongType);
      // Stored as what it is checked to be, whatever dbt Cloud called it.
      const checked = jsonGuard(artifact.body, artifact.url);
      let body: Readable = checked;
      if (observe) {
        const seen = tee(observe());
        // A body that breaks off fails the tee too, and so the write; the sink's own failure stays the sink's.
        pipeline(checked, seen, () => {});
        body = seen;
      }
      const result = await ctx.sink.write(path, body, {
        contentType: 'application/json',
        size: artifact.contentLength,
      });
      return result.bytes;
    } catch (err) {
      artifact.body.destroy();
      if (attempt >= attempts) throw err;
      if (ctx.stats) ctx.stats.fileRetries++;
      (ctx.logger ?? silentLogger).warn('artifact transfer failed; retrying', {
        runId,
        step,
        file,
        attempt,
        error: err,
      });
      await sleep(250 * 2 ** (attempt - 1));
    }
  }
}

/** Passes the bytes on, and shows each chunk to a collector (whose own failure never fails the transfer). */
function tee(collector: Collector<unknown>): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      collector.write(chunk);
      done(null, chunk);
    },
  });
}
