/**
 * npm run dev: the whole pipeline on one machine. The Pub/Sub emulator, the three functions
 * (functions-framework over the built code), the fake dbt Cloud with the last 24 hours of runs, a
 * push subscription with a dead-letter topic, and ./.dev/artifacts as the destination.
 *
 *   npm run dev -- [--base-port 8080]
 */
import { PubSub, type Message } from '@google-cloud/pubsub';
import { parseArgs } from 'node:util';
import { startFakeDbtCloud } from '../test/fake-dbt-cloud/server.ts';
import { buildOnce, startFunction, startPubSubEmulator, type Started } from '../test/services.ts';

const { values } = parseArgs({ options: { 'base-port': { type: 'string', default: '8080' } } });
const base = Number(values['base-port']);
const PROJECT = 'harvester-dev';
const token = 'dev-token';
const now = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 30 * 60_000);

process.stdout.write('building...\n');
await buildOnce();
const fake = await startFakeDbtCloud({ from: new Date(now.getTime() - 24 * 3_600_000), to: now, now, token }, base);
process.stdout.write(`fake dbt Cloud on ${fake.url} (account ${fake.accountId}, ${fake.account.runs.length} runs)\nstarting the Pub/Sub emulator...\n`);
const emulator = await startPubSubEmulator(PROJECT, base + 5);
process.env['PUBSUB_EMULATOR_HOST'] = emulator.url;
process.env['METADATA_SERVER_DETECTION'] = 'none';

const env = {
  DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
  DBT_CLOUD_TOKEN: token,
  DBT_CLOUD_HOST: fake.url,
  RUNS_TOPIC: `projects/${PROJECT}/topics/dbt-runs`,
  ARTIFACTS_DESTINATION: '.dev/artifacts',
  PUBSUB_EMULATOR_HOST: emulator.url,
  // Off Google Cloud: no probe of the metadata server (and no MetadataLookupWarning).
  METADATA_SERVER_DETECTION: 'none',
  GOOGLE_CLOUD_PROJECT: PROJECT,
};
const fns: Record<string, Started> = {};
for (const [i, target] of (['dispatchHourly', 'backfill', 'harvestRun'] as const).entries()) {
  fns[target] = await startFunction(target, env, base + 1 + i);
}
const pubsub = new PubSub({ projectId: PROJECT });
const [topic] = await pubsub.createTopic('dbt-runs');
const [deadTopic] = await pubsub.createTopic('dbt-runs-dead');
await topic.createSubscription('harvest-push', {
  pushConfig: { pushEndpoint: `${fns['harvestRun']!.url}/` },
  ackDeadlineSeconds: 600,
  deadLetterPolicy: { deadLetterTopic: deadTopic.name, maxDeliveryAttempts: 5 },
  retryPolicy: { minimumBackoff: { seconds: 10 }, maximumBackoff: { seconds: 600 } },
});
const [deadSub] = await deadTopic.createSubscription('dead-letters');
deadSub.on('message', (m: Message) => {
  process.stdout.write(`DEAD LETTER: ${m.data.toString()} after ${m.deliveryAttempt} attempts\n`);
  m.ack();
});

const hour = new Date(now.getTime() - 30 * 60_000).toISOString().replace('.000Z', 'Z');
process.stdout.write(`
Ready. Artifacts go to ./.dev/artifacts. Function logs stream below.

  # fire the hourly dispatcher as Cloud Scheduler would (harvests the hour before the schedule time)
  curl -s -X POST ${fns['dispatchHourly']!.url} -H 'X-CloudScheduler-ScheduleTime: ${hour}'

  # backfill a window (dryRun lists the runs without publishing)
  curl -s -X POST ${fns['backfill']!.url} -H 'Content-Type: application/json' \\
       -d '{"start":"${new Date(now.getTime() - 6.5 * 3_600_000).toISOString()}","end":"${new Date(now.getTime() - 2.5 * 3_600_000).toISOString()}","dryRun":true}'

  find .dev/artifacts -name _run.json | wc -l

Ctrl-C stops everything.
`);

for (const [name, f] of Object.entries(fns)) {
  let seen = 0;
  setInterval(() => {
    const out = f.output();
    if (out.length > seen) {
      for (const line of out.slice(seen).split('\n').filter(Boolean)) process.stdout.write(`[${name}] ${line}\n`);
      seen = out.length;
    }
  }, 500).unref();
}

const stop = async (): Promise<void> => {
  process.stdout.write('\nstopping...\n');
  await pubsub.close().catch(() => {});
  await Promise.all(Object.values(fns).map((f) => f.stop()));
  await emulator.stop();
  await fake.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
