#!/usr/bin/env node
/**
 * The dbt-harvester binary: runs the CLI with this process's arguments, streams and environment.
 * @module
 */
import { runCli } from './run.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
});
