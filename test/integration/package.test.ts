import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';
import { codeBlocks } from '../markdown.ts';

/**
 * The package as a user gets it: `npm pack` on the sources (its prepack builds them), the tarball
 * installed into an empty folder, its binaries run under Node 22, and the README's GitHub Actions
 * step run verbatim against the fake dbt Cloud. The pack happens in a copy of the sources, so the
 * repository's own dist/ (which other suites build) is never touched.
 */
const exec = promisify(execFile);
const REPO = resolve('.');
const pkg = JSON.parse(await readFile('package.json', 'utf8')) as {
  name: string;
  version: string;
  engines: { node: string };
};
/** Node 22 (vitest runs under the pinned node), first on PATH, as `#!/usr/bin/env node` finds it. */
const PATH = [dirname(process.execPath), process.env['PATH'] ?? ''].join(delimiter);

let dir: string;
let tarball: string;
let use: string;
let fake: FakeDbtCloud;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'package-'));
  fake = await fakeCloud();
  const src = join(dir, 'src');
  await mkdir(src);
  for (const entry of ['package.json', 'package-lock.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json']) {
    await cp(entry, join(src, entry));
  }
  for (const folder of ['lib', 'functions']) await cp(folder, join(src, folder), { recursive: true });
  await symlink(join(REPO, 'node_modules'), join(src, 'node_modules'), 'dir');
  await mkdir(join(dir, 'out'));
  await exec('npm', ['pack', '--pack-destination', join(dir, 'out')], {
    cwd: src,
    env: { ...process.env, PATH },
    timeout: 300_000,
  });
  tarball = join(dir, 'out', (await readdir(join(dir, 'out')))[0]!);
  use = join(dir, 'use');
  await mkdir(use);
  await exec('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: use,
    env: { ...process.env, PATH },
    timeout: 600_000,
  });
}, 900_000);

afterAll(async () => {
  await fake?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the package, packed and installed in an empty folder', () => {
  it('holds the built code, the README and the package file, and none of the sources, tests or fakes', async () => {
    expect(tarball.endsWith(`${pkg.name}-${pkg.version}.tgz`)).toBe(true);
    const { stdout } = await exec('tar', ['-tzf', tarball]);
    const files = stdout.split('\n').filter(Boolean);
    expect(files).toContain('package/dist/lib/cli/main.js');
    expect(files).toContain('package/dist/functions/index.js');
    expect(files).toContain('package/README.md');
    expect(files.filter((f) => /^package\/(test|harness|scripts|terraform|lib|functions)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('runs both of its binaries under Node 22, through npx as CI would', async () => {
    for (const bin of ['dbt-cloud-harvester', 'dbt-harvester']) {
      const { stdout } = await exec('npx', ['--no-install', bin, '--version'], {
        cwd: use,
        env: { ...process.env, PATH },
      });
      expect(stdout.trim()).toBe(`dbt-harvester ${pkg.version}`);
    }
    const help = await exec(process.execPath, [join(use, 'node_modules/.bin/dbt-harvester'), '--help'], { cwd: use });
    expect(help.stdout).toMatch(/retrieve-most-recent-artifact/);
  });

  it("states one Node requirement: the package's engines, the README's", async () => {
    expect(pkg.engines.node).toBe('>=22');
    const installed = JSON.parse(await readFile(join(use, 'node_modules', pkg.name, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(installed.engines.node).toBe('>=22');
    const readme = await readFile('README.md', 'utf8');
    expect(readme).toContain('Node.js 22 or later');
    expect(readme).not.toMatch(/Node(\.js)? ?(≥|>=) ?20/);
  });

  it("fetches the production manifest with the README's GitHub Actions step, run as written", async () => {
    const readme = await readFile('README.md', 'utf8');
    const steps = codeBlocks(readme, ['yaml']).flatMap((block) => parseYaml(block) as { run?: string; env?: object }[]);
    const step = steps.find((s) => s.run?.includes('retrieve-most-recent-artifact'));
    expect(step, 'a GitHub Actions step that fetches the manifest').toBeDefined();
    // The version the step pins is this package's: npx then runs the installed one.
    expect(step!.run).toContain(`npx --yes ${pkg.name}@${pkg.version} `);
    expect(Object.keys(step!.env ?? {}).sort()).toEqual([
      'DBT_CLOUD_ACCOUNT_ID',
      'DBT_CLOUD_HOST',
      'DBT_CLOUD_TOKEN',
      'PROD_JOB_ID',
    ]);
    const job = fake.account.jobs.find((j) => j.generateDocs)!;
    const newest = fake.account.runs
      .filter((r) => r.jobId === job.id && fake.account.isComplete(r) && fake.account.statusOf(r) === 10)
      .sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime())[0]!;
    // As GitHub Actions runs a `run:` step on Linux: `bash --noprofile --norc -eo pipefail {0}`
    // (https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepsshell).
    const { stderr } = await exec('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step!.run!], {
      cwd: use,
      env: {
        PATH,
        HOME: process.env['HOME'] ?? dir,
        DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
        DBT_CLOUD_HOST: fake.url,
        DBT_CLOUD_TOKEN: TOKEN,
        PROD_JOB_ID: String(job.id),
      },
      timeout: 120_000,
    });
    expect(stderr).toBe('');
    const last = [...newest.steps].reverse().find((s) => s.files.includes('manifest.json'))!;
    const stored = await readFile(join(use, 'state', 'manifest.json'));
    expect(createHash('sha256').update(stored).digest('hex')).toBe(
      await fake.account.artifact(newest.id, last.index, 'manifest.json').sha256(),
    );
  });
});
