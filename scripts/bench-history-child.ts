/**
 * `history` in its own process, so that its peak RSS is its own. Used by scripts/bench.ts; prints
 * one JSON line.
 */
import { peakRssMb } from './peak-rss.ts';
import { parseArgs } from 'node:util';
import { runCli } from '../lib/cli/cli.ts';

const { values } = parseArgs({ options: { from: { type: 'string' }, out: { type: 'string' } } });
let stderr = '';
const started = performance.now();
const code = await runCli(['history', '--from', values.from!, '--out', values.out!], {
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
