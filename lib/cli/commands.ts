import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { DbtCloudClient } from '../dbt-cloud/client.ts';
import { statusName, RunStatus } from '../dbt-cloud/schemas.ts';
import { loadConfig, type Config } from '../config.ts';
import { ConfigError, InputError } from '../errors.ts';
import { harvestWindow, type WindowSummary } from '../harvest.ts';
import { createLogger, redact, type Logger } from '../log.ts';
import { selectDbtSteps } from '../core/steps.ts';
import { sinkFor } from '../sinks/index.ts';
import { parseTimestamp } from '../time.ts';

export interface CliIO {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Progress goes to a terminal only. */
  isTTY: boolean;
}

/** Merges the common flags over the environment and parses the whole configuration once. */
export function configFrom(io: CliIO, flags: Record<string, string | boolean | string[] | undefined>, extra: Record<string, string | undefined> = {}): Config {
  const str = (k: string): string | undefined => (typeof flags[k] === 'string' ? (flags[k] as string) : undefined);
  const env: Record<string, string | undefined> = {
    ...io.env,
    ...defined({
      DBT_CLOUD_ACCOUNT_ID: str('account-id'),
      DBT_CLOUD_PROJECT_ID: str('project-id'),
      DBT_CLOUD_ENVIRONMENT_ID: str('environment-id'),
      DBT_CLOUD_TOKEN: str('token'),
      DBT_CLOUD_HOST: str('host'),
    }),
    ...defined(extra),
  };
  const config = loadConfig(env);
  redact(config.token);
  return config;
}

function defined(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined));
}

export function clientFor(config: Config, logger: Logger): DbtCloudClient {
  return new DbtCloudClient({
    baseUrl: config.baseUrl,
    accountId: config.accountId,
    token: config.token,
    timeoutMs: config.timeoutMs,
    requestsPerMinute: config.requestsPerMinute,
    logger,
    userAgent: 'dbt-cloud-harvester-cli',
  });
}

export function cliLogger(io: CliIO, config?: Config): Logger {
  return createLogger({ level: config?.logLevel === 'DEBUG' ? 'DEBUG' : 'WARNING', write: (line) => io.stderr(line + '\n') });
}

function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) throw new InputError(`--${flag} must be a positive whole number, not "${text}"`);
  return Number(text);
}

// ---- retrieve-artifacts-time-interval --------------------------------------------------------------

export async function retrieveArtifactsTimeInterval(io: CliIO, flags: Record<string, string | boolean | undefined>): Promise<number> {
  const problems: string[] = [];
  const start = tryTime(flags['start-time'], '--start-time', problems);
  const end = tryTime(flags['end-time'], '--end-time', problems);
  if (start && end && start.getTime() >= end.getTime()) problems.push(`--start-time (${start.toISOString()}) must be before --end-time (${end.toISOString()})`);
  const folder = flags['output-folder'] as string | undefined;
  const bucket = flags['gcs-bucket-name'] as string | undefined;
  if (!folder && !bucket) problems.push('say where to store: --output-folder DIR, or --gcs-bucket-name BUCKET [--output-folder PREFIX]');
  const concurrency = safe(() => positive('concurrency', flags['concurrency'] as string | undefined), problems);
  if (concurrency !== undefined && concurrency > 256) problems.push('--concurrency must be at most 256');
  if (problems.length > 0) throw new ConfigError(problems, 'Bad usage');

  const destination = bucket ? `gs://${bucket}${folder ? `/${folder.replace(/^\/+/, '')}` : ''}` : resolve(folder!);
  const config = configFrom(io, flags, {
    ARTIFACTS_DESTINATION: destination,
    HARVEST_INCLUDE_CANCELLED: flags['include-cancelled'] ? 'true' : undefined,
  });
  const logger = cliLogger(io, config);
  const sink = sinkFor(destination, { storageApiEndpoint: config.storageApiEndpoint });
  const client = clientFor(config, logger);
  const progress = io.isTTY
    ? (done: number, total: number, s: WindowSummary) =>
        io.stderr(`\r${done}/${total} runs: ${s.stored} stored, ${s.skipped} skipped, ${s.notReady} not ready, ${s.failed} failed, ${(s.bytes / 1048576).toFixed(1)} MiB `)
    : undefined;
  try {
    const summary = await harvestWindow(
      { start: start!, end: end! },
      { client, sink, artifacts: config.artifacts, logger, filter: { projectId: config.projectId, environmentId: config.environmentId, includeCancelled: config.includeCancelled } },
      { concurrency: concurrency ?? config.concurrency, onProgress: progress },
    );
    if (io.isTTY) io.stderr('\n');
    const { failures, notReadyRuns, ...counts } = summary;
    io.stdout(JSON.stringify({ destination: sink.description, ...counts, requests: client.transport.stats.requests, retries: client.transport.stats.retries }) + '\n');
    for (const f of failures) io.stderr(`run ${f.runId}${f.jobId ? ` (job ${f.jobId})` : ''} failed: ${f.error}\n`);
    for (const n of notReadyRuns) io.stderr(`run ${n.runId} not harvested yet: ${n.reason}\n`);
    return failures.length > 0 || notReadyRuns.length > 0 ? 1 : 0;
  } finally {
    client.close();
  }
}

function tryTime(value: unknown, flag: string, problems: string[]): Date | undefined {
  if (typeof value !== 'string') {
    problems.push(`${flag} is required (for example 2022-06-01T00:00:00, UTC when no offset is given)`);
    return undefined;
  }
  return safe(() => parseTimestamp(value, flag), problems);
}

function safe<T>(fn: () => T, problems: string[]): T | undefined {
  try {
    return fn();
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

// ---- retrieve-most-recent-artifact -----------------------------------------------------------------

export const ARTIFACT_NAMES = ['manifest', 'catalog', 'run_results', 'sources'] as const;

export async function retrieveMostRecentArtifact(io: CliIO, flags: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const problems: string[] = [];
  const name = positionals[0];
  if (!name) problems.push(`name the artifact: one of ${ARTIFACT_NAMES.join(', ')}`);
  else if (!(ARTIFACT_NAMES as readonly string[]).includes(name)) problems.push(`unknown artifact "${name}": choose one of ${ARTIFACT_NAMES.join(', ')}`);
  if (positionals.length > 1) problems.push(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
  const folder = flags['output-folder'];
  if (typeof folder !== 'string') problems.push('--output-folder DIR is required');
  const step = safe(() => positive('step', flags['step'] as string | undefined), problems);
  const jobFlag = safe(() => positive('job-id', flags['job-id'] as string | undefined), problems);
  const commit = flags['commit'] as string | undefined;
  if (commit !== undefined && !/^[0-9a-f]{4,40}$/i.test(commit)) problems.push(`--commit must be a git SHA (4 to 40 hex digits), not "${commit}"`);
  if (problems.length > 0) throw new ConfigError(problems, 'Bad usage');
  const config = configFrom(io, flags);
  const jobId = jobFlag ?? config.jobId;
  if (jobId === undefined) throw new ConfigError(['--job-id J (or DBT_CLOUD_JOB_ID) is required'], 'Bad usage');
  const file = `${name}.json`;
  const logger = cliLogger(io, config);
  const client = clientFor(config, logger);
  try {
    const run = await client.getMostRecentRun({ jobId, status: RunStatus.Success, gitSha: commit });
    if (!run) {
      io.stderr(`No successful run of job ${jobId}${commit ? ` at commit ${commit}` : ''} in account ${config.accountId}.\n`);
      return 1;
    }
    // The step: as asked, else the last dbt step that wrote the file.
    let candidates: number[];
    if (step !== undefined) candidates = [step];
    else {
      const full = await client.getRun(run.id, ['run_steps', 'job']);
      candidates = selectDbtSteps(full).steps.map((s) => s.index).reverse();
    }
    for (const index of candidates.length > 0 ? candidates : [undefined]) {
      const artifact = await client.getRunArtifact(run.id, file, index);
      if (!artifact.found) continue;
      const dir = resolve(folder as string);
      await mkdir(dir, { recursive: true });
      const target = join(dir, file);
      const temporary = join(dir, `.${file}.${randomUUID()}.partial`);
      try {
        await pipeline(artifact.body, createWriteStream(temporary, { flags: 'wx' }));
        await rename(temporary, target);
      } finally {
        await unlink(temporary).catch(() => {});
      }
      io.stdout(JSON.stringify({ file: target, runId: run.id, jobId, step: index ?? null, gitSha: run.git_sha ?? null, finishedAt: run.finished_at }) + '\n');
      return 0;
    }
    io.stderr(`Run ${run.id} of job ${jobId} has no ${file}${step !== undefined ? ` in step ${step}` : ''}.\n`);
    return 1;
  } finally {
    client.close();
  }
}

// ---- trigger-job -------------------------------------------------------------------------------

export async function triggerJob(io: CliIO, flags: Record<string, string | boolean | string[] | undefined>): Promise<number> {
  const problems: string[] = [];
  const jobId = safe(() => positive('job-id', flags['job-id'] as string | undefined), problems);
  const cause = flags['cause'];
  if (typeof cause !== 'string' || !cause.trim()) problems.push('--cause TEXT is required (why this run happens; at most 255 characters)');
  else if (cause.length > 255) problems.push(`--cause is at most 255 characters (it has ${cause.length})`);
  const threads = safe(() => positive('threads-override', flags['threads-override'] as string | undefined), problems);
  const timeoutOverride = safe(() => positive('timeout-seconds-override', flags['timeout-seconds-override'] as string | undefined), problems);
  const poll = safe(() => positive('poll-interval', flags['poll-interval'] as string | undefined), problems) ?? 10;
  const waitTimeout = safe(() => positive('timeout', flags['timeout'] as string | undefined), problems) ?? 3600;
  let docs: boolean | undefined;
  const docsFlag = flags['generate-docs-override'];
  if (docsFlag !== undefined) {
    if (docsFlag === 'true' || docsFlag === true) docs = true;
    else if (docsFlag === 'false') docs = false;
    else problems.push(`--generate-docs-override must be true or false, not "${String(docsFlag)}"`);
  }
  if (problems.length > 0) throw new ConfigError(problems, 'Bad usage');
  const config = configFrom(io, flags);
  const job = jobId ?? config.jobId;
  if (job === undefined) throw new ConfigError(['--job-id J (or DBT_CLOUD_JOB_ID) is required'], 'Bad usage');
  const logger = cliLogger(io, config);
  const client = clientFor(config, logger);
  const steps = flags['steps-override'] as string[] | undefined;
  try {
    const run = await client.triggerJobRun(job, {
      cause: (cause as string).trim(),
      git_sha: flags['git-sha'] as string | undefined,
      git_branch: flags['git-branch'] as string | undefined,
      schema_override: flags['schema-override'] as string | undefined,
      target_name_override: flags['target-name-override'] as string | undefined,
      threads_override: threads,
      timeout_seconds_override: timeoutOverride,
      generate_docs_override: docs,
      steps_override: steps && steps.length > 0 ? steps : undefined,
    });
    const describe = (r: typeof run) => ({ runId: r.id, jobId: r.job_definition_id, status: statusName(r.status), href: r['href'] ?? null });
    if (!flags['wait']) {
      io.stdout(JSON.stringify(describe(run)) + '\n');
      return 0;
    }
    if (io.isTTY) io.stderr(`run ${run.id} queued; waiting\n`);
    const done = await client.waitForRun(run.id, {
      intervalMs: poll * 1000,
      timeoutMs: waitTimeout * 1000,
      onPoll: io.isTTY ? (r) => io.stderr(`\rrun ${r.id}: ${statusName(r.status)}   `) : undefined,
    });
    if (io.isTTY) io.stderr('\n');
    io.stdout(JSON.stringify(describe(done)) + '\n');
    if (done.status !== RunStatus.Success) {
      io.stderr(`run ${done.id} ended ${statusName(done.status)}\n`);
      return 1;
    }
    return 0;
  } finally {
    client.close();
  }
}
