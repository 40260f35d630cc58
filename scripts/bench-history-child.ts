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
process.stdout.write(
  `${JSON.stringify({
    code,
    stderr,
    seconds: (performance.now() - started) / 1000,
    maxRssMb: peakRssMb(),
  })}\n`,
);
