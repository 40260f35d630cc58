/**
 * `history` (or `coverage history`) in its own process, so that its peak RSS is its own. Used by scripts/bench.ts; prints
 * one JSON line.
 */
import { peakRssMb } from './peak-rss.ts';
import { parseArgs } from 'node:util';
import { runCli } from '../lib/cli/cli.ts';

const { values } = parseArgs({
  options: { from: { type: 'string' }, out: { type: 'string' }, coverage: { type: 'boolean', default: false } },
});
let stderr = '';
const started = performance.now();
// What the memory was made of when the resident set was largest (sampled): the JavaScript heap, and
// memory outside it (buffers, WebAssembly, code), which the heap's own limit does not bound.
let sampled = { rss: 0, heapUsed: 0, external: 0 };
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  if (m.rss > sampled.rss) sampled = { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}, 200);
// --coverage: `coverage history --format json` (the coverage points, each job's latest tables).
const argv = values.coverage
  ? ['coverage', 'history', '--from', values.from!, '--format', 'json', '--out', values.out!]
  : ['history', '--from', values.from!, '--out', values.out!];
const code = await runCli(argv, {
  env: process.env,
  stdout: () => {},
  stderr: (t) => (stderr += t),
  isTTY: false,
  cwd: process.cwd(),
});
clearInterval(sampler);
const mb = (n: number) => Math.round(n / 1e5) / 10;
process.stdout.write(
  `${JSON.stringify({
    code,
    stderr,
    seconds: (performance.now() - started) / 1000,
    maxRssMb: peakRssMb(),
    atPeak: { rssMb: mb(sampled.rss), heapUsedMb: mb(sampled.heapUsed), externalMb: mb(sampled.external) },
  })}\n`,
);
