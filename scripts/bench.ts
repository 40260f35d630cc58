/**
 * npm run bench: memory, throughput, rate-limit, backfill, round-trip and freshness figures for the
 * harvest, against the fake dbt Cloud on loopback. Prints a markdown table and writes
 * bench-results/bench.json.
 *
 *   npm run bench -- [--only memory,throughput,requests,ratelimit,backfill,roundtrips,freshness,history,coverage,webhook,concurrent]
 *                    [--runs 500] [--fresh-runs 60] [--dbt-coverage DIR] [--copies 300]
 */
import { memoryPart } from './bench/memory.ts';
import { throughputPart } from './bench/throughput.ts';
import { requestsPart } from './bench/requests.ts';
import { ratelimitPart } from './bench/ratelimit.ts';
import { backfillPart } from './bench/backfill.ts';
import { historyPart } from './bench/history.ts';
import { coveragePart } from './bench/coverage.ts';
import { webhookPart } from './bench/webhook.ts';
import { roundtripsPart } from './bench/roundtrips.ts';
import { freshnessPart } from './bench/freshness.ts';
import { concurrentPart } from './bench/concurrent.ts';
import { only, results, rows } from './bench/shared.ts';
import { mkdir, writeFile } from 'node:fs/promises';

const PARTS: [string, () => Promise<void>][] = [
  ['memory', memoryPart],
  ['throughput', throughputPart],
  ['requests', requestsPart],
  ['ratelimit', ratelimitPart],
  ['backfill', backfillPart],
  ['history', historyPart],
  ['coverage', coveragePart],
  ['webhook', webhookPart],
  ['roundtrips', roundtripsPart],
  ['freshness', freshnessPart],
  ['concurrent', () => concurrentPart()],
];
for (const [name, part] of PARTS) if (only.has(name)) await part();

await mkdir('bench-results', { recursive: true });
await writeFile('bench-results/bench.json', `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(
  `| part | measure | figure | goal |\n| --- | --- | --- | --- |\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`,
);
// Every part has stopped what it started; a client's idle timer (the Pub/Sub client's, gRPC's) can
// still hold the event loop open for minutes after the table is written.
process.exit(0);
