/**
 * A CLI command in its own process, so that its peak RSS is its own: the arguments after `--`, the
 * environment as given. Used by scripts/bench/ (the concurrent part); prints one JSON line.
 */
import { peakRssMb } from './peak-rss.ts';
import { runCli } from '../lib/cli/cli.ts';

const argv = process.argv.slice(process.argv.indexOf('--') + 1);
let stderr = '';
const started = performance.now();
const code = await runCli(argv, {
  env: process.env,
  stdout: () => {},
  stderr: (t) => {
    if (stderr.length < 20_000) stderr += t;
  },
  isTTY: false,
  cwd: process.cwd(),
});
process.stdout.write(
  `${JSON.stringify({ code, stderr, seconds: (performance.now() - started) / 1000, maxRssMb: peakRssMb() })}\n`,
);
