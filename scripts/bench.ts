/**
 * npm run bench: memory, throughput and rate-limit figures for the harvest, against the fake dbt
 * Cloud on loopback. Prints a markdown table and writes bench-results/bench.json.
 *
 *   npm run bench -- [--only memory,throughput,ratelimit,backfill] [--runs 500]
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
import { harvestWindow } from '../lib/harvest/window.ts';
import { LocalFolderSink } from '../lib/sinks/local.ts';
import { startFakeDbtCloud, type FakeDbtCloud } from '../harness/fake-dbt-cloud/server.ts';
import { buildOnce, startPubSubEmulator } from '../harness/services.ts';

const { values } = parseArgs({ options: { only: { type: 'string', default: 'memory,throughput,ratelimit,backfill' }, runs: { type: 'string', default: '500' } } });
const only = new Set(values.only.split(','));
const TOKEN = 'bench-token';
const DAY = { from: new Date('2022-06-01T00:00:00Z'), to: new Date('2022-06-02T00:00:00Z') };
const results: Record<string, unknown> = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, at: new Date().toISOString() };
const rows: string[][] = [];
const MB = 1024 * 1024;
const log = (text: string): void => void process.stderr.write(`${text}\n`);

// ---- memory --------------------------------------------------------------------------------------
async function memory(bytes: number): Promise<{ maxRssMb: number; seconds: number; bytes: number }> {
  const fake = await startFakeDbtCloud({ from: new Date('2022-06-01T00:00:00Z'), to: new Date('2022-06-01T01:00:00Z'), token: TOKEN, everyMinutes: 60, jobsPerEnvironment: 1, uniform: { executeSteps: ['dbt run'] }, sizeOf: (_r, _s, f) => (f === 'manifest.json' ? bytes : undefined) });
  const run = fake.account.runs[0]!;
  const out = await mkdtemp(join(tmpdir(), 'bench-memory-'));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/bench-memory-child.ts', '--url', fake.url, '--account', String(fake.accountId), '--token', TOKEN, '--run', String(run.id), '--out', out], { maxBuffer: 1 << 20 });
    const r = JSON.parse(stdout) as { outcome: { status: string; bytes: number }; seconds: number; maxRssMb: number };
    if (r.outcome.status !== 'stored') throw new Error(`run not stored: ${JSON.stringify(r.outcome)}`);
    return { maxRssMb: Number(r.maxRssMb.toFixed(1)), seconds: Number(r.seconds.toFixed(2)), bytes: r.outcome.bytes };
  } finally {
    await rm(out, { recursive: true, force: true });
    await fake.stop();
  }
}

if (only.has('memory')) {
  log('memory: one run with a 10 MiB manifest, then one with a 1 GiB manifest, each in its own process');
  const small = await memory(10 * MB);
  const large = await memory(1024 * MB);
  results['memory'] = { small, large, differenceMb: Number((large.maxRssMb - small.maxRssMb).toFixed(1)) };
  rows.push(['memory', 'peak RSS, run with a 10 MiB manifest', `${small.maxRssMb} MB`, '']);
  rows.push(['memory', 'peak RSS, run with a 1 GiB manifest', `${large.maxRssMb} MB`, `< 200 MB: ${large.maxRssMb < 200 ? 'yes' : 'NO'}`]);
  rows.push(['memory', 'difference', `${(large.maxRssMb - small.maxRssMb).toFixed(1)} MB`, `< 50 MB: ${large.maxRssMb - small.maxRssMb < 50 ? 'yes' : 'NO'}`]);
  rows.push(['memory', '1 GiB run harvested in', `${large.seconds} s (${((large.bytes / MB) / large.seconds).toFixed(0)} MiB/s)`, '']);
}

// ---- throughput ----------------------------------------------------------------------------------
async function harvestAll(fake: FakeDbtCloud, concurrency: number, requestsPerMinute: number): Promise<{ seconds: number; runs: number; stored: number; requests: number; throttled: number }> {
  const out = await mkdtemp(join(tmpdir(), 'bench-harvest-'));
  const client = new DbtCloudClient({ baseUrl: fake.url, accountId: fake.accountId, token: TOKEN, requestsPerMinute, retry: { maxRetries: 12 } });
  const before = fake.requests.length;
  const started = performance.now();
  try {
    const summary = await harvestWindow({ start: DAY.from, end: DAY.to }, { client, sink: new LocalFolderSink(out), artifacts: DEFAULT_ARTIFACTS }, { concurrency });
    const seconds = (performance.now() - started) / 1000;
    const requests = fake.requests.slice(before);
    return { seconds: Number(seconds.toFixed(2)), runs: summary.runs, stored: summary.stored, requests: requests.length, throttled: requests.filter((r) => r.status === 429).length };
  } finally {
    client.close();
    await rm(out, { recursive: true, force: true });
  }
}

const runsWanted = Number(values.runs);
const uniformAccount = (extra: Partial<Parameters<typeof startFakeDbtCloud>[0]>) =>
  startFakeDbtCloud({ ...DAY, token: TOKEN, jobsPerEnvironment: 5, everyMinutes: (24 * 60 * 20) / runsWanted, uniform: { executeSteps: ['dbt seed', 'dbt run', 'dbt test'] }, ...extra });

if (only.has('throughput')) {
  const defaultConcurrency = Number(OPTIONS.concurrency.default);
  const fake = await uniformAccount({ latencyMs: 25 });
  log(`throughput: ${fake.account.runs.length} runs, three dbt steps each, 25 ms per request; concurrency 1, then ${defaultConcurrency}`);
  // The client-side limit is lifted here to measure the harvester itself; see the rate-limit row.
  const one = await harvestAll(fake, 1, 600_000);
  const many = await harvestAll(fake, defaultConcurrency, 600_000);
  await fake.stop();
  const perRun = many.requests / many.runs;
  results['throughput'] = { runs: many.runs, concurrency1: one, [`concurrency${defaultConcurrency}`]: many, requestsPerRun: Number(perRun.toFixed(2)), speedup: Number((one.seconds / many.seconds).toFixed(1)) };
  rows.push(['throughput', `${one.runs} runs at concurrency 1`, `${one.seconds} s (${(one.runs / one.seconds).toFixed(1)} runs/s)`, '']);
  rows.push(['throughput', `${many.runs} runs at concurrency ${defaultConcurrency} (default)`, `${many.seconds} s (${(many.runs / many.seconds).toFixed(1)} runs/s)`, '']);
  rows.push(['throughput', 'speedup', `${(one.seconds / many.seconds).toFixed(1)}x`, `>= 10x: ${one.seconds / many.seconds >= 10 ? 'yes' : 'NO'}`]);
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
  results['rateLimit'] = { limitPerSecond: limit, ...r, successfulPerSecond: Number(ok.toFixed(1)), shareOfLimit: Number((ok / limit).toFixed(2)) };
  rows.push(['rate limit', `${r.runs} runs, fake limit ${limit} req/s, client limit ${Math.round(limit * 60 * 0.9)}/min`, `${r.stored}/${r.runs} stored in ${r.seconds} s, ${r.throttled} answers 429`, `all stored: ${r.stored === r.runs ? 'yes' : 'NO'}`]);
  rows.push(['rate limit', 'successful requests per second', `${ok.toFixed(1)} (${((100 * ok) / limit).toFixed(0)} % of the limit)`, `>= 80 %: ${ok / limit >= 0.8 ? 'yes' : 'NO'}`]);
}

// ---- backfill ------------------------------------------------------------------------------------
/**
 * Peak RSS of a backfill, in its own process, over a window of a fake account with 1,000 runs a day
 * (in another process), publishing to the real Pub/Sub emulator.
 */
async function backfillMemory(days: number, emulator: string, fakeUrl: string, accountId: number, now: Date): Promise<{ maxRssMb: number; seconds: number; runs: number; published: number }> {
  const start = new Date(now.getTime() - days * 86_400_000);
  const { stdout } = await promisify(execFile)(process.execPath, ['scripts/bench-backfill-child.ts', '--start', start.toISOString(), '--end', now.toISOString()], {
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
  });
  const r = JSON.parse(stdout) as { reply: { status: number; body: { runs: number; published: number } }; seconds: number; maxRssMb: number };
  if (r.reply.status !== 200) throw new Error(`backfill answered ${r.reply.status}: ${JSON.stringify(r.reply.body)}`);
  return { maxRssMb: Number(r.maxRssMb.toFixed(1)), seconds: Number(r.seconds.toFixed(1)), runs: r.reply.body.runs, published: r.reply.body.published };
}

if (only.has('backfill')) {
  await buildOnce();
  const now = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  // 12 jobs every 17 minutes: 1,016 runs a day, 31 days and a little more of history.
  const fakeProcess = spawn(process.execPath, ['harness/fake-dbt-cloud/main.ts', '--port', '0', '--hours', String(32 * 24), '--every-minutes', '17', '--token', TOKEN, '--now', now.toISOString()], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(fakeProcess.stdout!, 'data')) as [Buffer];
  const info = JSON.parse(line.toString().split('\n')[0]!) as { url: string; accountId: number; runs: number };
  const emulator = await startPubSubEmulator('harvester-bench');
  try {
    process.env['PUBSUB_EMULATOR_HOST'] = emulator.url;
    const pubsub = new PubSub({ projectId: 'harvester-bench' });
    await pubsub.createTopic('runs');
    await pubsub.close();
    log(`backfill: peak RSS of one backfill over 1 hour, then over 31 days, of a fake account with ${info.runs} runs (1,016 a day), publishing to the Pub/Sub emulator`);
    const hour = await backfillMemory(1 / 24, emulator.url, info.url, info.accountId, now);
    const month = await backfillMemory(31, emulator.url, info.url, info.accountId, now);
    results['backfill'] = { hour, month, differenceMb: Number((month.maxRssMb - hour.maxRssMb).toFixed(1)) };
    rows.push(['backfill', `peak RSS, 1-hour backfill (${hour.published} runs published)`, `${hour.maxRssMb} MB`, '']);
    rows.push(['backfill', `peak RSS, 31-day backfill (${month.published} runs published in ${month.seconds} s)`, `${month.maxRssMb} MB`, `< 150 MB: ${month.maxRssMb < 150 ? 'yes' : 'NO'}`]);
    rows.push(['backfill', 'difference', `${(month.maxRssMb - hour.maxRssMb).toFixed(1)} MB`, `< 30 MB: ${month.maxRssMb - hour.maxRssMb < 30 ? 'yes' : 'NO'}`]);
  } finally {
    fakeProcess.kill();
    await emulator.stop();
  }
}

await mkdir('bench-results', { recursive: true });
await writeFile('bench-results/bench.json', JSON.stringify(results, null, 2) + '\n');
process.stdout.write(`| part | measure | figure | goal |\n| --- | --- | --- | --- |\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`);
