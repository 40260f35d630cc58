/**
 * npm run dev: the whole pipeline on one machine. The Pub/Sub emulator, every function of the
 * table (functions-framework over the built code), the fake dbt Cloud with the last 24 hours of
 * runs, a push subscription with a dead-letter topic, and a fake Cloud Storage bucket whose objects
 * are also written under ./.dev/bucket for you to look at.
 *
 *   npm run dev -- [--base-port 8080]
 */
import { parseArgs } from 'node:util';
import { FUNCTIONS } from '../lib/cloud/functions.ts';
import { startFakeDbtCloud } from '../harness/fake-dbt-cloud/server.ts';
import { startFakeGcs } from '../harness/fake-gcs/server.ts';
import { startPipeline } from '../harness/pipeline.ts';

const { values } = parseArgs({ options: { 'base-port': { type: 'string', default: '8080' } } });
const base = Number(values['base-port']);
const token = 'dev-token';
const now = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 30 * 60_000);

const fake = await startFakeDbtCloud({ from: new Date(now.getTime() - 24 * 3_600_000), to: now, now, token }, base);
const gcs = await startFakeGcs({ mirrorDir: '.dev/bucket' });
process.stdout.write(`fake dbt Cloud on ${fake.url} (account ${fake.accountId}, ${fake.account.runs.length} runs)\nbuilding, and starting the Pub/Sub emulator...\n`);
const pipeline = await startPipeline({
  project: 'harvester-dev',
  fake,
  token,
  // As deployed: a function stores in a bucket, here a fake one on loopback.
  env: { ARTIFACTS_DESTINATION: 'gs://dev-artifacts', STORAGE_API_ENDPOINT: gcs.url, LOG_LEVEL: 'INFO' },
  maxDeliveryAttempts: 5,
  backoffSeconds: { min: 10, max: 600 },
  ackDeadlineSeconds: 600,
  basePort: base,
  onDeadLetter: (m) => process.stdout.write(`DEAD LETTER: ${m.data.toString()} after ${m.deliveryAttempt} attempts\n`),
});

const hour = new Date(now.getTime() - 30 * 60_000).toISOString().replace('.000Z', 'Z');
process.stdout.write(`
Ready. Artifacts go to gs://dev-artifacts on a fake Cloud Storage, mirrored in ./.dev/bucket. Function logs stream below.

  # fire the hourly dispatcher as Cloud Scheduler would (harvests the hour before the schedule time)
  curl -s -X POST ${pipeline.fns.dispatchHourly.url} -H 'X-CloudScheduler-ScheduleTime: ${hour}'

  # backfill a window (dryRun lists the runs without publishing)
  curl -s -X POST ${pipeline.fns.backfill.url} -H 'Content-Type: application/json' \\
       -d '{"start":"${new Date(now.getTime() - 6.5 * 3_600_000).toISOString()}","end":"${new Date(now.getTime() - 2.5 * 3_600_000).toISOString()}","dryRun":true}'

  find .dev/bucket -name _run.json | wc -l

Ctrl-C stops everything.
`);

for (const { name } of FUNCTIONS) {
  let seen = 0;
  setInterval(() => {
    const out = pipeline.fns[name].output();
    if (out.length > seen) {
      for (const line of out.slice(seen).split('\n').filter(Boolean)) process.stdout.write(`[${name}] ${line}\n`);
      seen = out.length;
    }
  }, 500).unref();
}

const stop = async (): Promise<void> => {
  process.stdout.write('\nstopping...\n');
  await pipeline.close();
  await fake.stop();
  await gcs.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
