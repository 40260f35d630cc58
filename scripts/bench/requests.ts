import { results, rows, log, harvestAll, uniformAccount } from './shared.ts';

/** The benchmark's requests part (npm run bench -- --only requests). */
export async function requestsPart(): Promise<void> {
  // A third of the runs write semantic_manifest.json and graph_summary.json at every parse.
  const fake = await uniformAccount({ latencyMs: 25, extraArtifacts: (runId) => runId % 3 === 0 });
  log(`requests: ${fake.account.runs.length} three-step runs, a third of them with semantic models`);
  const now = await harvestAll(fake, 8, 600_000);
  // What asking every step for the four documented files would have cost (the way before the run's
  // list was read; docs/performance.md has the measured comparison): the run, and 4 a step.
  const steps = fake.account.runs.reduce(
    (n, r) => n + r.steps.filter((s) => s.command && s.command !== 'deps').length,
    0,
  );
  const everyStep = fake.account.runs.length + 4 * steps;
  await fake.stop();
  results['requests'] = { now, everyStepRequests: everyStep };
  rows.push([
    'requests',
    `${now.runs} runs, the run's list and dbt's table`,
    `${(now.requests / now.runs).toFixed(2)} requests/run, ${now.notFound} 404s, ${now.files} files stored, ${now.seconds} s`,
    '',
  ]);
  rows.push([
    'requests',
    'against every documented file of every step',
    `${(everyStep / now.runs).toFixed(2)} requests/run, which would find no semantic_manifest.json or graph_summary.json`,
    `fewer requests and no blind 404: ${now.requests < everyStep && now.notFound === 0 ? 'yes' : 'NO'}`,
  ]);
}
