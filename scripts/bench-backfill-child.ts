/**
 * One backfill in its own process, through the backfill function's handler with its real adapters
 * (dbt Cloud client, Pub/Sub publisher to the emulator), so that its peak RSS is the backfill's
 * alone. It runs the compiled code in dist/, as a deployed function does (the bench builds it).
 * Used by scripts/bench.ts; prints one JSON line.
 *   node scripts/bench-backfill-child.ts --start ISO --end ISO   (configuration from the environment)
 */
import { peakRssMb } from './peak-rss.ts';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { start: { type: 'string' }, end: { type: 'string' } } });
const compiled = (path: string): string => new URL(`../dist/${path}`, import.meta.url).href;
// As a served function is: tuned when served, before its handler and clients load (lib/cloud/serve.ts).
const { tuneForSmallInstances } = (await import(
  compiled('lib/config/runtime.js')
)) as typeof import('../lib/config/runtime.ts');
tuneForSmallInstances();
const { loadConfig } = (await import(compiled('lib/config/load.js'))) as typeof import('../lib/config/load.ts');
const { create } = (await import(compiled('lib/cloud/backfill.js'))) as typeof import('../lib/cloud/backfill.ts');
const { silentLogger } = (await import(compiled('lib/log.js'))) as typeof import('../lib/log.ts');

const config = loadConfig({ env: process.env, needs: ['dbtCloud', 'runsTopic'], cloud: true });
const handler = await create(config, silentLogger);
const started = performance.now();
const reply = await handler({
  method: 'POST',
  header: (name) => (name.toLowerCase() === 'content-type' ? 'application/json' : undefined),
  rawBody: Buffer.from(JSON.stringify({ start: values.start, end: values.end })),
});
process.stdout.write(
  `${JSON.stringify({
    reply,
    seconds: (performance.now() - started) / 1000,
    maxRssMb: peakRssMb(),
  })}\n`,
);
process.exit(0);
