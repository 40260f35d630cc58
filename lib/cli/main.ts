#!/usr/bin/env node
/**
 * The dbt-harvester binary: runs the CLI with this process's arguments, streams and environment.
 * Relative paths resolve where the user stands: `npm run harvester` runs from the repository, and
 * says where the user was in INIT_CWD.
 * @module
 */
import { runCli } from './cli.ts';

// Output piped into a reader that stops early (`| head`): the reader is done, and so are we.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.env['INIT_CWD'] || process.cwd(),
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
});
