import { artifactSha256, artifactSize, artifactStream, filesOfCommand, type ArtifactSpec } from './artifacts.ts';
import { TELEMETRY_FILE, telemetryFile } from './telemetry.ts';
import { mix, pick, unit } from './prng.ts';
import type { Readable } from 'node:stream';

/**
 * A generated dbt Cloud account: projects, environments, jobs and their runs over a time range, with
 * the truth the tests compare against (which runs finished when, which files each step has).
 */
export type Outcome = 'success' | 'error' | 'cancelled' | 'clone-failure';

export interface FakeStep {
  index: number;
  name: string;
  /** The dbt sub-command (`run`, `docs generate`, ...) or null for clone and profile steps. */
  command: string | null;
  status: number;
  startedAt: Date;
  finishedAt: Date | null;
  files: string[];
  failing: boolean;
}

export interface FakeJob {
  id: number;
  projectId: number;
  environmentId: number;
  name: string;
  executeSteps: string[];
  generateDocs: boolean;
  runGenerateSources: boolean;
  everyMinutes: number;
  offsetMinutes: number;
  createdAt: Date;
  lowercaseSteps: boolean;
  /**
   * Runs on dbt Fusion (dbt v2, `latest-fusion`): a per-step telemetry Parquet file, `dbt freshness`
   * rather than `dbt source freshness` for freshness jobs, a v20 manifest, run results without the
   * fields Fusion leaves out, and reused nodes.
   */
  fusion: boolean;
}

export interface FakeRun {
  id: number;
  jobId: number;
  projectId: number;
  environmentId: number;
  triggerId: number;
  cause: string;
  gitSha: string;
  gitBranch: string;
  createdAt: Date;
  startedAt: Date;
  finishedAt: Date;
  micros: number;
  outcome: Outcome;
  steps: FakeStep[];
  /** Extra or changed fields of the run's JSON (tests patch these: artifacts_saved and the like). */
  patch: Record<string, unknown>;
  /** For runs triggered through the API: polls left before it is complete. */
  pollsLeft?: number;
  /** dbt Cloud saves artifacts a moment after a run ends: until then artifacts_saved is false. */
  artifactsReadyAt?: Date;
}

export interface FakeAccountOptions {
  seed?: number;
  accountId?: number;
  /** Runs are created in [from, to). */
  from: Date;
  to: Date;
  /** The fake's present: runs finishing after it are still in progress. Default `to`. */
  now?: Date;
  /** A present that moves: the wall clock (or this function), for live runs (finishNow). Overrides `now`. */
  clock?: () => number;
  /** Cadence of every job, overriding the generated ones. */
  everyMinutes?: number;
  jobsPerEnvironment?: number;
  /** Base artifact sizes in bytes (each run varies them from 50% to 150%). */
  sizes?: Partial<Record<string, number>>;
  /** Exact sizes for some files; undefined falls back to the base sizes. */
  sizeOf?: (runId: number, step: number, file: string) => number | undefined;
  /** Every job runs these commands (no freshness, no docs) and every run succeeds (benchmarks). */
  uniform?: { executeSteps: string[] };
  /**
   * The runs whose project has semantic models: every step that parses also writes
   * semantic_manifest.json and graph_summary.json, as dbt does. Default: every third run.
   */
  extraArtifacts?: (runId: number) => boolean;
  /** Bodies served instead of generated ones (benchmarks: a real project's files, from disk). */
  bodyOf?: (runId: number, step: number, file: string) => { size: number; open: () => Readable } | undefined;
}

/** What a parse writes in a project with semantic models (dbt's "About dbt artifacts"). */
export const EXTRA_ARTIFACTS = ['semantic_manifest.json', 'graph_summary.json'];

const JOB_TEMPLATES = [
  {
    name: 'Hourly build',
    executeSteps: ['dbt build --select tag:hourly'],
    generateDocs: false,
    runGenerateSources: false,
  },
  {
    name: 'Nightly full refresh',
    executeSteps: ['dbt seed', 'dbt run --select +marts --full-refresh', 'dbt test'],
    generateDocs: true,
    runGenerateSources: true,
  },
  {
    name: 'Snapshots and grants',
    executeSteps: ['dbt --warn-error snapshot', 'dbt run-operation grant_select --args "{role: reporter}"'],
    generateDocs: false,
    runGenerateSources: false,
  },
  { name: 'Compile check', executeSteps: ['dbt compile'], generateDocs: true, runGenerateSources: false },
  { name: 'Freshness', executeSteps: ['dbt source freshness'], generateDocs: false, runGenerateSources: false },
] as const;

const DEFAULT_SIZES: Record<string, number> = {
  'manifest.json': 48_000,
  'run_results.json': 6_000,
  'catalog.json': 24_000,
  'sources.json': 3_000,
  'semantic_manifest.json': 12_000,
  'graph_summary.json': 4_000,
};

export const FIRST_RUN_ID = 2 ** 31 + 70_000;

/** The dbt sub-command of an execute step: `dbt --warn-error seed` -> `seed`. */
export function commandOf(step: string): string {
  const words = step.trim().split(/\s+/).slice(1);
  const out: string[] = [];
  for (const w of words) {
    if (w.startsWith('-')) {
      if (out.length > 0) break;
      continue;
    }
    out.push(w);
    if (!['docs', 'source'].includes(w) || out.length === 2) break;
  }
  return out.join(' ');
}

function formatRunTime(date: Date, micros: number): string {
  const iso = date.toISOString(); // 2022-06-01T00:00:00.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(micros).padStart(3, '0')}+00:00`;
}

export class FakeAccount {
  readonly seed: number;
  readonly accountId: number;
  private readonly fixedNow: Date;
  private readonly clock: (() => number) | undefined;
  readonly projects: number[];
  readonly environments: { id: number; projectId: number; name: string; deploymentType: string }[] = [];
  readonly jobs: FakeJob[] = [];
  readonly runs: FakeRun[] = [];
  private readonly runsById = new Map<number, FakeRun>();
  private readonly sizes: Record<string, number>;
  private readonly sizeOf: FakeAccountOptions['sizeOf'];
  private readonly uniform: boolean;
  private readonly extraArtifacts: (runId: number) => boolean;
  readonly bodyOf: FakeAccountOptions['bodyOf'];
  private nextRunId = FIRST_RUN_ID;

  constructor(options: FakeAccountOptions) {
    this.seed = options.seed ?? 42;
    this.accountId = options.accountId ?? 43_210;
    this.fixedNow = options.now ?? options.to;
    this.clock = options.clock;
    this.sizes = { ...DEFAULT_SIZES, ...(options.sizes as Record<string, number> | undefined) };
    this.sizeOf = options.sizeOf;
    this.uniform = options.uniform !== undefined;
    this.extraArtifacts = options.extraArtifacts ?? ((runId) => mix(this.seed, runId, 77) % 3 === 0);
    this.bodyOf = options.bodyOf;
    this.projects = [270_542, 270_543];
    let envId = 218_760;
    let jobId = 640_120;
    const perEnv = options.jobsPerEnvironment ?? 3;
    for (const projectId of this.projects) {
      for (const [name, deploymentType] of [
        ['Production', 'production'],
        ['Staging', 'staging'],
      ] as const) {
        const environmentId = envId++;
        this.environments.push({ id: environmentId, projectId, name, deploymentType });
        for (let j = 0; j < perEnv; j++) {
          const template = options.uniform
            ? {
                name: 'Uniform',
                executeSteps: options.uniform.executeSteps,
                generateDocs: false,
                runGenerateSources: false,
              }
            : JOB_TEMPLATES[(j + this.environments.length) % JOB_TEMPLATES.length]!;
          const id = jobId++;
          // The second project runs on Fusion (dbt v2); there, freshness is `dbt freshness`.
          const fusion = !options.uniform && projectId === this.projects[1];
          this.jobs.push({
            id,
            projectId,
            environmentId,
            name: `${template.name} (${name})`,
            executeSteps: template.executeSteps.map((cmd) =>
              fusion && cmd === 'dbt source freshness' ? 'dbt freshness' : cmd,
            ),
            generateDocs: template.generateDocs,
            runGenerateSources: template.runGenerateSources,
            everyMinutes: options.everyMinutes ?? pick([15, 20, 30, 60], this.seed, id),
            offsetMinutes: mix(this.seed, id, 7) % 15,
            createdAt: new Date(Date.UTC(2021, 10, 18, 15, 19, 3, 185)),
            lowercaseSteps: projectId === this.projects[1],
            fusion,
          });
        }
      }
    }
    const planned: { job: FakeJob; createdAt: Date }[] = [];
    for (const job of this.jobs) {
      const every = job.everyMinutes * 60_000;
      const first =
        Math.ceil((options.from.getTime() - job.offsetMinutes * 60_000) / every) * every + job.offsetMinutes * 60_000;
      for (let t = first; t < options.to.getTime(); t += every) {
        planned.push({ job, createdAt: new Date(t + (mix(this.seed, job.id, t / 1000) % 20_000)) });
      }
    }
    planned.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.job.id - b.job.id);
    for (const p of planned) this.generateRun(p.job, p.createdAt);
  }

  private generateRun(
    job: FakeJob,
    createdAt: Date,
    forced?: { finishedAt?: Date; outcome?: Outcome; failAt?: number; micros?: number; gitSha?: string },
  ): FakeRun {
    const id = this.nextRunId;
    this.nextRunId += 1 + (mix(this.seed, id) % 5);
    const r = unit(this.seed, id, 11);
    const outcome: Outcome =
      forced?.outcome ??
      (this.uniform ? 'success' : r < 0.04 ? 'clone-failure' : r < 0.16 ? 'error' : r < 0.21 ? 'cancelled' : 'success');
    const queued = 2_000 + (mix(this.seed, id, 12) % 58_000);
    let startedAt = new Date(createdAt.getTime() + queued);
    let finishedAt: Date;
    if (forced?.finishedAt) {
      finishedAt = forced.finishedAt;
      const duration = 60_000 + (mix(this.seed, id, 13) % 1_500_000);
      startedAt = new Date(finishedAt.getTime() - duration);
      if (startedAt.getTime() < createdAt.getTime()) createdAt = new Date(startedAt.getTime() - queued);
    } else {
      const duration = outcome === 'clone-failure' ? 8_000 : 60_000 + (mix(this.seed, id, 13) % 1_500_000);
      finishedAt = new Date(startedAt.getTime() + duration);
    }
    const run: FakeRun = {
      id,
      jobId: job.id,
      projectId: job.projectId,
      environmentId: job.environmentId,
      triggerId: id + 1_000_000,
      cause: 'Scheduled',
      gitSha:
        forced?.gitSha ?? [14, 15, 16, 17, 19].map((k) => mix(this.seed, id, k).toString(16).padStart(8, '0')).join(''),
      gitBranch: 'main',
      createdAt,
      startedAt,
      finishedAt,
      micros: forced?.micros ?? mix(this.seed, id, 18) % 1000,
      outcome,
      steps: [],
      patch: {},
    };
    run.steps = this.buildSteps(job, run, forced?.failAt);
    this.runs.push(run);
    this.runsById.set(id, run);
    return run;
  }

  /** The steps of a run as dbt Cloud lists them, with the files each step wrote. */
  buildSteps(job: FakeJob, run: FakeRun, failAt?: number, executeSteps?: readonly string[]): FakeStep[] {
    const invoke = (cmd: string): string =>
      job.lowercaseSteps ? `invoke dbt with \`${cmd}\` ` : `Invoke dbt with \`${cmd}\``;
    const plan: { name: string; command: string | null }[] = [
      { name: 'Clone Git Repository', command: null },
      { name: 'Create Profile from Connection Snowflake ', command: null },
      { name: invoke('dbt deps'), command: 'deps' },
    ];
    if (job.runGenerateSources) plan.push({ name: invoke('dbt source freshness'), command: 'source freshness' });
    for (const cmd of executeSteps ?? job.executeSteps) plan.push({ name: invoke(cmd), command: commandOf(cmd) });
    if (job.generateDocs) plan.push({ name: invoke('dbt docs generate'), command: 'docs generate' });

    let last = plan.length;
    let finalStatus = 10;
    if (run.outcome === 'clone-failure') {
      last = 1;
      finalStatus = 20;
    } else if (run.outcome === 'error') {
      last = failAt ?? 4 + (mix(this.seed, run.id, 21) % (plan.length - 3));
      finalStatus = 20;
    } else if (run.outcome === 'cancelled') {
      last = failAt ?? 1 + (mix(this.seed, run.id, 22) % plan.length);
      finalStatus = 30;
    }
    const span = run.finishedAt.getTime() - run.startedAt.getTime();
    const steps: FakeStep[] = [];
    for (let i = 0; i < last; i++) {
      const entry = plan[i]!;
      const isLast = i === last - 1;
      const status = isLast ? finalStatus : 10;
      const failing = isLast && finalStatus === 20;
      const cancelled = isLast && finalStatus === 30;
      steps.push({
        index: i + 1,
        name: entry.name,
        command: entry.command,
        status,
        startedAt: new Date(run.startedAt.getTime() + Math.floor((span * i) / last)),
        finishedAt: new Date(run.startedAt.getTime() + Math.floor((span * (i + 1)) / last)),
        files:
          entry.command === null || cancelled || run.outcome === 'clone-failure'
            ? []
            : [
                ...filesOfCommand(entry.command),
                ...(entry.command !== 'deps' && this.extraArtifacts(run.id) ? EXTRA_ARTIFACTS : []),
                ...(job.fusion && entry.command !== 'deps' ? [telemetryFile(i + 1)] : []),
              ],
        failing,
      });
    }
    return steps;
  }

  /** The fake's present: fixed, or its clock's time. */
  get now(): Date {
    return this.clock ? new Date(this.clock()) : this.fixedNow;
  }

  /**
   * A run of `jobId` that ends at the present (live accounts: the clock moves on). Its artifacts
   * are saved `artifactsAfterMs` later (default at once).
   */
  finishNow(jobId: number, options: { outcome?: Outcome; artifactsAfterMs?: number; failAt?: number } = {}): FakeRun {
    const finishedAt = this.now;
    const run = this.generateRun(this.job(jobId), new Date(finishedAt.getTime() - 10 * 60_000), {
      finishedAt,
      outcome: options.outcome ?? 'success',
      failAt: options.failAt,
      micros: 0,
    });
    if (options.artifactsAfterMs) run.artifactsReadyAt = new Date(finishedAt.getTime() + options.artifactsAfterMs);
    return run;
  }

  /** Adds a run of `jobId` that finishes exactly at `finishedAt` (for boundary tests). */
  addRun(
    jobId: number,
    options: {
      finishedAt: Date;
      outcome?: Outcome;
      failAt?: number;
      micros?: number;
      gitSha?: string;
      createdAt?: Date;
    },
  ): FakeRun {
    const job = this.job(jobId);
    const createdAt = options.createdAt ?? new Date(options.finishedAt.getTime() - 30 * 60_000);
    return this.generateRun(job, createdAt, { ...options, micros: options.micros ?? 0 });
  }

  /** A run triggered through the API: queued, then running, then done after a few polls. */
  triggerRun(
    jobId: number,
    body: { cause: string; git_sha?: string; git_branch?: string; steps_override?: string[] },
    outcome: Outcome,
  ): FakeRun {
    const job = this.job(jobId);
    const now = new Date();
    const id = this.nextRunId;
    this.nextRunId += 1;
    const run: FakeRun = {
      id,
      jobId,
      projectId: job.projectId,
      environmentId: job.environmentId,
      triggerId: id + 1_000_000,
      cause: body.cause,
      gitSha: body.git_sha ?? 'f00dfeed00000000000000000000000000000001',
      gitBranch: body.git_branch ?? 'main',
      createdAt: now,
      startedAt: now,
      finishedAt: now,
      micros: 0,
      outcome,
      steps: [],
      patch: {},
      pollsLeft: 2,
    };
    run.steps = this.buildSteps(job, run, undefined, body.steps_override);
    this.runs.push(run);
    this.runsById.set(id, run);
    return run;
  }

  job(jobId: number): FakeJob {
    const job = this.jobs.find((j) => j.id === jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    return job;
  }

  run(runId: number): FakeRun | undefined {
    return this.runsById.get(runId);
  }

  /** Complete means finished by the fake's present (or, for triggered runs, polled to the end). */
  isComplete(run: FakeRun): boolean {
    if (run.pollsLeft !== undefined) return run.pollsLeft <= 0;
    return run.finishedAt.getTime() <= this.now.getTime();
  }

  statusOf(run: FakeRun): number {
    if (!this.isComplete(run)) {
      if (run.pollsLeft !== undefined) return run.pollsLeft >= 2 ? 1 : 3;
      return run.startedAt.getTime() <= this.now.getTime() ? 3 : 1;
    }
    if (typeof run.patch['status'] === 'number') return run.patch['status'];
    return run.outcome === 'success' ? 10 : run.outcome === 'cancelled' ? 30 : 20;
  }

  artifactsSaved(run: FakeRun): boolean {
    if (typeof run.patch['artifacts_saved'] === 'boolean') return run.patch['artifacts_saved'];
    if (run.artifactsReadyAt && this.now.getTime() < run.artifactsReadyAt.getTime()) return false;
    return this.isComplete(run) && run.outcome !== 'clone-failure';
  }

  // ---- artifacts -------------------------------------------------------------------------------

  spec(run: FakeRun, step: FakeStep, file: string): ArtifactSpec {
    const base = this.sizes[file] ?? 2_000;
    const size =
      this.sizeOf?.(run.id, step.index, file) ??
      Math.floor(base * (0.5 + unit(this.seed, run.id, step.index, file.length)));
    return {
      seed: this.seed,
      runId: run.id,
      step: step.index,
      file,
      command: step.command ?? '',
      size,
      failing: step.failing,
      generatedAt: (step.finishedAt ?? run.finishedAt).toISOString().replace('Z', '000Z'),
      engine: this.job(run.jobId).fusion ? 'fusion' : 'core',
      startedAt: step.startedAt,
    };
  }

  /** The step whose file is served: `step` if given, else the run's last step. */
  stepFor(run: FakeRun, step: number | undefined): FakeStep | undefined {
    return step === undefined ? run.steps[run.steps.length - 1] : run.steps.find((s) => s.index === step);
  }

  // ---- the truth -------------------------------------------------------------------------------

  /** Terminal runs with start <= finished_at < end (cancelled only when asked for), in id order. */
  runsFinishedIn(
    start: Date,
    end: Date,
    options: { includeCancelled?: boolean; jobIds?: readonly number[] } = {},
  ): FakeRun[] {
    return this.runs.filter((run) => {
      if (!this.isComplete(run) || run.pollsLeft !== undefined) return false;
      const status = this.statusOf(run);
      if (status === 30 && !options.includeCancelled) return false;
      if (options.jobIds && !options.jobIds.includes(run.jobId)) return false;
      const t = run.finishedAt.getTime();
      return t >= start.getTime() && t < end.getTime();
    });
  }

  /** The files a harvest stores for a run: every top-level JSON artifact and telemetry file of each step, or these. */
  expectedFiles(
    runId: number,
    files?: readonly string[],
  ): { step: number; command: string; file: string; size: number }[] {
    const run = this.runsById.get(runId);
    if (!run) throw new Error(`no run ${runId}`);
    return run.steps.flatMap((step) =>
      step.files
        .filter((file) => (files ? files.includes(file) : /^[^/]+\.json$/.test(file) || TELEMETRY_FILE.test(file)))
        .map((file) => ({
          step: step.index,
          command: step.command ?? '',
          file,
          size: artifactSize(this.spec(run, step, file)),
        })),
    );
  }

  artifact(
    runId: number,
    step: number,
    file: string,
  ): { stream: Readable; size: number; sha256: () => Promise<string> } {
    const run = this.runsById.get(runId);
    const s = run && this.stepFor(run, step);
    if (!run || !s?.files.includes(file)) throw new Error(`run ${runId} step ${step} has no ${file}`);
    const spec = this.spec(run, s, file);
    return { stream: artifactStream(spec), size: artifactSize(spec), sha256: () => artifactSha256(spec) };
  }

  // ---- JSON as the API renders it --------------------------------------------------------------

  runJson(run: FakeRun, related: ReadonlySet<string>): Record<string, unknown> {
    const job = this.job(run.jobId);
    const complete = this.isComplete(run);
    const status = this.statusOf(run);
    const env = this.environments.find((e) => e.id === run.environmentId)!;
    const visibleSteps = complete
      ? run.steps
      : run.steps.slice(0, 1).map((s) => ({ ...s, status: 3, finishedAt: null }));
    const fmt = (d: Date): string => formatRunTime(d, run.micros);
    const finished = complete ? fmt(run.finishedAt) : null;
    const durationS = Math.round((run.finishedAt.getTime() - run.createdAt.getTime()) / 1000);
    const humanized =
      { 1: 'Queued', 2: 'Starting', 3: 'Running', 10: 'Success', 20: 'Error', 30: 'Cancelled' }[status] ?? 'Unknown';
    return {
      id: run.id,
      trigger_id: run.triggerId,
      account_id: this.accountId,
      environment_id: run.environmentId,
      project_id: run.projectId,
      job_definition_id: run.jobId,
      status,
      dbt_version: job.fusion ? 'latest-fusion' : '1.8.0-latest',
      git_branch: run.gitBranch,
      git_sha: run.gitSha,
      status_message: status === 20 ? 'Database Error in model' : null,
      owner_thread_id: null,
      executed_by_thread_id: `dbt-run-${run.id}-abcde`,
      deferring_run_id: null,
      artifacts_saved: this.artifactsSaved(run),
      artifact_s3_path: `prod-us-c1/runs/${run.id}/artifacts/target`,
      has_docs_generated: run.steps.some((s) => s.command === 'docs generate' && s.files.length > 0),
      has_sources_generated: run.steps.some((s) => s.command === 'source freshness' && s.files.length > 0),
      notifications_sent: complete,
      blocked_by: [],
      scribe_enabled: true,
      created_at: fmt(run.createdAt),
      updated_at: finished ?? fmt(run.createdAt),
      dequeued_at: fmt(run.startedAt),
      started_at: fmt(run.startedAt),
      finished_at: finished,
      last_checked_at: null,
      last_heartbeat_at: null,
      should_start_allowed: true,
      trigger: related.has('trigger')
        ? {
            id: run.triggerId,
            cause: run.cause,
            job_definition_id: run.jobId,
            git_branch: null,
            git_sha: null,
            azure_pull_request_id: null,
            github_pull_request_id: null,
            gitlab_merge_request_id: null,
            schema_override: null,
            dbt_version_override: null,
            threads_override: null,
            target_name_override: null,
            generate_docs_override: null,
            timeout_seconds_override: null,
            steps_override: null,
            created_at: fmt(run.createdAt),
            cause_humanized: run.cause,
            job: null,
          }
        : null,
      job: related.has('job') ? this.jobJson(job) : null,
      environment: related.has('environment')
        ? {
            id: env.id,
            account_id: this.accountId,
            project_id: env.projectId,
            name: env.name,
            type: 'deployment',
            deployment_type: env.deploymentType,
            dbt_version: job.fusion ? 'latest-fusion' : '1.8.0-latest',
            use_custom_branch: false,
            custom_branch: null,
            state: 1,
            // What an environment may carry besides its own fields: its connection and credentials
            // (the harvest keeps only their ids).
            connection_id: env.id + 700,
            credentials_id: env.id + 900,
            connection: { id: env.id + 700, name: 'BigQuery', type: 'bigquery', details: { project_id: 'acme-prod' } },
            credentials: {
              id: env.id + 900,
              type: 'bigquery',
              state: 1,
              threads: 4,
              target_name: 'prod',
              schema: 'analytics',
              username: 'svc-dbt@acme-prod.iam.gserviceaccount.com',
            },
          }
        : null,
      run_steps: related.has('run_steps')
        ? visibleSteps.map((s) => ({
            id: run.id * 10 + s.index,
            run_id: run.id,
            account_id: this.accountId,
            index: s.index,
            status: s.status,
            name: s.name,
            logs: `${s.name.trim()} ... done`,
            debug_logs: '',
            log_location: 'db',
            log_path: null,
            debug_log_path: null,
            log_archive_type: 'db',
            truncated_debug_logs: '',
            created_at: fmt(s.startedAt),
            updated_at: fmt(s.startedAt),
            started_at: fmt(s.startedAt),
            finished_at: s.finishedAt ? fmt(s.finishedAt) : null,
            status_color: s.status === 10 ? 'green' : 'red',
            status_humanized: { 3: 'Running', 10: 'Success', 20: 'Error', 30: 'Cancelled' }[s.status] ?? 'Unknown',
            duration: '00:00:07',
            duration_humanized: '7 seconds',
          }))
        : [],
      status_humanized: humanized,
      in_progress: !complete,
      is_complete: complete,
      is_success: status === 10,
      is_error: status === 20,
      is_cancelled: status === 30,
      is_running: status === 3,
      duration: `00:${String(Math.floor(durationS / 60) % 60).padStart(2, '0')}:${String(durationS % 60).padStart(2, '0')}`,
      duration_humanized: `${Math.floor(durationS / 60)} minutes, ${durationS % 60} seconds`,
      href: `https://cloud.getdbt.com/deploy/${this.accountId}/projects/${run.projectId}/runs/${run.id}/`,
      job_id: run.jobId,
      ...run.patch,
    };
  }

  jobJson(job: FakeJob): Record<string, unknown> {
    return {
      id: job.id,
      account_id: this.accountId,
      project_id: job.projectId,
      environment_id: job.environmentId,
      name: job.name,
      description: '',
      dbt_version: null,
      triggers: { github_webhook: false, git_provider_webhook: false, schedule: true, on_merge: false },
      execute_steps: job.executeSteps,
      settings: { threads: 4, target_name: 'prod' },
      state: 1,
      generate_docs: job.generateDocs,
      run_generate_sources: job.runGenerateSources,
      schedule: {
        cron: `${job.offsetMinutes}/${job.everyMinutes} * * * *`,
        date: { type: 'custom_cron' },
        time: { type: 'every_hour' },
      },
      job_type: 'scheduled',
      deferring_job_definition_id: null,
      created_at: job.createdAt.toISOString().replace('Z', '668+00:00'),
      updated_at: '2022-03-15T10:17:35.755212Z',
      is_deferrable: false,
      next_run: null,
    };
  }
}
