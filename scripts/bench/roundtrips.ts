import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbtCloudClient } from '../../lib/dbt-cloud/client.ts';
import { DEFAULT_ARTIFACTS } from '../../lib/config/options.ts';
import { ARTIFACT_CONCURRENCY, harvestRun } from '../../lib/harvest/run-harvest.ts';
import { LocalFolder } from '../../lib/storage/local.ts';
import { startFakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { TOKEN, DAY, results, rows, log } from './shared.ts';

/**
 * One run of three dbt steps (12 artifact requests), every answer 100 ms late: the time to store it,
 * in round trips, with the files fetched one after another (as before) and a few at once.
 */

/** The benchmark's round trips part (npm run bench -- --only roundtrips). */
export async function roundtripsPart(): Promise<void> {
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
