/**
 * npm run package:function: builds the code and stages what Cloud Run functions deploy in
 * build/function-source (Terraform zips it): the compiled dist/, a package.json with the runtime
 * dependencies only, and the lockfile pruned to them, so the platform's npm ci installs exactly the
 * versions that were tested and none of the development tools.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const OUT = 'build/function-source';
const run = (cmd: string, args: string[], cwd = '.'): void => {
  execFileSync(cmd, args, { cwd, stdio: 'inherit' });
};

run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
cpSync('dist/lib', join(OUT, 'dist/lib'), { recursive: true });
cpSync('dist/functions', join(OUT, 'dist/functions'), { recursive: true });

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, unknown>;
const runtime = {
  name: pkg['name'],
  version: pkg['version'],
  private: true,
  type: 'module',
  main: 'dist/functions/index.js',
  engines: pkg['engines'],
  dependencies: pkg['dependencies'],
};
writeFileSync(join(OUT, 'package.json'), `${JSON.stringify(runtime, null, 2)}\n`);
cpSync('package-lock.json', join(OUT, 'package-lock.json'));
// Drop the development packages from the lockfile, keeping every resolved version as it is.
run('npm', ['install', '--package-lock-only', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], OUT);
process.stdout.write(`staged ${OUT}\n`);
