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
import { describeMissing, machineProbe, missingPrerequisites } from '../harness/prerequisites.ts';

const fail = (message: string): never => {
  process.stderr.write(`${message}\n`);
  process.exit(1);
};

let values: { 'base-port': string; 'live-every': string };
try {
  ({ values } = parseArgs({
    options: { 'base-port': { type: 'string', default: '8080' }, 'live-every': { type: 'string', default: '15' } },
  }) as { values: typeof values });
} catch (err) {
  fail(`npm run dev: ${(err as Error).message}\nUsage: npm run dev -- [--base-port 8080] [--live-every 15]`);
}
const base = Number(values!['base-port']);
const liveEvery = Number(values!['live-every']);
if (!Number.isInteger(base) || base < 1024 || base > 65_530)
  fail(`npm run dev: --base-port must be a port from 1024 to 65530 (it uses that port and the five after it)`);
if (!Number.isFinite(liveEvery) || liveEvery < 0) fail('npm run dev: --live-every must be a number of seconds, or 0');

// Before anything starts: a missing tool is a sentence, not a child process's stack trace.
const missing = await missingPrerequisites(machineProbe);
if (missing.length > 0) fail(describeMissing('npm run dev', missing));

const token = 'dev-token';
const now = new Date();

let started: Awaited<ReturnType<typeof start>>;
async function start() {
  // A live account: the last 24 hours of runs, and the clock moving on.
  const fake = await startFakeDbtCloud(
    { from: new Date(now.getTime() - 24 * 3_600_000), to: now, clock: Date.now, token },
    base,
  );
  const gcs = await startFakeGcs({ mirrorDir: '.dev/bucket' });
  process.stdout.write(
    `fake dbt Cloud on ${fake.url} (account ${fake.accountId}, ${fake.account.runs.length} runs)\nbuilding, and starting the Pub/Sub emulator...\n`,
  );
  try {
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
      onDeadLetter: (m) =>
        process.stdout.write(`DEAD LETTER: ${m.data.toString()} after ${m.deliveryAttempt} attempts\n`),
    });
    return { fake, gcs, pipeline };
  } catch (err) {
    await fake.stop();
    await gcs.stop();
    throw err;
  }
}
try {
  started = await start();
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  fail(
    e.code === 'EADDRINUSE'
      ? `npm run dev: a port from ${base} to ${base + 5} is in use (another npm run dev?): stop it, or choose others with npm run dev -- --base-port ${base + 100}`
      : `npm run dev could not start: ${e.message}`,
  );
}
const { fake, gcs, pipeline } = started!;

const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 + 10 * 60_000)
  .toISOString()
  .replace('.000Z', 'Z');
process.stdout.write(`
Ready. Artifacts go to gs://dev-artifacts on a fake Cloud Storage, mirrored in ./.dev/bucket. Function logs stream below.

What the fakes accept (nothing here is a real credential):
  dbt Cloud (fake)       DBT_CLOUD_HOST=${fake.url} DBT_CLOUD_ACCOUNT_ID=${fake.accountId} DBT_CLOUD_TOKEN=${token}
  receiveWebhook         DBT_CLOUD_WEBHOOK_SECRET=${pipeline.webhook.hmac_secret} (webhook subscription ${pipeline.webhook.id})
  Cloud Storage (fake)   STORAGE_API_ENDPOINT=${gcs.url}, bucket dev-artifacts, no credentials
  Pub/Sub emulator       PUBSUB_EMULATOR_HOST=${process.env['PUBSUB_EMULATOR_HOST'] ?? ''}, project harvester-dev, no credentials
  the functions          no credentials (as deployed, Google's front end checks the caller's identity)

  # the CLI against the fake: the newest production manifest, as CI fetches it
  DBT_CLOUD_HOST=${fake.url} DBT_CLOUD_ACCOUNT_ID=${fake.accountId} DBT_CLOUD_TOKEN=${token} \\
    npm run harvester -- retrieve-most-recent-artifact manifest --job-id ${(fake.account.jobs.find((j) => j.generateDocs) ?? fake.account.jobs[0]!).id} --output-folder .dev/state

  # fire the hourly dispatcher as Cloud Scheduler would (harvests the hour before the schedule time)
  curl -s -X POST ${pipeline.fns.dispatchHourly.url} -H 'X-CloudScheduler-ScheduleTime: ${hour}'

  # backfill a window (dryRun lists the runs without publishing)
  curl -s -X POST ${pipeline.fns.backfill.url} -H 'Content-Type: application/json' \\
       -d '{"start":"${new Date(now.getTime() - 6.5 * 3_600_000).toISOString()}","end":"${new Date(now.getTime() - 2.5 * 3_600_000).toISOString()}","dryRun":true}'

  # send receiveWebhook a signed sample, as dbt Cloud would (job.run.started: checked, then ignored)
  DBT_CLOUD_WEBHOOK_SECRET=${pipeline.webhook.hmac_secret} DBT_CLOUD_ACCOUNT_ID=${fake.accountId} \\
    npm run harvester -- webhook test --url ${pipeline.fns.receiveWebhook.url}

  # the run history of what is stored so far
  npm run harvester -- history --from .dev/bucket/dev-artifacts --out .dev/history.html

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
    // alertRun runs only with alerts on (the dev pipeline has them off).
    const out = pipeline.fns[name]?.output() ?? '';
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
