/**
 * One run harvested in its own process, so that its peak RSS is the harvester's alone, with V8 tuned
 * as the functions tune it and coverage on (unless --tuned false, --coverage false). Used by
 * scripts/bench.ts; prints one JSON line.
 */
import { peakRssMb } from './peak-rss.ts';
import { parseArgs } from 'node:util';
import { tuneForSmallInstances } from '../lib/config/runtime.ts';
import { DbtCloudClient } from '../lib/dbt-cloud/client.ts';
import { harvestRun } from '../lib/harvest/run-harvest.ts';
import { LocalFolder } from '../lib/storage/local.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    account: { type: 'string' },
    token: { type: 'string' },
    run: { type: 'string' },
    out: { type: 'string' },
    coverage: { type: 'string', default: 'true' },
    tuned: { type: 'string', default: 'true' },
  },
});
// As harvestRun runs (lib/cloud/serve.ts), unless --tuned false (the CLI's defaults).
if (values.tuned !== 'false') tuneForSmallInstances('reading');
const client = new DbtCloudClient({
  baseUrl: values.url!,
  accountId: Number(values.account),
  token: values.token!,
  requestsPerMinute: 600_000,
});
const started = performance.now();
const outcome = await harvestRun(Number(values.run), {
  client,
  store: new LocalFolder(values.out!),
  artifacts: 'all',
  coverage: values.coverage !== 'false',
});
client.close();
process.stdout.write(
  `${JSON.stringify({
    outcome,
    seconds: (performance.now() - started) / 1000,
    maxRssMb: peakRssMb(),
  })}\n`,
);
