/**
 * The benchmark's backfill part: run by scripts/bench.ts (npm run bench -- --only backfill).
 * @module
 */
import { PubSub } from '@google-cloud/pubsub';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { buildOnce, startPubSubEmulator } from '../../harness/services.ts';
import { TOKEN, results, rows, log } from './shared.ts';

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

/** The benchmark's backfill part (npm run bench -- --only backfill). */
export async function backfillPart(): Promise<void> {
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
