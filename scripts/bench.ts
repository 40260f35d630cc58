/**
 * npm run bench: memory, throughput, rate-limit, backfill, round-trip and freshness figures for the
 * harvest, against the fake dbt Cloud on loopback. Prints a markdown table and writes
 * bench-results/bench.json.
 *
 *   npm run bench -- [--only memory,throughput,requests,ratelimit,backfill,roundtrips,freshness,history,coverage,webhook]
 *                    [--runs 500] [--fresh-runs 60] [--dbt-coverage DIR] [--copies 300]
 */
import { PubSub } from '@google-cloud/pubsub';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { DbtCloudClient } from '../lib/dbt-cloud/client.ts';
import { DEFAULT_ARTIFACTS, OPTIONS } from '../lib/config/options.ts';
import { ARTIFACT_CONCURRENCY, harvestRun } from '../lib/harvest/run-harvest.ts';
import { harvestWindow } from '../lib/harvest/window.ts';
import { LocalFolder } from '../lib/storage/local.ts';
import { startFakeDbtCloud, type FakeDbtCloud } from '../harness/fake-dbt-cloud/server.ts';
import type { FakeRun } from '../harness/fake-dbt-cloud/model.ts';
import { startFakeGcs } from '../harness/fake-gcs/server.ts';
import { startPipeline } from '../harness/pipeline.ts';
import { buildOnce, startPubSubEmulator } from '../harness/services.ts';

const { values } = parseArgs({
  options: {
    only: {
      type: 'string',
      default: 'memory,throughput,requests,ratelimit,backfill,roundtrips,freshness,history,coverage',
    },
    runs: { type: 'string', default: '500' },
    'fresh-runs': { type: 'string', default: '60' },
    /** A git checkout of dbt-coverage, to run it side by side (skipped without one). */
    'dbt-coverage': { type: 'string' },
    /** Copies of the public project in the large one (300: a 390 MB manifest). */
    copies: { type: 'string', default: '300' },
  },
});
const only = new Set(values.only.split(','));
const TOKEN = 'bench-token';
const DAY = { from: new Date('2022-06-01T00:00:00Z'), to: new Date('2022-06-02T00:00:00Z') };
/** An account of one run in one hour: the parts that measure a single large run. */
const ONE_RUN = {
  from: new Date('2022-06-01T00:00:00Z'),
  to: new Date('2022-06-01T01:00:00Z'),
  token: TOKEN,
  everyMinutes: 60,
  jobsPerEnvironment: 1,
};
const results: Record<string, unknown> = {
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  at: new Date().toISOString(),
};
const rows: string[][] = [];
const MB = 1024 * 1024;
const log = (text: string): void => void process.stderr.write(`${text}\n`);

// ---- memory --------------------------------------------------------------------------------------
async function memory(
  bytes: number,
  options: { coverage?: boolean; tuned?: boolean } = {},
): Promise<{ maxRssMb: number; seconds: number; bytes: number }> {
  const fake = await startFakeDbtCloud({
    ...ONE_RUN,
    uniform: { executeSteps: ['dbt run'] },
    sizeOf: (_r, _s, f) => (f === 'manifest.json' ? bytes : undefined),
  });
  const run = fake.account.runs[0]!;
  try {
    const r = await harvestInChild(fake, run.id, options);
    if (r.outcome.status !== 'stored') throw new Error(`run not stored: ${JSON.stringify(r.outcome)}`);
    return { maxRssMb: Number(r.maxRssMb.toFixed(1)), seconds: Number(r.seconds.toFixed(2)), bytes: r.outcome.bytes };
  } finally {
    await fake.stop();
  }
}

/** One run harvested in its own process (scripts/bench-memory-child.ts), as harvestRun runs it by default. */
async function harvestInChild(
  fake: FakeDbtCloud,
  runId: number,
  options: { coverage?: boolean; tuned?: boolean } = {},
): Promise<{ outcome: { status: string; bytes: number }; seconds: number; maxRssMb: number }> {
  const out = await mkdtemp(join(tmpdir(), 'bench-harvest-'));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        'scripts/bench-memory-child.ts',
        '--url',
        fake.url,
        '--account',
        String(fake.accountId),
        '--token',
        TOKEN,
        '--run',
        String(runId),
        '--out',
        out,
        '--coverage',
        String(options.coverage ?? true),
        '--tuned',
        String(options.tuned ?? true),
      ],
      { maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout) as { outcome: { status: string; bytes: number }; seconds: number; maxRssMb: number };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

if (only.has('memory')) {
  log(
    'memory: one run with a 10 MiB manifest, then one with a 1 GiB manifest, each in its own process, as harvestRun runs (coverage on, V8 tuned); then the 1 GiB one with coverage off, and with V8 untuned (the CLI); three of each but the last, their medians',
  );
  // One process's peak varies by about 10 MB from run to run here: each figure is the median of
  // three runs, the 1 GiB runs with and without coverage taken in turn.
  const small = await median(3, () => memory(10 * MB));
  const [large, plain] = await alternately(
    3,
    () => memory(1024 * MB),
    () => memory(1024 * MB, { coverage: false }),
  );
  const untuned = await memory(1024 * MB, { tuned: false });
  results['memory'] = {
    small,
    large,
    largeWithoutCoverage: plain,
    largeUntuned: untuned,
    differenceMb: Number((large.maxRssMb - small.maxRssMb).toFixed(1)),
  };
  rows.push(['memory', 'peak RSS, run with a 10 MiB manifest', `${small.maxRssMb} MB`, '']);
  rows.push([
    'memory',
    'peak RSS, run with a 1 GiB manifest',
    `${large.maxRssMb} MB`,
    `< 200 MB: ${large.maxRssMb < 200 ? 'yes' : 'NO'}`,
  ]);
  rows.push([
    'memory',
    'difference',
    `${(large.maxRssMb - small.maxRssMb).toFixed(1)} MB`,
    `< 50 MB: ${large.maxRssMb - small.maxRssMb < 50 ? 'yes' : 'NO'}`,
  ]);
  rows.push([
    'memory',
    '1 GiB run harvested in',
    `${large.seconds} s (${(large.bytes / MB / large.seconds).toFixed(0)} MiB/s)`,
    '',
  ]);
  rows.push([
    'memory',
    '1 GiB run, coverage off',
    `${plain.seconds} s (${(plain.bytes / MB / plain.seconds).toFixed(0)} MiB/s); peak RSS ${plain.maxRssMb} MB`,
    `coverage on <= 1.5x off: ${large.seconds <= plain.seconds * 1.5 ? 'yes' : 'NO'} (${(large.seconds / plain.seconds).toFixed(2)}x)`,
  ]);
  rows.push(['memory', '1 GiB run, V8 untuned (the CLI)', `${untuned.seconds} s; peak RSS ${untuned.maxRssMb} MB`, '']);
}

// ---- throughput ----------------------------------------------------------------------------------
async function harvestAll(
  fake: FakeDbtCloud,
  concurrency: number,
  requestsPerMinute: number,
  artifactConcurrency?: number,
  discovery: 'list' | 'probe-every-step' = 'list',
): Promise<{
  seconds: number;
  runs: number;
  stored: number;
  requests: number;
  throttled: number;
  notFound: number;
  files: number;
}> {
  const out = await mkdtemp(join(tmpdir(), 'bench-harvest-'));
  const client = new DbtCloudClient({
    baseUrl: fake.url,
    accountId: fake.accountId,
    token: TOKEN,
    requestsPerMinute,
    retry: { maxRetries: 12 },
  });
  const before = fake.requests.length;
  const started = performance.now();
  try {
    const summary = await harvestWindow(
      { start: DAY.from, end: DAY.to },
      { client, store: new LocalFolder(out), artifacts: 'all', artifactConcurrency, discovery },
      { concurrency },
    );
    const seconds = (performance.now() - started) / 1000;
    const requests = fake.requests.slice(before);
    const { readdir } = await import('node:fs/promises');
    const stored = (await readdir(out, { recursive: true, withFileTypes: true })).filter(
      (e) =>
        e.isFile() &&
        /(?:^|_)(?:manifest|run_results|catalog|sources|semantic_manifest|graph_summary)\.json$/.test(e.name),
    );
    return {
      seconds: Number(seconds.toFixed(2)),
      runs: summary.runs,
      stored: summary.stored,
      requests: requests.length,
      throttled: requests.filter((r) => r.status === 429).length,
      notFound: requests.filter((r) => r.status === 404).length,
      files: stored.length,
    };
  } finally {
    client.close();
    await rm(out, { recursive: true, force: true });
  }
}

const runsWanted = Number(values.runs);
const uniformAccount = (extra: Partial<Parameters<typeof startFakeDbtCloud>[0]>) =>
  startFakeDbtCloud({
    ...DAY,
    token: TOKEN,
    jobsPerEnvironment: 5,
    everyMinutes: (24 * 60 * 20) / runsWanted,
    uniform: { executeSteps: ['dbt seed', 'dbt run', 'dbt test'] },
    // The plain three-step run; the requests section adds semantic models to a third of the runs.
    extraArtifacts: () => false,
    ...extra,
  });

if (only.has('throughput')) {
  const defaultConcurrency = Number(OPTIONS.concurrency.default);
  const fake = await uniformAccount({ latencyMs: 25 });
  log(
    `throughput: ${fake.account.runs.length} runs, three dbt steps each, 25 ms per request; one run and one file at a time, one run at a time, then ${defaultConcurrency} runs at once`,
  );
  // The client-side limit is lifted here to measure the harvester itself; see the rate-limit row.
  const sequential = await harvestAll(fake, 1, 600_000, 1);
  const one = await harvestAll(fake, 1, 600_000);
  const many = await harvestAll(fake, defaultConcurrency, 600_000);
  await fake.stop();
  const perRun = many.requests / many.runs;
  const speedup = sequential.seconds / many.seconds;
  results['throughput'] = {
    runs: many.runs,
    sequential,
    concurrency1: one,
    [`concurrency${defaultConcurrency}`]: many,
    requestsPerRun: Number(perRun.toFixed(2)),
    speedup: Number(speedup.toFixed(1)),
  };
  rows.push([
    'throughput',
    `${sequential.runs} runs, one run and one file at a time`,
    `${sequential.seconds} s (${(sequential.runs / sequential.seconds).toFixed(1)} runs/s)`,
    '',
  ]);
  rows.push([
    'throughput',
    `${one.runs} runs, one run at a time (its files ${ARTIFACT_CONCURRENCY} at a time)`,
    `${one.seconds} s (${(one.runs / one.seconds).toFixed(1)} runs/s)`,
    '',
  ]);
  rows.push([
    'throughput',
    `${many.runs} runs at concurrency ${defaultConcurrency} (default)`,
    `${many.seconds} s (${(many.runs / many.seconds).toFixed(1)} runs/s)`,
    '',
  ]);
  rows.push([
    'throughput',
    'speedup over one run and one file at a time',
    `${speedup.toFixed(1)}x`,
    `>= 10x: ${speedup >= 10 ? 'yes' : 'NO'}`,
  ]);
  rows.push([
    'throughput',
    'requests per run',
    `${perRun.toFixed(2)} (${many.notFound} answered 404)`,
    `<= 9: ${perRun <= 9 ? 'yes' : 'NO'}`,
  ]);
}

// ---- requests: the run's list and dbt's table, against asking every step for every file -------------
if (only.has('requests')) {
  // A third of the runs write semantic_manifest.json and graph_summary.json at every parse.
  const fake = await uniformAccount({ latencyMs: 25, extraArtifacts: (runId) => runId % 3 === 0 });
  log(`requests: ${fake.account.runs.length} three-step runs, a third of them with semantic models; before and after`);
  const before = await harvestAll(fake, 8, 600_000, undefined, 'probe-every-step');
  const after = await harvestAll(fake, 8, 600_000, undefined, 'list');
  await fake.stop();
  results['requests'] = { before, after };
  for (const [name, r] of [
    ['every file of every step (before)', before],
    ["the run's list and dbt's table (now)", after],
  ] as const)
    rows.push([
      'requests',
      `${r.runs} runs, ${name}`,
      `${(r.requests / r.runs).toFixed(2)} requests/run, ${r.notFound} 404s, ${r.files} files stored, ${r.seconds} s`,
      '',
    ]);
  rows.push([
    'requests',
    'files stored, now against before',
    `+${(((after.files - before.files) / before.files) * 100).toFixed(0)}% files in ${(((after.requests - before.requests) / before.requests) * 100).toFixed(0)}% requests`,
    `more files in fewer requests: ${after.files > before.files && after.requests < before.requests ? 'yes' : 'NO'}`,
  ]);
}

// ---- rate limit ----------------------------------------------------------------------------------
if (only.has('ratelimit')) {
  const limit = 100;
  const fake = await uniformAccount({ rateLimitPerSecond: limit, everyMinutes: (24 * 60 * 20) / 200 });
  log(`rate limit: ${fake.account.runs.length} runs against a fake that answers 429 above ${limit} requests a second`);
  // The client is set to 90 % of the limit, as the default (4,500 a minute) is of dbt Cloud's 5,000.
  const clientPerMinute = Math.round(limit * 60 * 0.9);
  const r = await harvestAll(fake, Number(OPTIONS.concurrency.default), clientPerMinute);
  await fake.stop();
  const ok = (r.requests - r.throttled) / r.seconds;
  results['rateLimit'] = {
    limitPerSecond: limit,
    ...r,
    successfulPerSecond: Number(ok.toFixed(1)),
    shareOfLimit: Number((ok / limit).toFixed(2)),
  };
  rows.push([
    'rate limit',
    `${r.runs} runs, fake limit ${limit} req/s, client limit ${Math.round(limit * 60 * 0.9)}/min`,
    `${r.stored}/${r.runs} stored in ${r.seconds} s, ${r.throttled} answers 429`,
    `all stored: ${r.stored === r.runs ? 'yes' : 'NO'}`,
  ]);
  rows.push([
    'rate limit',
    'successful requests per second',
    `${ok.toFixed(1)} (${((100 * ok) / limit).toFixed(0)} % of the limit)`,
    `>= 80 %: ${ok / limit >= 0.8 ? 'yes' : 'NO'}`,
  ]);
}

// ---- backfill ------------------------------------------------------------------------------------
/**
 * Peak RSS of a backfill, in its own process, over a window of a fake account with 1,000 runs a day
 * (in another process), publishing to the real Pub/Sub emulator.
 */
async function backfillMemory(
  days: number,
  emulator: string,
  fakeUrl: string,
  accountId: number,
  now: Date,
): Promise<{ maxRssMb: number; seconds: number; runs: number; published: number }> {
  const start = new Date(now.getTime() - days * 86_400_000);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['scripts/bench-backfill-child.ts', '--start', start.toISOString(), '--end', now.toISOString()],
    {
      maxBuffer: 1 << 24,
      env: {
        PATH: process.env['PATH'],
        DBT_CLOUD_ACCOUNT_ID: String(accountId),
        DBT_CLOUD_TOKEN: TOKEN,
        DBT_CLOUD_HOST: fakeUrl,
        DBT_CLOUD_REQUESTS_PER_MINUTE: '600000',
        RUNS_TOPIC: 'projects/harvester-bench/topics/runs',
        BACKFILL_MAX_DAYS: '31',
        PUBSUB_EMULATOR_HOST: emulator,
        METADATA_SERVER_DETECTION: 'none',
        GOOGLE_CLOUD_PROJECT: 'harvester-bench',
      },
    },
  );
  const r = JSON.parse(stdout) as {
    reply: { status: number; body: { runs: number; published: number } };
    seconds: number;
    maxRssMb: number;
  };
  if (r.reply.status !== 200) throw new Error(`backfill answered ${r.reply.status}: ${JSON.stringify(r.reply.body)}`);
  return {
    maxRssMb: Number(r.maxRssMb.toFixed(1)),
    seconds: Number(r.seconds.toFixed(1)),
    runs: r.reply.body.runs,
    published: r.reply.body.published,
  };
}

if (only.has('backfill')) {
  await buildOnce();
  const now = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  // 12 jobs every 17 minutes: 1,016 runs a day, 31 days and a little more of history.
  const fakeProcess = spawn(
    process.execPath,
    [
      'harness/fake-dbt-cloud/main.ts',
      '--port',
      '0',
      '--hours',
      String(32 * 24),
      '--every-minutes',
      '17',
      '--token',
      TOKEN,
      '--now',
      now.toISOString(),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(fakeProcess.stdout!, 'data')) as [Buffer];
  const info = JSON.parse(line.toString().split('\n')[0]!) as { url: string; accountId: number; runs: number };
  const emulator = await startPubSubEmulator('harvester-bench');
  try {
    process.env['PUBSUB_EMULATOR_HOST'] = emulator.url;
    const pubsub = new PubSub({ projectId: 'harvester-bench' });
    await pubsub.createTopic('runs');
    await pubsub.close();
    log(
      `backfill: peak RSS of one backfill over 1 hour, then over 31 days, of a fake account with ${info.runs} runs (1,016 a day), publishing to the Pub/Sub emulator`,
    );
    const hour = await backfillMemory(1 / 24, emulator.url, info.url, info.accountId, now);
    const month = await backfillMemory(31, emulator.url, info.url, info.accountId, now);
    results['backfill'] = { hour, month, differenceMb: Number((month.maxRssMb - hour.maxRssMb).toFixed(1)) };
    rows.push(['backfill', `peak RSS, 1-hour backfill (${hour.published} runs published)`, `${hour.maxRssMb} MB`, '']);
    rows.push([
      'backfill',
      `peak RSS, 31-day backfill (${month.published} runs published in ${month.seconds} s)`,
      `${month.maxRssMb} MB`,
      `< 150 MB: ${month.maxRssMb < 150 ? 'yes' : 'NO'}`,
    ]);
    rows.push([
      'backfill',
      'difference',
      `${(month.maxRssMb - hour.maxRssMb).toFixed(1)} MB`,
      `< 30 MB: ${month.maxRssMb - hour.maxRssMb < 30 ? 'yes' : 'NO'}`,
    ]);
  } finally {
    fakeProcess.kill();
    await emulator.stop();
  }
}

// ---- history --------------------------------------------------------------------------------------
/**
 * `history` over 10,000 and 365,000 stored runs (the demo's project: three jobs, plus jobs of 50
 * runs a day; rows only), each in its own process: the first read (which compacts each past day)
 * and the second (a request per day); then, over a bucket (the fake Cloud Storage, 10,000 runs),
 * the requests of each read.
 */
async function historyRead(from: string, out: string, env: Record<string, string> = {}) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['scripts/bench-history-child.ts', '--from', from, '--out', out],
    { maxBuffer: 1 << 20, env: { ...process.env, ...env } },
  );
  const r = JSON.parse(stdout) as { code: number; stderr: string; seconds: number; maxRssMb: number };
  if (r.code !== 0) throw new Error(`history exited ${r.code}: ${r.stderr}`);
  const { stat } = await import('node:fs/promises');
  return {
    seconds: Number(r.seconds.toFixed(1)),
    maxRssMb: Number(r.maxRssMb.toFixed(1)),
    reportBytes: (await stat(out)).size,
    note: r.stderr.trim(),
  };
}

if (only.has('history')) {
  const { writeHistoryDemo } = await import('../harness/history-demo.ts');
  const sizes = [
    { runs: '10k', days: 20, extraJobs: 10 },
    { runs: '365k', days: 365, extraJobs: 20 },
  ];
  const figures: Record<string, unknown> = {};
  for (const size of sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-history-'));
    try {
      const written = await writeHistoryDemo(join(dir, 'bucket'), {
        days: size.days,
        extraJobs: size.extraJobs,
        extraRunsPerDay: 50,
        rowsOnly: true,
      });
      log(
        `history: ${written.runs} stored runs (${written.jobs} jobs, ${size.days} days), first read then second, each in its own process`,
      );
      const first = await historyRead(join(dir, 'bucket'), join(dir, 'first.html'));
      const second = await historyRead(join(dir, 'bucket'), join(dir, 'second.html'));
      figures[size.runs] = { runs: written.runs, first, second };
      rows.push([
        'history',
        `history over ${written.runs} runs, first read (compacts each past day)`,
        `${first.seconds} s, peak RSS ${first.maxRssMb} MB`,
        '',
      ]);
      rows.push([
        'history',
        `history over ${written.runs} runs, second read (report ${(second.reportBytes / MB).toFixed(2)} MB)`,
        `${second.seconds} s, peak RSS ${second.maxRssMb} MB`,
        size.runs === '365k' ? `< 300 MB: ${second.maxRssMb < 300 && first.maxRssMb < 300 ? 'yes' : 'NO'}` : '',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const small = figures['10k'] as { second: { maxRssMb: number } };
  const large = figures['365k'] as { second: { maxRssMb: number } };
  rows.push([
    'history',
    'peak RSS, 365k runs against 10k',
    `+${(large.second.maxRssMb - small.second.maxRssMb).toFixed(1)} MB`,
    `< 50 MB: ${large.second.maxRssMb - small.second.maxRssMb < 50 ? 'yes' : 'NO'}`,
  ]);
  // Requests on a bucket: the fake Cloud Storage, under the real client.
  const gcs = await startFakeGcs();
  const dir = await mkdtemp(join(tmpdir(), 'bench-history-gcs-'));
  try {
    const written = await writeHistoryDemo(join(dir, 'bucket'), {
      days: 20,
      extraJobs: 10,
      extraRunsPerDay: 50,
      rowsOnly: true,
    });
    const { readdir, readFile } = await import('node:fs/promises');
    const files = (await readdir(join(dir, 'bucket'), { recursive: true, withFileTypes: true })).filter((e) =>
      e.isFile(),
    );
    for (const f of files) {
      const full = join(f.parentPath, f.name);
      gcs.put('bench', full.slice(join(dir, 'bucket').length + 1), await readFile(full), 'application/json');
    }
    const count = async () => {
      const before = gcs.requests.length;
      await historyRead('gs://bench', join(dir, 'r.html'), {
        STORAGE_API_ENDPOINT: gcs.url,
        METADATA_SERVER_DETECTION: 'none',
      });
      const reqs = gcs.requests.slice(before);
      return {
        requests: reqs.length,
        gets: reqs.filter((r) => r.op === 'get').length,
        lists: reqs.filter((r) => r.op === 'list').length,
        uploads: reqs.filter((r) => r.op === 'upload').length,
      };
    };
    const first = await count();
    const second = await count();
    figures['bucket'] = { runs: written.runs, first, second };
    rows.push([
      'history',
      `bucket of ${written.runs} runs, first read`,
      `${first.requests} requests (${first.lists} lists, ${first.gets} reads, ${first.uploads} days written)`,
      '',
    ]);
    rows.push([
      'history',
      `bucket of ${written.runs} runs, second read`,
      `${second.requests} requests (${second.lists} lists, ${second.gets} reads)`,
      `< runs/10: ${second.requests < written.runs / 10 ? 'yes' : 'NO'}`,
    ]);
  } finally {
    await gcs.stop();
    await rm(dir, { recursive: true, force: true });
  }
  results['history'] = figures;
}

// ---- coverage ---------------------------------------------------------------------------------------
/**
 * A large project of real shape (harness/big-project.ts: a public project's manifest and catalog
 * copied 300 times): the facts readers against JSON.parse and dbt-coverage (where a checkout of it
 * is given), `coverage compute`, and harvesting the project's `docs generate` step with coverage on
 * and off, each in its own process.
 */
async function child(script: string, args: string[], env: Record<string, string> = {}) {
  const { stdout } = await promisify(execFile)(process.execPath, [script, ...args], {
    maxBuffer: 1 << 20,
    env: { ...process.env, ...env },
  });
  return JSON.parse(stdout) as { bytes: number; seconds: number; maxRssMb: number; detail: unknown };
}

/**
 * The built CLI in its own process, as a user runs it: seconds from spawn to exit (Node's start and
 * the CLI's modules included) and the process's own peak RSS, which a preloaded hook reads from
 * /proc/self/status as it exits.
 */
async function cliProcess(args: string[]): Promise<{ bytes: number; seconds: number; maxRssMb: number }> {
  await buildOnce();
  const peakFile = join(await mkdtemp(join(tmpdir(), 'bench-peak-')), 'peak');
  const hook = `import{readFileSync,writeFileSync}from'node:fs';process.on('exit',()=>writeFileSync(${JSON.stringify(peakFile)},/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status','utf8'))[1]))`;
  const started = performance.now();
  await promisify(execFile)(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, 'dist/lib/cli/main.js', ...args],
    {
      maxBuffer: 1 << 26,
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const maxRssMb = Number(await readFile(peakFile, 'utf8')) / 1024;
  await rm(dirname(peakFile), { recursive: true, force: true });
  return { bytes: 0, seconds, maxRssMb };
}

/** The median time and the median peak of a few runs (each of a different run, as it may be). */
function middleOf<T extends { seconds: number; maxRssMb: number }>(runs: T[]): T {
  const mid = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { ...runs[0]!, seconds: mid(runs.map((r) => r.seconds)), maxRssMb: mid(runs.map((r) => r.maxRssMb)) };
}

/** The medians of a few runs (the machine is shared: one run is noise). */
async function median<T extends { seconds: number; maxRssMb: number }>(
  times: number,
  run: () => Promise<T>,
): Promise<T> {
  const runs: T[] = [];
  for (let i = 0; i < times; i++) runs.push(await run());
  return middleOf(runs);
}

/** The medians of a few runs of each of two, taken in turn, so that the machine's moods fall on both. */
async function alternately<T extends { seconds: number; maxRssMb: number }>(
  times: number,
  a: () => Promise<T>,
  b: () => Promise<T>,
): Promise<[T, T]> {
  const as: T[] = [];
  const bs: T[] = [];
  for (let i = 0; i < times; i++) {
    as.push(await a());
    bs.push(await b());
  }
  return [middleOf(as), middleOf(bs)];
}

if (only.has('coverage')) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-coverage-'));
  try {
    const { writeBigProject } = await import('../harness/big-project.ts');
    const copies = Number(values.copies);
    await writeBigProject(join(dir, 'project'), copies);
    const project = join(dir, 'project');
    const { stat } = await import('node:fs/promises');
    const sizes = {
      manifest: (await stat(join(project, 'manifest.json'))).size,
      catalog: (await stat(join(project, 'catalog.json'))).size,
    };
    log(
      `coverage: a public project copied ${copies} times (manifest ${(sizes.manifest / 1e6).toFixed(0)} MB, catalog ${(sizes.catalog / 1e6).toFixed(0)} MB); each measure in its own process`,
    );
    // The reader and the CLI: the median of three runs each, taken in turn (one run is noise here).
    const read = await median(3, () => child('scripts/bench-coverage-child.ts', ['--mode', 'read', '--dir', project]));
    const parse = await child('scripts/bench-coverage-child.ts', ['--mode', 'parse', '--dir', project]);
    const compute = await median(3, () =>
      cliProcess([
        'coverage',
        'compute',
        'doc',
        '--run-artifacts-dir',
        project,
        '--cov-report',
        join(dir, 'report.json'),
      ]),
    );
    const mbps = (r: { bytes: number; seconds: number }) => (r.bytes / 1e6 / r.seconds).toFixed(0);
    const figures: Record<string, unknown> = { sizes, read, parse, compute };
    rows.push([
      'coverage',
      `facts reader over manifest and catalog (${((sizes.manifest + sizes.catalog) / 1e6).toFixed(0)} MB; median of 3, each a cold process)`,
      `${read.seconds.toFixed(2)} s (${mbps(read)} MB/s), peak RSS ${read.maxRssMb.toFixed(0)} MB`,
      `>= 300 MB/s: ${Number(mbps(read)) >= 300 ? 'yes' : 'NO'}`,
    ]);
    rows.push([
      'coverage',
      'JSON.parse of both, read whole',
      `${parse.seconds.toFixed(2)} s (${mbps(parse)} MB/s), peak RSS ${parse.maxRssMb.toFixed(0)} MB`,
      '',
    ]);
    rows.push([
      'coverage',
      '`coverage compute doc` as a user runs it (the built CLI, start to exit: reads, computes, prints, writes the report; median of 3)',
      `${compute.seconds.toFixed(2)} s, peak RSS ${compute.maxRssMb.toFixed(0)} MB`,
      `<= 300 MB: ${compute.maxRssMb <= 300 ? 'yes' : 'NO'}`,
    ]);
    // dbt-coverage 0.4.2 itself, where a checkout is given and python3 runs it.
    const checkout = values['dbt-coverage'];
    if (!checkout)
      rows.push(['coverage', 'dbt-coverage 0.4.2', 'skipped: give --dbt-coverage DIR (a git checkout)', '']);
    else {
      try {
        const work = join(dir, 'dbt-coverage');
        const { mkdir } = await import('node:fs/promises');
        await mkdir(join(work, 'dbt_coverage'), { recursive: true });
        await mkdir(join(work, 'typer'), { recursive: true });
        const { stdout: module } = await promisify(execFile)(
          'git',
          ['-C', checkout, 'show', 'v0.4.2:dbt_coverage/__init__.py'],
          {
            maxBuffer: 1 << 24,
          },
        );
        await writeFile(join(work, 'dbt_coverage', '__init__.py'), module);
        await writeFile(
          join(work, 'typer', '__init__.py'),
          'class Typer:\n    def __init__(self, *a, **k): pass\n    def command(self, *a, **k): return lambda f: f\n    def callback(self, *a, **k): return lambda f: f\ndef Option(*a, **k): return None\ndef Argument(*a, **k): return None\n',
        );
        const driver = `import contextlib, io, json, resource, sys, time
from pathlib import Path
sys.path.insert(0, ${JSON.stringify(work)})
import dbt_coverage as dc
t = time.time()
with contextlib.redirect_stdout(io.StringIO()):
    dc.do_compute(run_artifacts_dir=Path(${JSON.stringify(project)}), cov_report=Path(${JSON.stringify(join(dir, 'dbt-coverage.json'))}), cov_type=dc.CoverageType('doc'))
print(json.dumps({"seconds": time.time() - t, "maxRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;
        await writeFile(join(work, 'driver.py'), driver);
        const { stdout } = await promisify(execFile)('python3', [join(work, 'driver.py')], { maxBuffer: 1 << 20 });
        const theirs = JSON.parse(stdout.trim().split('\n').at(-1)!) as { seconds: number; maxRssMb: number };
        figures['dbtCoverage'] = theirs;
        rows.push([
          'coverage',
          'dbt-coverage 0.4.2 `compute doc`, same project',
          `${theirs.seconds.toFixed(1)} s, peak RSS ${theirs.maxRssMb.toFixed(0)} MB`,
          `ours >= 10x faster: ${theirs.seconds / compute.seconds >= 10 ? 'yes' : 'NO'} (${(theirs.seconds / compute.seconds).toFixed(1)}x); RSS <= a tenth: ${compute.maxRssMb <= theirs.maxRssMb / 10 ? 'yes' : 'NO'}`,
        ]);
      } catch (err) {
        rows.push(['coverage', 'dbt-coverage 0.4.2', `skipped: ${String(err).split('\n')[0]}`, '']);
      }
    }
    // Harvesting the project's `docs generate` step, as harvestRun runs, coverage on and off.
    const { createReadStream } = await import('node:fs');
    const fake = await startFakeDbtCloud({
      ...ONE_RUN,
      uniform: { executeSteps: ['dbt docs generate'] },
      extraArtifacts: () => false,
      bodyOf: (_run, _step, file) =>
        file === 'manifest.json' || file === 'catalog.json'
          ? {
              size: file === 'manifest.json' ? sizes.manifest : sizes.catalog,
              open: () => createReadStream(join(project, file)),
            }
          : undefined,
    });
    try {
      const harvest = (coverage: boolean) => () => harvestInChild(fake, fake.account.runs[0]!.id, { coverage });
      const [on, off] = await alternately(3, harvest(true), harvest(false));
      figures['harvest'] = { on, off };
      rows.push([
        'coverage',
        `harvesting its docs generate step, coverage on (${(on.outcome.bytes / 1e6).toFixed(0)} MB; median of 3, taken in turn with off)`,
        `${on.seconds.toFixed(1)} s, peak RSS ${on.maxRssMb.toFixed(0)} MB`,
        `<= 256 MB: ${on.maxRssMb <= 256 ? 'yes' : 'NO'}`,
      ]);
      rows.push([
        'coverage',
        'the same step, coverage off (every file still checked whole)',
        `${off.seconds.toFixed(1)} s, peak RSS ${off.maxRssMb.toFixed(0)} MB`,
        `on <= 1.5x off: ${on.seconds <= off.seconds * 1.5 ? 'yes' : 'NO'}`,
      ]);
    } finally {
      await fake.stop();
    }
    results['coverage'] = figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- webhook ------------------------------------------------------------------------------------------
/**
 * receiveWebhook under the load an adversarial review used: rounds of 80 concurrent 1 MiB requests
 * with a junk Authorization (refused before their body is read), and 80 with a signature-shaped
 * header over a body past the cap (refused by its declared size); the instance's peak RSS.
 */
if (only.has('webhook')) {
  const child = spawn(process.execPath, ['scripts/bench-webhook-child.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  // The child's report lines, among its log lines (which go to stdout too).
  const line = async <T>(key: string): Promise<T> => {
    for (;;) {
      const found = lines.find((l) => l.startsWith(`{"${key}"`));
      if (found !== undefined) return JSON.parse(found) as T;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const { port, idleMb } = await line<{ port: number; idleMb: number }>('port');
  const body = Buffer.alloc(1024 * 1024, 0x78);
  const statuses: number[] = [];
  const fire = (authorization: string) =>
    fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { Authorization: authorization, 'Content-Type': 'application/json' },
      body,
    })
      .then((r) => statuses.push(r.status))
      .catch(() => statuses.push(0));
  const started = performance.now();
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: 80 }, () => fire('junk')));
    await Promise.all(Array.from({ length: 80 }, () => fire('a'.repeat(64))));
  }
  const seconds = (performance.now() - started) / 1000;
  child.kill('SIGTERM');
  const { maxRssMb } = await line<{ maxRssMb: number }>('maxRssMb');
  const refused = statuses.filter((s) => s === 401 || s === 413).length;
  results['webhook'] = { idleMb, maxRssMb, requests: statuses.length, refused, seconds };
  rows.push([
    'webhook',
    `receiveWebhook, ${statuses.length} requests of 1 MiB (80 at once; junk or signature-shaped Authorization)`,
    `${refused} answered 401/413, ${statuses.filter((x) => x === 0).length} cut off mid-body, none read, in ${seconds.toFixed(1)} s; peak RSS ${maxRssMb.toFixed(0)} MB (idle ${idleMb.toFixed(0)} MB)`,
    `< 256 MiB: ${maxRssMb < 256 ? 'yes' : 'NO'}`,
  ]);
}

// ---- round trips ---------------------------------------------------------------------------------
/**
 * One run of three dbt steps (12 artifact requests), every answer 100 ms late: the time to store it,
 * in round trips, with the files fetched one after another (as before) and a few at once.
 */
if (only.has('roundtrips')) {
  const LATENCY = 100;
  const fake = await startFakeDbtCloud({
    ...DAY,
    token: TOKEN,
    jobsPerEnvironment: 1,
    everyMinutes: 24 * 60,
    latencyMs: LATENCY,
    uniform: { executeSteps: ['dbt seed', 'dbt run', 'dbt test'] },
  });
  const run = fake.account.runs.find((r) => fake.account.isComplete(r))!;
  log(
    `round trips: run ${run.id} (3 dbt steps, ${fake.account.expectedFiles(run.id).length} files, 12 artifact requests), ${LATENCY} ms added to every request`,
  );
  const measure = async (
    artifactConcurrency: number,
  ): Promise<{ seconds: number; roundTrips: number; requests: number }> => {
    const out = await mkdtemp(join(tmpdir(), 'bench-rt-'));
    const client = new DbtCloudClient({ baseUrl: fake.url, accountId: fake.accountId, token: TOKEN });
    const before = fake.requests.length;
    try {
      const started = performance.now();
      const outcome = await harvestRun(run.id, {
        client,
        store: new LocalFolder(out),
        artifacts: DEFAULT_ARTIFACTS,
        artifactConcurrency,
      });
      const seconds = (performance.now() - started) / 1000;
      if (outcome.status !== 'stored') throw new Error(`run not stored: ${JSON.stringify(outcome)}`);
      return {
        seconds: Number(seconds.toFixed(2)),
        roundTrips: Number(((seconds * 1000) / LATENCY).toFixed(1)),
        requests: fake.requests.length - before,
      };
    } finally {
      client.close();
      await rm(out, { recursive: true, force: true });
    }
  };
  const sequential = await measure(1);
  const parallel = await measure(ARTIFACT_CONCURRENCY);
  await fake.stop();
  results['roundTrips'] = { latencyMs: LATENCY, sequential, parallel };
  rows.push([
    'round trips',
    `one run, 3 steps, ${sequential.requests} requests, files one at a time (before)`,
    `${sequential.seconds} s = ${sequential.roundTrips} round trips`,
    '',
  ]);
  rows.push([
    'round trips',
    `the same run, ${ARTIFACT_CONCURRENCY} files at a time (default)`,
    `${parallel.seconds} s = ${parallel.roundTrips} round trips`,
    `<= 4 round trips: ${parallel.roundTrips <= 4 ? 'yes' : 'NO'}`,
  ]);
}

// ---- freshness -----------------------------------------------------------------------------------
const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
};

/**
 * Runs end in a live fake dbt Cloud, which sends signed webhooks as dbt Cloud does; they flow
 * through the whole loopback pipeline (receiveWebhook, the Pub/Sub emulator, harvestRun, the fake
 * bucket). Freshness is the time from a run's finished_at to its _run.json in the bucket.
 */
if (only.has('freshness')) {
  const count = Number(values['fresh-runs']);
  const now = Date.now();
  const fake = await startFakeDbtCloud({
    from: new Date(now - 3_600_000),
    to: new Date(now),
    token: TOKEN,
    clock: Date.now,
    jobsPerEnvironment: 2,
    uniform: { executeSteps: ['dbt seed', 'dbt run', 'dbt test'] },
  });
  const gcs = await startFakeGcs({ storeContent: false });
  log(
    `freshness: ${count} runs ending in a live fake dbt Cloud, 4 a second, webhooks through receiveWebhook, the Pub/Sub emulator and harvestRun into a fake bucket`,
  );
  const pipeline = await startPipeline({
    project: 'harvester-bench-fresh',
    fake,
    token: TOKEN,
    env: { ARTIFACTS_DESTINATION: 'gs://fresh', STORAGE_API_ENDPOINT: gcs.url, LOG_LEVEL: 'WARNING' },
    maxDeliveryAttempts: 5,
    backoffSeconds: { min: 1, max: 10 },
  });
  try {
    const runs: FakeRun[] = [];
    for (let i = 0; i < count; i++) {
      runs.push(fake.finishRun(fake.account.jobs[i % fake.account.jobs.length]!.id));
      await new Promise((r) => setTimeout(r, 250));
    }
    const markerOf = (run: FakeRun): string => `fresh/${runFolderOf(run.finishedAt, run.jobId, run.id)}/_run.json`;
    const deadline = Date.now() + 120_000;
    while (runs.some((r) => !gcs.objects.has(markerOf(r))) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const stored = runs.filter((r) => gcs.objects.has(markerOf(r)));
    const lags = stored.map((r) => (Date.parse(gcs.objects.get(markerOf(r))!.updated) - r.finishedAt.getTime()) / 1000);
    const answers = fake.webhooks.deliveries.map((d) => d.answeredAt - d.sentAt);
    const retried = fake.webhooks.deliveries.filter((d) => d.attempt > 1).length;
    const fresh = {
      runs: count,
      stored: stored.length,
      p50Seconds: Number(quantile(lags, 0.5).toFixed(2)),
      p95Seconds: Number(quantile(lags, 0.95).toFixed(2)),
      maxSeconds: Number(Math.max(...lags).toFixed(2)),
      webhookAnswerP50Ms: Math.round(quantile(answers, 0.5)),
      webhookAnswerP95Ms: Math.round(quantile(answers, 0.95)),
      webhookRetries: retried,
    };
    results['freshness'] = fresh;
    rows.push([
      'freshness',
      `${count} runs ending 4 a second, stored via webhooks (${fresh.stored} stored)`,
      `p50 ${fresh.p50Seconds} s, p95 ${fresh.p95Seconds} s, max ${fresh.maxSeconds} s after finished_at`,
      `p95 < 5 s: ${fresh.p95Seconds < 5 && fresh.stored === count ? 'yes' : 'NO'}`,
    ]);
    rows.push([
      'freshness',
      'receiveWebhook answer to dbt Cloud',
      `p50 ${fresh.webhookAnswerP50Ms} ms, p95 ${fresh.webhookAnswerP95Ms} ms (${retried} deliveries retried)`,
      '',
    ]);
  } finally {
    await pipeline.close();
    await fake.stop();
    await gcs.stop();
  }
}

/** The run's folder (lib/core/paths.ts), from what the fake knows. */
function runFolderOf(finishedAt: Date, jobId: number, runId: number): string {
  const iso = finishedAt.toISOString();
  return `date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/job_id=${jobId}/run_id=${runId}`;
}

await mkdir('bench-results', { recursive: true });
await writeFile('bench-results/bench.json', `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(
  `| part | measure | figure | goal |\n| --- | --- | --- | --- |\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`,
);
// Every part has stopped what it started; a client's idle timer (the Pub/Sub client's, gRPC's) can
// still hold the event loop open for minutes after the table is written.
process.exit(0);
