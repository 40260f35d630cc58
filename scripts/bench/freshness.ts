import { startFakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import type { FakeRun } from '../../harness/fake-dbt-cloud/model.ts';
import { startFakeGcs } from '../../harness/fake-gcs/server.ts';
import { startPipeline } from '../../harness/pipeline.ts';
import { values, TOKEN, results, rows, log, runFolderOf } from './shared.ts';

const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
};

/**
 * Runs end in a live fake dbt Cloud, which sends signed webhooks as dbt Cloud does; they flow
 * through the whole loopback pipeline (receiveWebhook, the Pub/Sub emulator, harvestRun, the fake
 * bucket). Freshness is the time from a run's finished_at to its _run.json in the bucket.
 */

/** The benchmark's freshness part (npm run bench -- --only freshness). */
export async function freshnessPart(): Promise<void> {
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
