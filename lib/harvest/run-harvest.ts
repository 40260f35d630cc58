/**
 * Harvesting one run: find it and decide whether it is to be stored, transfer every wanted
 * artifact of every dbt step a few at once (reading coverage facts as they stream by), write each
 * step's summary, then `_run.json` last. I/O goes through the client and the store.
 * @module
 */
import { Readable, Writable, pipeline } from 'node:stream';
import { pipeline as pipelineDone } from 'node:stream/promises';
import { summarize } from '../coverage/coverage.ts';
import { COVERAGE_FILE } from '../core/coverage-summary.ts';
import { HarvesterError, InputError, errorMessage } from '../core/errors.ts';
import { planArtifacts, schemaWarning, type ArtifactChoice, type PlannedFile } from '../core/artifacts.ts';
import { HistoryRowSchema, historyRow, runForRow, type StepFacts } from '../core/history-row.ts';
import { artifactPath, historyRowPath, runDirectory, runMarkerPath } from '../core/paths.ts';
import { drain } from '../core/pool.ts';
import { STEP_SUMMARY_FILE, summarizeStep } from '../core/run-facts.ts';
import { TERMINAL_STATUSES, type Run } from '../core/run-model.ts';
import { runInScope, type Scope } from '../core/scope.ts';
import { selectDbtSteps, storedFileName, type DbtStep } from '../core/steps.ts';
import { HOUR_MS } from '../core/time.ts';
import { readerFor, type FactSlot, type StepFactsRead } from '../facts/artifact-readers.ts';
import { JsonCheck, readThrough, type ArtifactReader, type Read } from '../facts/reader.ts';
import { RUN_RELATED, type ArtifactResult, type DbtCloudClient } from '../dbt-cloud/client.ts';
import {
  ArtifactNotJsonError,
  ArtifactNotParquetError,
  DbtCloudAuthError,
  DbtCloudHttpError,
} from '../dbt-cloud/dbt-cloud-errors.ts';
import { storedContentType } from '../facts/checked.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { ArtifactSink } from '../storage/index.ts';
import { BIG_FACTS_BYTES, type FactsGate } from './facts-gate.ts';

/** What harvesting one run asks of dbt Cloud. */
export type RunSource = Pick<DbtCloudClient, 'accountId' | 'getRun' | 'getRunArtifact' | 'listRunArtifacts'>;

export interface HarvestContext {
  client: RunSource;
  store: ArtifactSink;
  /** Every top-level JSON artifact ('all'), or an allow-list. */
  artifacts: ArtifactChoice;
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
  /** Shared by the runs harvested at once: the facts of big artifacts are read by one run at a time. */
  factsGate?: FactsGate;
}

/**
 * Files of one run in flight at once. Three dbt steps of four files are 12 requests: two rounds.
 * Each transfer streams, so memory grows with this bound, not with the files' sizes.
 */
export const ARTIFACT_CONCURRENCY = 8;

export type RunOutcome =
  | { status: 'stored'; runId: number; jobId: number; path: string; files: number; bytes: number; finishedAt?: string }
  /** `finishedAt` (ISO 8601) where the run is stored already. */
  | { status: 'skipped'; runId: number; jobId?: number; reason: string; finishedAt?: string }
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
  try {
    return await harvestOne(runId, ctx, hint);
  } finally {
    ctx.factsGate?.release(runId);
  }
}

async function harvestOne(runId: number, ctx: HarvestContext, hint?: RunHint): Promise<RunOutcome> {
  if (hint) {
    const stored = await storedAlready(ctx, runId, hint.jobId, runDirectory({ runId, ...hint }), hint.finishedAt);
    if (stored) return stored;
  }
  const found = await fetchRun(ctx, runId);
  if ('outcome' in found) return found.outcome;
  const { run, finishedAt } = found;
  const jobId = run.job_definition_id;
  const log = (ctx.logger ?? silentLogger).child({ runId, jobId });
  const runDir = runDirectory({ runId, jobId, finishedAt });
  const stored = await storedAlready(ctx, runId, jobId, runDir, finishedAt);
  if (stored) return stored;

  const tally: Tally = { files: 0, bytes: 0 };
  const { steps, fallback } = selectDbtSteps(run);
  let facts: StepFacts[] = [];
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
    const stored = await storeArtifacts(ctx, run, runDir, steps, tally, log);
    if ('status' in stored) return { ...stored, runId, jobId };
    facts = stored.facts;
  }
  // The run's row in the history rollup, then `_run.json` last: its presence means everything of
  // the run is stored. A row that cannot be made (a `_run.json` the history cannot read) is left
  // to the history's rebuild; one that cannot be written fails the run, to be tried again.
  const runJson = `${JSON.stringify(storedRun(run))}\n`;
  let row: string | null = null;
  try {
    row = `${JSON.stringify(HistoryRowSchema.parse(historyRow(runForRow(JSON.parse(runJson)), facts)))}\n`;
  } catch (err) {
    log.warn('history row not made for this run', { error: err });
  }
  if (row !== null) {
    const rowPath = historyRowPath({ runId, jobId, finishedAt });
    const rowWritten = await writeSmall(ctx.store, rowPath, row);
    if (rowWritten instanceof Error)
      return {
        status: 'failed',
        runId,
        jobId,
        error: `storing ${rowPath}: ${errorMessage(rowWritten)}`,
        retriable: true,
      };
  }
  const marker = runMarkerPath(runDir);
  const written = await writeSmall(ctx.store, marker, runJson);
  if (written instanceof Error) {
    return { status: 'failed', runId, jobId, error: `storing ${marker}: ${errorMessage(written)}`, retriable: true };
  }
  log.info('run stored', { files: tally.files, bytes: tally.bytes, path: runDir });
  return { status: 'stored', runId, jobId, path: runDir, ...tally, finishedAt: finishedAt.toISOString() };
}

/**
 * The run as `_run.json` keeps it: every field of dbt Cloud's answer, but of its related
 * `environment` only the fields dbt's v2 spec gives an environment (EnvironmentV2: ids, name,
 * type, deployment type, dbt version, branch), never the nested connection, credentials or
 * extended attributes an answer may carry (their ids are kept).
 */
export const ENVIRONMENT_FIELDS = [
  'id',
  'account_id',
  'project_id',
  'name',
  'type',
  'deployment_type',
  'dbt_version',
  'use_custom_branch',
  'custom_branch',
  'dbt_project_subdirectory',
  'supports_docs',
  'state',
  'connection_id',
  'credentials_id',
  'repository_id',
  'extended_attributes_id',
  'created_by_id',
  'created_at',
  'updated_at',
] as const;

export function storedRun(run: Run): Run {
  const env = run.environment;
  if (!env || typeof env !== 'object') return run;
  const kept = Object.fromEntries(
    ENVIRONMENT_FIELDS.filter((k) => k in env).map((k) => [k, (env as Record<string, unknown>)[k]]),
  );
  return { ...run, environment: kept };
}

/** The skipped outcome when the run's `_run.json` exists; a failure when the store cannot tell. */
async function storedAlready(
  ctx: HarvestContext,
  runId: number,
  jobId: number,
  runDir: string,
  finishedAt: Date,
): Promise<RunOutcome | null> {
  try {
    if (await ctx.store.exists(runMarkerPath(runDir)))
      return { status: 'skipped', runId, jobId, reason: 'already stored', finishedAt: finishedAt.toISOString() };
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

/**
 * The files to ask for (core/artifacts.ts): from the run's list of its last step's files and
 * dbt's table of which command writes what. A list that cannot be read leaves the table alone.
 */
async function plan(ctx: HarvestContext, runId: number, steps: DbtStep[], log: Logger): Promise<PlannedFile[]> {
  let listed: string[] | null = null;
  if (steps.length > 0)
    try {
      listed = await ctx.client.listRunArtifacts(runId);
    } catch (err) {
      // The files themselves are asked for next: a lasting failure (a token refused) fails there.
      log.warn("the run's artifact list was not read; asking for what each step's command writes", { error: err });
    }
  return planArtifacts(steps, listed && listed.length > 0 ? listed : null, ctx.artifacts);
}

/** The facts read from one step's files as they stream by. */
interface StepRead extends StepFactsRead {
  /** Only a `docs generate` step's catalog is read for coverage. */
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
): Promise<{ status: 'failed'; error: string; retriable: boolean } | { facts: StepFacts[] }> {
  const transfers = (await plan(ctx, run.id, steps, log)).map((p) => ({
    ...p,
    path: artifactPath(runDir, p.step.index, storedFileName(p.file, p.step.subcommand)),
  }));
  const coverage = new Map<number, StepRead>();
  let failed: { step: number; file: string; error: unknown } | undefined;
  await drain(transfers.values(), ctx.artifactConcurrency ?? ARTIFACT_CONCURRENCY, async (t) => {
    // After a failure, nothing new starts; what is in flight finishes (and is stored, write-once).
    if (failed) return;
    try {
      const bytes = await fetchToStore(ctx, run.id, t, observer(ctx, coverage, t.step, t.file));
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
  return writeSummaries(ctx, run, runDir, steps, coverage, tally, log);
}

/**
 * The reader every file streams through (a fresh one each attempt): the table of lib/facts says
 * which. Its facts, once the file is read, go to the step's slot.
 */
function observer(ctx: HarvestContext, coverage: Map<number, StepRead>, step: DbtStep, file: string): Observe {
  const tables = step.subcommand === 'docs generate';
  const { slot, reader } = readerFor(file, { coverage: ctx.coverage !== false, catalogStep: tables });
  if (slot === null) return { reader, done: () => {}, facts: false };
  return {
    reader,
    done: (read) => {
      const e = coverage.get(step.index) ?? { tables };
      coverage.set(step.index, e);
      (e as unknown as Record<FactSlot, Read<unknown>>)[slot] = read;
    },
  };
}

interface Observe {
  reader: () => ArtifactReader<unknown>;
  done: (read: Read<unknown>) => void;
  /** Whether the step's summaries need what the reader reads (false: the file is only checked). */
  facts?: false;
}

/**
 * Each step's coverage.json and summary.json, before `_run.json`: a stored run has its summaries.
 * What was read of each step, for the run's history row.
 */
async function writeSummaries(
  ctx: HarvestContext,
  run: Run,
  runDir: string,
  steps: readonly DbtStep[],
  reads: Map<number, StepRead>,
  tally: Tally,
  log: Logger,
): Promise<{ status: 'failed'; error: string; retriable: boolean } | { facts: StepFacts[] }> {
  const facts: StepFacts[] = [];
  const factsOf = <T>(step: number, what: string, read: Read<T> | undefined): T | null => {
    if (read === undefined) return null;
    if ('facts' in read) return read.facts;
    // The artifact is stored; only what this step says is left out, with one warning.
    log.warn(`${what} not read for this step`, { step, error: read.error });
    return null;
  };
  const write = async (step: number, file: string, text: string) => {
    const written = await writeSmall(ctx.store, artifactPath(runDir, step, file), text);
    if (written instanceof Error)
      return { status: 'failed' as const, error: `step ${step} ${file}: ${errorMessage(written)}`, retriable: true };
    tally.files++;
    tally.bytes += written;
    return null;
  };
  // A schema newer than this version knows: stored as it is, said once per run.
  const newer = new Set<string>();
  const schema = (file: string, read: Read<{ schemaVersion?: string | null }> | undefined) => {
    const warning = read && 'facts' in read ? schemaWarning(file, read.facts.schemaVersion) : null;
    if (warning) newer.add(warning);
  };
  for (const r of reads.values()) {
    schema('manifest.json', r.manifest);
    schema('run_results.json', r.results);
    schema('sources.json', r.sources);
    schema('freshness.json', r.freshness);
  }
  for (const warning of newer) log.warn(warning);
  for (const step of [...steps].sort((a, b) => a.index - b.index)) {
    const r = reads.get(step.index);
    if (!r) continue;
    let coverage = null;
    const manifest = factsOf(step.index, 'coverage', r.manifest);
    const catalog = r.catalog && r.tables ? factsOf(step.index, 'coverage', r.catalog) : null;
    if (manifest && (!r.catalog || !r.tables || catalog)) {
      const jobName = typeof run.job?.name === 'string' ? run.job.name : null;
      coverage = summarize(manifest, catalog, { finishedAt: run.finished_at?.text ?? null, jobName });
      const failed = await write(step.index, COVERAGE_FILE, `${JSON.stringify(coverage)}\n`);
      if (failed) return failed;
    }
    const results = factsOf(step.index, 'run results', r.results);
    const sources = factsOf(step.index, 'freshness', r.freshness) ?? factsOf(step.index, 'source freshness', r.sources);
    if (results || sources) {
      const summary = summarizeStep({ index: step.index, command: step.subcommand }, results, sources);
      const failed = await write(step.index, STEP_SUMMARY_FILE, `${JSON.stringify(summary)}\n`);
      if (failed) return failed;
    }
    facts.push({
      index: step.index,
      command: step.subcommand,
      results,
      sources,
      coverage,
      catalog: catalog !== null,
    });
  }
  return { facts };
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
  planned: PlannedFile & { path: string },
  observe: Observe,
): Promise<number | null> {
  const { file, path, promised } = planned;
  const step = planned.step.index;
  const attempts = ctx.fileAttempts ?? 3;
  const sleep = ctx.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const again = async (attempt: number, err: unknown): Promise<void> => {
    // A setting to fix (a symbolic link in the folder, say) fails the same way every time.
    if (attempt >= attempts || (err instanceof HarvesterError && err.exitCode === 2)) throw err;
    if (ctx.stats) ctx.stats.fileRetries++;
    (ctx.logger ?? silentLogger).warn('artifact transfer failed; retrying', { runId, step, file, attempt, error: err });
    await sleep(250 * 2 ** (attempt - 1));
  };
  for (let attempt = 1; ; attempt++) {
    let artifact: ArtifactResult;
    try {
      artifact = await ctx.client.getRunArtifact(runId, file, step);
    } catch (err) {
      // The client retried what HTTP can retry; an answer that is not what it should be (a proxy's
      // page, a maintenance page answered 200) is tried again here.
      if (!(err instanceof ArtifactNotJsonError) && !(err instanceof ArtifactNotParquetError)) throw err;
      await again(attempt, err);
      continue;
    }
    if (!artifact.found) {
      // A file the step's command may not have written: none. One the run's list names: a failure.
      if (!promised) return null;
      await again(attempt, new Error(`dbt Cloud lists ${file} for this run, but answered 404 for step ${step}`));
      continue;
    }
    // A big artifact while another run reads big facts: stored checked, its facts read once the gate is ours.
    const deferred =
      observe.facts !== false &&
      ctx.factsGate !== undefined &&
      (artifact.contentLength ?? 0) >= BIG_FACTS_BYTES &&
      !ctx.factsGate.tryTake(runId);
    try {
      let observed = false;
      const seen = deferred
        ? readThrough(new JsonCheck(path))
        : readThrough(observe.reader(), (read) => {
            observed = true;
            observe.done(read);
          });
      // A body that breaks off, or is not JSON, fails the tee, and so the write; the store's own failure stays the store's.
      pipeline(artifact.body, seen, () => {});
      const written = await ctx.store.write(path, seen, {
        contentType: storedContentType(file),
        size: artifact.contentLength,
      });
      // Stored before (by a harvest killed before the run's _run.json), so the store did not read
      // the body; the step's summaries still need its facts: a second download is read, not written.
      if ((written.status === 'exists' || deferred) && !observed && observe.facts !== false) {
        if (deferred) await ctx.factsGate?.take(runId);
        const second = await ctx.client.getRunArtifact(runId, file, step);
        if (!second.found) throw new Error(`dbt Cloud no longer has ${file} of step ${step}`);
        await pipelineDone(
          second.body,
          readThrough(observe.reader(), observe.done),
          new Writable({ write: (_c, _e, next) => next() }),
        );
      }
      return written.bytes;
    } catch (err) {
      artifact.body.destroy();
      await again(attempt, err);
    }
  }
}
