import { startFakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { ONE_RUN, results, rows, MB, log, median, alternately, harvestInChild } from './shared.ts';

async function memory(
  bytes: number,
  options: { coverage?: boolean; tuned?: boolean } = {},
): Promise<{ maxRssMb: number; seconds: number; bytes: number }> {
  const fake = await startFakeDbtCloud({
    ...ONE_RUN,
    uniform: { executeSteps: ['dbt run'] },
    sizeOf: (_r, _s, f) => (f === 'manifest.json' ? bytes : undefined),
  });
  const run = fake.account.runs[0]!;
  try {
    const r = await harvestInChild(fake, run.id, options);
    if (r.outcome.status !== 'stored') throw new Error(`run not stored: ${JSON.stringify(r.outcome)}`);
    return { maxRssMb: Number(r.maxRssMb.toFixed(1)), seconds: Number(r.seconds.toFixed(2)), bytes: r.outcome.bytes };
  } finally {
    await fake.stop();
  }
}

/** The benchmark's memory part (npm run bench -- --only memory). */
export async function memoryPart(): Promise<void> {
  log(
    'memory: one run with a 10 MiB manifest, then one with a 1 GiB manifest, each in its own process, as harvestRun runs (coverage on, V8 tuned); then the 1 GiB one with coverage off, and with V8 untuned (the CLI); three of each but the last, their medians',
  );
  // One process's peak varies by about 10 MB from run to run here: each figure is the median of
  // three runs, the 1 GiB runs with and without coverage taken in turn.
  const small = await median(3, () => memory(10 * MB));
  const [large, plain] = await alternately(
    3,
    () => memory(1024 * MB),
    () => memory(1024 * MB, { coverage: false }),
  );
  const untuned = await memory(1024 * MB, { tuned: false });
  results['memory'] = {
    small,
    large,
    largeWithoutCoverage: plain,
    largeUntuned: untuned,
    differenceMb: Number((large.maxRssMb - small.maxRssMb).toFixed(1)),
  };
  rows.push(['memory', 'peak RSS, run with a 10 MiB manifest', `${small.maxRssMb} MB`, '']);
  rows.push([
    'memory',
    'peak RSS, run with a 1 GiB manifest',
    `${large.maxRssMb} MB`,
    `< 200 MB: ${large.maxRssMb < 200 ? 'yes' : 'NO'}`,
  ]);
  rows.push([
    'memory',
    'difference',
    `${(large.maxRssMb - small.maxRssMb).toFixed(1)} MB`,
    `< 50 MB: ${large.maxRssMb - small.maxRssMb < 50 ? 'yes' : 'NO'}`,
  ]);
  rows.push([
    'memory',
    '1 GiB run harvested in',
    `${large.seconds} s (${(large.bytes / MB / large.seconds).toFixed(0)} MiB/s)`,
    '',
  ]);
  rows.push([
    'memory',
    '1 GiB run, coverage off',
    `${plain.seconds} s (${(plain.bytes / MB / plain.seconds).toFixed(0)} MiB/s); peak RSS ${plain.maxRssMb} MB`,
    `coverage on <= 1.5x off: ${large.seconds <= plain.seconds * 1.5 ? 'yes' : 'NO'} (${(large.seconds / plain.seconds).toFixed(2)}x)`,
  ]);
  rows.push(['memory', '1 GiB run, V8 untuned (the CLI)', `${untuned.seconds} s; peak RSS ${untuned.maxRssMb} MB`, '']);
}
