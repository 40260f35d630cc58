import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAlertSink, type FakeAlertSink } from '../../harness/alert-sink.ts';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { startFakeGcs, type FakeGcs } from '../../harness/fake-gcs/server.ts';
import { startPipeline, type Pipeline } from '../../harness/pipeline.ts';
import { emulatorRequired, hasGcloud } from '../../harness/services.ts';
import { AlertSchema } from '../../lib/core/alert.ts';
import { TOKEN, fakeCloud, until } from '../helpers.ts';

/**
 * The deployed path on loopback: the real Pub/Sub emulator, every function in its own
 * functions-framework process, a stand-in sink. A failed run published to the runs topic is
 * harvested by harvestRun, which publishes "run stored"; alertRun evaluates the run and sends
 * exactly one message per sink, through a 500, its Slack URL read from Secret Manager; a
 * redelivered "run stored" message sends nothing more.
 */
const PROJECT = 'harvester-alerts-test';
const BUCKET = 'alerts-bucket';
const SECRET = 'pipeline-alerts-signing-key-42';
const available = await hasGcloud();
if (!available && emulatorRequired())
  throw new Error('CI=true: the Pub/Sub emulator (gcloud beta emulators pubsub) is required for the function tests');

let fake: FakeDbtCloud;
let gcs: FakeGcs;
let sink: FakeAlertSink;
let pipeline: Pipeline;
const DAY0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;
const slackSecret = `projects/${PROJECT}/secrets/alerts-slack-webhook-url`;

/** alertRun's log lines saying how it answered a delivery. */
const outcomes = () =>
  (pipeline.fns.alertRun?.output() ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { message: string; runId?: number; sent?: string[]; alreadySent?: number })
    .filter((l) => l.message === 'alerts delivered');

describe.skipIf(!available)('alertRun in the pipeline (real emulator, real functions-framework, stand-in sink)', () => {
  beforeAll(async () => {
    fake = await fakeCloud({ from: new Date(DAY0), to: new Date(DAY0 + 86_400_000), jobsPerEnvironment: 2 });
    gcs = await startFakeGcs();
    sink = await startFakeAlertSink();
    pipeline = await startPipeline({
      project: PROJECT,
      fake,
      token: TOKEN,
      env: { ARTIFACTS_DESTINATION: `gs://${BUCKET}`, STORAGE_API_ENDPOINT: gcs.url },
      maxDeliveryAttempts: 5,
      backoffSeconds: { min: 0, max: 1 },
      alerts: {
        ALERTS_WEBHOOK_URL: `${sink.url}/hook`,
        ALERTS_WEBHOOK_SECRET: SECRET,
        ALERTS_SLACK_WEBHOOK_URL_SECRET: slackSecret,
      },
    });
    pipeline.secrets.addVersion(slackSecret, `${sink.url}/slack`);
  }, 180_000);

  afterAll(async () => {
    await pipeline?.close();
    await sink?.stop();
    await fake?.stop();
    await gcs?.stop();
  });

  it('turns a failed run harvested through the pipeline into exactly one message per sink', async () => {
    const failed = fake.account
      .runsFinishedIn(new Date(DAY0 + 9 * 3_600_000), new Date(DAY0 + 12 * 3_600_000))
      .find((r) => fake.account.statusOf(r) === 20)!;
    expect(failed).toBeDefined();
    sink.failNext('/hook', [{ status: 500 }]);
    await pipeline.pubsub.topic('dbt-runs').publishMessage({
      data: Buffer.from(
        JSON.stringify({ runId: failed.id, jobId: failed.jobId, finishedAt: failed.finishedAt, source: 'manual' }),
      ),
    });
    await until('alertRun delivered the run', () => outcomes().some((o) => o.runId === failed.id), 120_000);
    expect(pipeline.stored.map((m) => JSON.parse(m.data.toString()) as unknown)).toContainEqual({
      runId: failed.id,
      jobId: failed.jobId,
      finishedAt: failed.finishedAt.toISOString(),
    });
    const hook = sink.delivered('/hook');
    expect(hook).toHaveLength(1);
    expect(hook[0]!.headers['x-harvester-signature']).toBe(
      `sha256=${createHmac('sha256', SECRET).update(hook[0]!.body).digest('hex')}`,
    );
    const alerts = (JSON.parse(hook[0]!.body) as { alerts: unknown[] }).alerts.map((a) => AlertSchema.parse(a));
    expect(alerts.filter((a) => a.rule === 'run-failed').map((a) => a.runId)).toEqual([failed.id]);
    expect(sink.delivered('/slack')).toHaveLength(1);

    // Pub/Sub delivers the same "run stored" message again: nothing more is sent.
    const received = sink.received.length;
    await pipeline.pubsub.topic('runs-stored').publishMessage({ data: pipeline.stored[0]!.data });
    await until('alertRun answered the repeat', () => outcomes().filter((o) => o.runId === failed.id).length >= 2);
    expect(outcomes().filter((o) => o.runId === failed.id)[1]).toMatchObject({ sent: [], alreadySent: 2 });
    expect(sink.received.length).toBe(received);
    expect(pipeline.storedDead).toEqual([]);
  }, 180_000);
});
