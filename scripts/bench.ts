/**
 * npm run bench: memory, throughput, rate-limit, backfill, round-trip and freshness figures for the
 * harvest, against the fake dbt Cloud on loopback. Prints a markdown table and writes
 * bench-results/bench.json.
 *
 *   npm run bench -- [--only memory,throughput,ratelimit,backfill,roundtrips,freshness,history] [--runs 500] [--fresh-runs 60]
 */
import { PubSub } from '@google-cloud/pubsub';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { DbtCloudClient } from '../lib/dbt-cloud/client.ts';
import { DEFAULT_ARTIFACTS, OPTIONS } from '../lib/config/options.ts';
import { ARTIFACT_CONCURRENCY, harvestRun } from '../lib/harvest/run.ts';
import { harvestWindow } from '../lib/harvest/window.ts';
import { LocalFolder } from '../lib/storage/local.ts';
import { startFakeDbtCloud, type FakeDbtCloud } from '../harness/fake-dbt-cloud/server.ts';
import type { FakeRun } from '../harness/fake-dbt-cloud/model.ts';
import { startFakeGcs } from '../harness/fake-gcs/server.ts';
import { startPipeline } from '../harness/pipeline.ts';
import { buildOnce, startPubSubEmulator } from '../harness/services.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'memory,throughput,ratelimit,backfill,roundtrips,freshness,history' },
    runs: { type: 'string', default: '500' },
    'fresh-runs': { type: 'string', default: '60' },
  },
});
const only = new Set(values.only.split(','));
const TOKEN = 'bench-token';
const DAY = { from: new Date('2022-06-01T00:00:00Z'), to: new Date('2022-06-02T00:00:00Z') };
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
    from: new Date('2022-06-01T00:00:00Z'),
    to: new Date('2022-06-01T01:00:00Z'),
    token: TOKEN,
    everyMinutes: 60,
    jobsPerEnvironment: 1,
    uniform: { executeSteps: ['dbt run'] },
    sizeOf: (_r, _s, f) => (f === 'manifest.json' ? bytes : undefined),
  });
  const run = fake.account.runs[0]!;
  const out = await mkdtemp(join(tmpdir(), 'bench-memory-'));
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
        String(run.id),
        '--out',
        out,
        '--coverage',
        String(options.coverage ?? true),
        '--tuned',
        String(options.tuned ?? true),
      ],
      { maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(stdout) as { outcome: { status: string; bytes: number }; seconds: number; maxRssMb: number };
    if (r.outcome.status !== 'stored') throw new Error(`run not stored: ${JSON.stringify(r.outcome)}`);
    return { maxRssMb: Number(r.maxRssMb.toFixed(1)), seconds: Number(r.seconds.toFixed(2)), bytes: r.outcome.bytes };
  } finally {
    await rm(out, { recursive: true, force: true });
    await fake.stop();
  }
}

if (only.has('memory')) {
  log(
    'memory: one run with a 10 MiB manifest, then one with a 1 GiB manifest, each in its own process, as harvestRun runs (coverage on, V8 tuned); then the 1 GiB one with coverage off, and with V8 untuned (the CLI)',
  );
  const small = await memory(10 * MB);
  const large = await memory(1024 * MB);
  const plain = await memory(1024 * MB, { coverage: false });
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
    '',
  ]);
  rows.push(['memory', '1 GiB run, V8 untuned (the CLI)', `${untuned.seconds} s; peak RSS ${untuned.maxRssMb} MB`, '']);
}

// ---- throughput ----------------------------------------------------------------------------------
async function harvestAll(
  fake: FakeDbtCloud,
  concurrency: number,
  requestsPerMinute: number,
  artifactConcurrency?: number,
): Promise<{ seconds: number; runs: number; stored: number; requests: number; throttled: number }> {
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
      { client, store: new LocalFolder(out), artifacts: DEFAULT_ARTIFACTS, artifactConcurrency },
      { concurrency },
    );
    const seconds = (performance.now() - started) / 1000;
    const requests = fake.requests.slice(before);
    return {
      seconds: Number(seconds.toFixed(2)),
      runs: summary.runs,
      stored: summary.stored,
      requests: requests.length,
      throttled: requests.filter((r) => r.status === 429).length,
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
  rows.push(['throughput', 'requests per run', perRun.toFixed(2), '1 run + 3 steps x 4 files + list pages = 13.01']);
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

// ---- coverage history ------------------------------------------------------------------------------
if (only.has('history')) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-history-'));
  try {
    const { writeCoverageDemo } = await import('../harness/coverage-demo.ts');
    const { runs } = await writeCoverageDemo(join(dir, 'bucket'), {
      jobs: 20,
      days: 500,
      start: new Date(Date.UTC(2025, 0, 1)),
    });
    log(
      `coverage history: ${runs} stored runs (20 jobs x 500 days, a real project's summaries), one HTML report, in its own process`,
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['scripts/bench-history-child.ts', '--from', join(dir, 'bucket'), '--out', join(dir, 'report.html')],
      { maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(stdout) as { code: number; stderr: string; seconds: number; maxRssMb: number };
    if (r.code !== 0) throw new Error(`coverage history exited ${r.code}: ${r.stderr}`);
    const { stat } = await import('node:fs/promises');
    const size = (await stat(join(dir, 'report.html'))).size;
    results['history'] = {
      runs,
      seconds: Number(r.seconds.toFixed(1)),
      maxRssMb: Number(r.maxRssMb.toFixed(1)),
      reportBytes: size,
    };
    rows.push([
      'history',
      `coverage history over ${runs} stored runs (report ${(size / MB).toFixed(1)} MB)`,
      `${r.seconds.toFixed(1)} s, peak RSS ${r.maxRssMb.toFixed(1)} MB`,
      '',
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
