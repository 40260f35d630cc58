import { OPTIONS } from '../../lib/config/options.ts';
import { ARTIFACT_CONCURRENCY } from '../../lib/harvest/run-harvest.ts';
import { results, rows, log, harvestAll, uniformAccount } from './shared.ts';

/** The benchmark's throughput part (npm run bench -- --only throughput). */
export async function throughputPart(): Promise<void> {
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
  rows.push([
    'throughput',
    'requests per run',
    `${perRun.toFixed(2)} (${many.notFound} answered 404)`,
    `<= 9: ${perRun <= 9 ? 'yes' : 'NO'}`,
  ]);
}
