/**
 * npm run dev: the whole pipeline on one machine. The Pub/Sub emulator, every function of the
 * table (functions-framework over the built code), the fake dbt Cloud with the last 24 hours of
 * runs and a live clock, a push subscription with a dead-letter topic, a webhook subscription to
 * receiveWebhook, and a fake Cloud Storage bucket whose objects are also written under
 * ./.dev/bucket for you to look at. Every few seconds a run ends, dbt Cloud's webhook goes out, and
 * the time until the run is stored is printed.
 *
 *   npm run dev -- [--base-port 8080] [--live-every 15]   (0: no live runs)
 */
import { parseArgs } from 'node:util';
import { FUNCTIONS } from '../lib/cloud/functions.ts';
import { startFakeDbtCloud } from '../harness/fake-dbt-cloud/server.ts';
import { startFakeGcs } from '../harness/fake-gcs/server.ts';
import { startPipeline } from '../harness/pipeline.ts';

const { values } = parseArgs({
  options: { 'base-port': { type: 'string', default: '8080' }, 'live-every': { type: 'string', default: '15' } },
});
const base = Number(values['base-port']);
const liveEvery = Number(values['live-every']);
const token = 'dev-token';
const now = new Date();

// A live account: the last 24 hours of runs, and the clock moving on.
const fake = await startFakeDbtCloud(
  { from: new Date(now.getTime() - 24 * 3_600_000), to: now, clock: Date.now, token },
  base,
);
const gcs = await startFakeGcs({ mirrorDir: '.dev/bucket' });
process.stdout.write(
  `fake dbt Cloud on ${fake.url} (account ${fake.accountId}, ${fake.account.runs.length} runs)\nbuilding, and starting the Pub/Sub emulator...\n`,
);
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

const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 + 10 * 60_000)
  .toISOString()
  .replace('.000Z', 'Z');
process.stdout.write(`
Ready. Artifacts go to gs://dev-artifacts on a fake Cloud Storage, mirrored in ./.dev/bucket. Function logs stream below.

  # fire the hourly dispatcher as Cloud Scheduler would (harvests the hour before the schedule time)
  curl -s -X POST ${pipeline.fns.dispatchHourly.url} -H 'X-CloudScheduler-ScheduleTime: ${hour}'

  # backfill a window (dryRun lists the runs without publishing)
  curl -s -X POST ${pipeline.fns.backfill.url} -H 'Content-Type: application/json' \\
       -d '{"start":"${new Date(now.getTime() - 6.5 * 3_600_000).toISOString()}","end":"${new Date(now.getTime() - 2.5 * 3_600_000).toISOString()}","dryRun":true}'

  # send receiveWebhook a signed sample, as dbt Cloud would (job.run.started: checked, then ignored)
  DBT_CLOUD_WEBHOOK_SECRET=${pipeline.webhook.hmac_secret} DBT_CLOUD_ACCOUNT_ID=${fake.accountId} \\
    npm run harvester -- webhook test --url ${pipeline.fns.receiveWebhook.url}

  find .dev/bucket -name _run.json | wc -l

${liveEvery > 0 ? `Every ${liveEvery} s a run ends, and dbt Cloud's webhook goes to receiveWebhook: each line below says how long after its end the run was stored.` : ''}
Ctrl-C stops everything.
`);

if (liveEvery > 0) {
  let n = 0;
  setInterval(() => {
    const job = fake.account.jobs[n++ % fake.account.jobs.length]!;
    const run = fake.finishRun(job.id);
    const iso = run.finishedAt.toISOString();
    const marker = `dev-artifacts/date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/job_id=${job.id}/run_id=${run.id}/_run.json`;
    const watch = setInterval(() => {
      const stored = gcs.objects.get(marker);
      if (stored) {
        clearInterval(watch);
        const lag = (Date.parse(stored.updated) - run.finishedAt.getTime()) / 1000;
        process.stdout.write(
          `LIVE: run ${run.id} of "${job.name}" ended ${iso.slice(11, 19)}; stored ${lag.toFixed(2)} s later, from its webhook\n`,
        );
      } else if (Date.now() - run.finishedAt.getTime() > 120_000) {
        clearInterval(watch);
        process.stdout.write(`LIVE: run ${run.id} not stored 2 minutes after it ended: see the logs above\n`);
      }
    }, 100);
  }, liveEvery * 1000).unref();
}

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
