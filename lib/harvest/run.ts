/**
 * Harvesting one run: find it and decide whether it is to be stored, transfer every wanted
 * artifact of every dbt step a few at once (reading coverage facts as they stream by), write each
 * step's summary, then `_run.json` last. I/O goes through the client and the store.
 * @module
 */
import { Readable, Transform, pipeline } from 'node:stream';
import { COVERAGE_FILE, summarize, type CatalogFacts, type ManifestFacts } from '../core/coverage.ts';
import { InputError, errorMessage } from '../core/errors.ts';
import { artifactPath, runDirectory, runMarkerPath } from '../core/paths.ts';
import { drain } from '../core/pool.ts';
import { TERMINAL_STATUSES, type Run } from '../core/run.ts';
import { runInScope, type Scope } from '../core/scope.ts';
import { selectDbtSteps, storedFileName, type DbtStep } from '../core/steps.ts';
import { HOUR_MS } from '../core/time.ts';
import { CatalogReader } from '../facts/catalog.ts';
import { ManifestReader } from '../facts/manifest.ts';
import { ArtifactJsonError, JsonCheck, type FactsReader } from '../facts/reader.ts';
import { RUN_RELATED, type ArtifactResult, type DbtCloudClient } from '../dbt-cloud/client.ts';
import { ArtifactNotJsonError, DbtCloudAuthError, DbtCloudHttpError } from '../dbt-cloud/errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { ArtifactSink } from '../storage/index.ts';

/** What harvesting one run asks of dbt Cloud. */
export type RunSource = Pick<DbtCloudClient, 'accountId' | 'getRun' | 'getRunArtifact' | 'listRunArtifacts'>;

export interface HarvestContext {
  client: RunSource;
  store: ArtifactSink;
  artifacts: readonly string[];
  scope?: Scope;
  logger?: Logger;
  now?: () => number;
  /** Attempts per file when a body breaks off or the store fails (default 3). */
  fileAttempts?: number;
  /** A run that finished less than this long ago with artifacts_saved false is retried later. */
  artifactsGraceMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Counts whole-file retries (a body that broke off, a store that failed). */
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
  finishedAt: Date;
}

/** Files and bytes written so far. */
interface Tally {
  files: number;
  bytes: number;
}

/**
 * Harvests one run. Never throws for a run-level problem: the outcome says what happened. With a
 * hint, a run already stored is recognised without asking dbt Cloud.
 */
export async function harvestRun(runId: number, ctx: HarvestContext, hint?: RunHint): Promise<RunOutcome> {
  if (hint) {
    const stored = await storedAlready(ctx, runId, hint.jobId, runDirectory({ runId, ...hint }));
    if (stored) return stored;
  }
  const found = await fetchRun(ctx, runId);
  if ('outcome' in found) return found.outcome;
  const { run, finishedAt } = found;
  const jobId = run.job_definition_id;
  const log = (ctx.logger ?? silentLogger).child({ runId, jobId });
  const runDir = runDirectory({ runId, jobId, finishedAt });
  const stored = await storedAlready(ctx, runId, jobId, runDir);
  if (stored) return stored;

  const tally: Tally = { files: 0, bytes: 0 };
  const { steps, fallback } = selectDbtSteps(run);
  if (run.artifacts_saved === false) {
    // A run that never reached a dbt step will never have artifacts: nothing to wait for.
    const fresh = (ctx.now ?? Date.now)() - finishedAt.getTime() < (ctx.artifactsGraceMs ?? HOUR_MS);
    if (steps.length > 0 && fresh) {
      const reason = 'dbt Cloud has not saved the artifacts yet (artifacts_saved is false)';
      return { status: 'not-ready', runId, jobId, reason };
    }
    log.info('run has no saved artifacts; storing its metadata alone');
  } else {
    if (fallback) log.warn("run has no run steps; numbering the job's execute_steps from 4", { steps: steps.length });
    const failed = await storeArtifacts(ctx, run, runDir, steps, tally, log);
    if (failed) return { ...failed, runId, jobId };
  }
  // `_run.json` last: its presence means every artifact of the run is stored.
  const marker = runMarkerPath(runDir);
  const written = await writeSmall(ctx.store, marker, `${JSON.stringify(run)}\n`);
  if (written instanceof Error) {
    return { status: 'failed', runId, jobId, error: `storing ${marker}: ${errorMessage(written)}`, retriable: true };
  }
  log.info('run stored', { files: tally.files, bytes: tally.bytes, path: runDir });
  return { status: 'stored', runId, jobId, path: runDir, ...tally };
}

/** The skipped outcome when the run's `_run.json` exists; a failure when the store cannot tell. */
async function storedAlready(
  ctx: HarvestContext,
  runId: number,
  jobId: number,
  runDir: string,
): Promise<RunOutcome | null> {
  try {
    if (await ctx.store.exists(runMarkerPath(runDir)))
      return { status: 'skipped', runId, jobId, reason: 'already stored' };
    return null;
  } catch (err) {
    const error = `cannot read ${ctx.store.description}: ${errorMessage(err)}`;
    return { status: 'failed', runId, jobId, error, retriable: true };
  }
}

/** The run from dbt Cloud, when it has ended and is in scope; otherwise why not. */
async function fetchRun(
  ctx: HarvestContext,
  runId: number,
): Promise<{ run: Run; finishedAt: Date } | { outcome: RunOutcome }> {
  let run: Run;
  try {
    run = await ctx.client.getRun(runId, RUN_RELATED);
  } catch (err) {
    const missing = err instanceof DbtCloudHttpError && err.status === 404;
    const error = missing
      ? `run ${runId} not found in account ${ctx.client.accountId}, or the token may not read it`
      : errorMessage(err);
    return { outcome: { status: 'failed', runId, error, retriable: !missing && !(err instanceof InputError) } };
  }
  const jobId = run.job_definition_id;
  if (!run.finished_at || !TERMINAL_STATUSES.includes(run.status)) {
    return {
      outcome: { status: 'not-ready', runId, jobId, reason: `run is still in progress (status ${run.status})` },
    };
  }
  if (ctx.scope && !runInScope(ctx.scope, run)) {
    const reason = 'outside the configured project, environment, jobs or statuses';
    return { outcome: { status: 'skipped', runId, jobId, reason } };
  }
  return { run, finishedAt: run.finished_at.at };
}

/** What a reader made of a whole file: its facts, or why it has none (a bound passed). */
type Read<T> = { facts: T } | { error: Error };

/** The facts coverage reads from one step's manifest and catalog as they stream by. */
interface StepCoverage {
  manifest?: Read<ManifestFacts>;
  catalog?: Read<CatalogFacts>;
  /** Only a `docs generate` step has a catalog, so only there is every table of the manifest kept. */
  tables: boolean;
}

/**
 * Every wanted file of every step, a few at once (a run costs about one round trip per
 * `artifactConcurrency` files, not one per file; the client's rate limit is shared, so a busy
 * instance spreads its requests whatever this bound), then each step's coverage.json. The failure,
 * if a file could not be stored.
 */
async function storeArtifacts(
  ctx: HarvestContext,
  run: Run,
  runDir: string,
  steps: DbtStep[],
  tally: Tally,
  log: Logger,
): Promise<{ status: 'failed'; error: string; retriable: boolean } | null> {
  const transfers = steps.flatMap((step) =>
    ctx.artifacts.map((file) => ({
      step,
      file,
      path: artifactPath(runDir, step.index, storedFileName(file, step.subcommand)),
    })),
  );
  const coverage = new Map<number, StepCoverage>();
  let failed: { step: number; file: string; error: unknown } | undefined;
  await drain(transfers.values(), ctx.artifactConcurrency ?? ARTIFACT_CONCURRENCY, async (t) => {
    // After a failure, nothing new starts; what is in flight finishes (and is stored, write-once).
    if (failed) return;
    try {
      const bytes = await fetchToStore(
        ctx,
        run.id,
        t.file,
        t.step.index,
        t.path,
        observer(ctx, coverage, t.step, t.file),
      );
      if (bytes !== null) {
        tally.files++;
        tally.bytes += bytes;
      }
    } catch (error) {
      log.error('artifact not stored', { step: t.step.index, file: t.file, error });
      failed ??= { step: t.step.index, file: t.file, error };
    }
  });
  if (failed) {
    const err = failed.error;
    const retriable = !(err instanceof DbtCloudHttpError) || err.retriable || err instanceof DbtCloudAuthError;
    return { status: 'failed', error: `step ${failed.step} ${failed.file}: ${errorMessage(err)}`, retriable };
  }
  return writeSummaries(ctx, run, runDir, coverage, tally, log);
}

/**
 * The reader every file streams through (a fresh one each attempt): the facts reader of a file
 * coverage reads, else a check that the file is one whole JSON document (so that a body cut short
 * or replaced by a proxy's page is never stored). Its facts, once the file is read, go to the step.
 */
function observer(ctx: HarvestContext, coverage: Map<number, StepCoverage>, step: DbtStep, file: string): Observe {
  const tables = step.subcommand === 'docs generate';
  const entry = (): StepCoverage => {
    const e = coverage.get(step.index) ?? { tables };
    coverage.set(step.index, e);
    return e;
  };
  if (ctx.coverage !== false && file === 'manifest.json')
    return { reader: () => new ManifestReader(file), done: (read) => (entry().manifest = read as Read<ManifestFacts>) };
  if (ctx.coverage !== false && file === 'catalog.json' && tables)
    return { reader: () => new CatalogReader(file), done: (read) => (entry().catalog = read as Read<CatalogFacts>) };
  return { reader: () => new JsonCheck(file), done: () => {} };
}

interface Observe {
  reader: () => FactsReader<unknown>;
  done: (read: Read<unknown>) => void;
}

/** Each step's coverage.json, before `_run.json`: a stored run has its summaries. */
async function writeSummaries(
  ctx: HarvestContext,
  run: Run,
  runDir: string,
  coverage: Map<number, StepCoverage>,
  tally: Tally,
  log: Logger,
): Promise<{ status: 'failed'; error: string; retriable: boolean } | null> {
  for (const [step, c] of [...coverage].sort(([a], [b]) => a - b)) {
    if (!c.manifest) continue;
    const unread = [c.manifest, c.catalog].find((r) => r !== undefined && 'error' in r);
    if (unread && 'error' in unread) {
      // The artifacts are stored; only this step's summary is skipped, with one warning.
      log.warn('coverage not computed for this step', { step, error: unread.error });
      continue;
    }
    const manifest = (c.manifest as { facts: ManifestFacts }).facts;
    const catalog = c.catalog && c.tables ? (c.catalog as { facts: CatalogFacts }).facts : null;
    const jobName = typeof run.job?.name === 'string' ? run.job.name : null;
    const summary = summarize(manifest, catalog, { finishedAt: run.finished_at?.text ?? null, jobName });
    const line = `${JSON.stringify(summary)}\n`;
    const written = await writeSmall(ctx.store, artifactPath(runDir, step, COVERAGE_FILE), line);
    if (written instanceof Error)
      return { status: 'failed', error: `step ${step} ${COVERAGE_FILE}: ${errorMessage(written)}`, retriable: true };
    tally.files++;
    tally.bytes += written;
  }
  return null;
}

/** A small object (a summary, `_run.json`): its bytes, or the error. */
async function writeSmall(store: ArtifactSink, path: string, text: string): Promise<number | Error> {
  const bytes = Buffer.from(text, 'utf8');
  try {
    return (await store.write(path, Readable.from([bytes]), { contentType: 'application/json', size: bytes.length }))
      .bytes;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * One artifact into the store, retried when the body breaks off or the store fails. Bytes, or null
 * for 404. The body arrives checked (length, silence, first byte: dbt-cloud/artifact-body.ts) and
 * streams through `observe`'s reader, which refuses it, before the store completes the write, when it
 * is not one whole JSON document.
 */
async function fetchToStore(
  ctx: HarvestContext,
  runId: number,
  file: string,
  step: number,
  path: string,
  observe: Observe,
): Promise<number | null> {
  const attempts = ctx.fileAttempts ?? 3;
  const sleep = ctx.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const again = async (attempt: number, err: unknown): Promise<void> => {
    if (attempt >= attempts) throw err;
    if (ctx.stats) ctx.stats.fileRetries++;
    (ctx.logger ?? silentLogger).warn('artifact transfer failed; retrying', { runId, step, file, attempt, error: err });
    await sleep(250 * 2 ** (attempt - 1));
  };
  for (let attempt = 1; ; attempt++) {
    let artifact: ArtifactResult;
    try {
      artifact = await ctx.client.getRunArtifact(runId, file, step);
    } catch (err) {
      // The client retried what HTTP can retry; an answer that is not JSON (a proxy's page) is tried again here.
      if (!(err instanceof ArtifactNotJsonError)) throw err;
      await again(attempt, err);
      continue;
    }
    if (!artifact.found) return null;
    try {
      const seen = tee(observe);
      // A body that breaks off, or is not JSON, fails the tee, and so the write; the store's own failure stays the store's.
      pipeline(artifact.body, seen, () => {});
      return (await ctx.store.write(path, seen, { contentType: 'application/json', size: artifact.contentLength }))
        .bytes;
    } catch (err) {
      artifact.body.destroy();
      await again(attempt, err);
    }
  }
}

/**
 * Passes the bytes on through a reader. A body that is not one whole JSON document fails the stream
 * (at the byte where it stops being JSON, or at its end when it was cut short), before the store
 * completes the write; a reader that passed a bound only loses its facts.
 */
function tee(observe: Observe): Transform {
  const reader = observe.reader();
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        reader.write(chunk);
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      done(null, chunk);
    },
    flush(done) {
      try {
        observe.done({ facts: reader.finish() });
      } catch (err) {
        if (err instanceof ArtifactJsonError) {
          done(err);
          return;
        }
        observe.done({ error: err instanceof Error ? err : new Error(String(err)) });
      }
      done();
    },
  });
}
