import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The README's first commands as a newcomer types them, on a fresh clone of this repository (what
 * is committed, nothing built or installed): `npm run demo` and `npm run harvester` before `npm ci`
 * say to run it, and `npm ci && npm run demo` works as written. npm installs from its cache only
 * (`--offline`: the tests talk to loopback alone; CI's own `npm ci` filled the cache).
 */
const exec = promisify(execFile);
/** Node 22 first on PATH, as a user who installed it has; npm's settings of this run left out. */
const env = Object.fromEntries(
  Object.entries({
    ...process.env,
    PATH: [dirname(process.execPath), process.env['PATH'] ?? ''].join(delimiter),
  }).filter(([k]) => !k.toLowerCase().startsWith('npm_')),
);
let dir: string;
let clone: string;

async function npm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('npm', args, { cwd: clone, env, timeout: 600_000, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('a fresh clone, as the README says to use it', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fresh-clone-'));
    clone = join(dir, 'clone');
    // A clone of what is committed; where the sources came without their history (Cloud Build's
    // upload leaves .git out), the tree itself, without what installing and running wrote.
    if (existsSync('.git')) await exec('git', ['clone', '--quiet', resolve('.'), clone], { env });
    else
      await cp(resolve('.'), clone, {
        recursive: true,
        filter: (src) =>
          !/[\\/](node_modules|demo-output|dist|bench-results)([\\/]|$)/.test(src.slice(resolve('.').length)),
      });
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says to run npm ci first, then npm ci && npm run demo harvests and writes the report', async () => {
    const early = await npm(['run', 'demo']);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('npm run demo needs the project installed first: run npm ci');
    const cli = await npm(['run', '--silent', 'harvester', '--', '--help']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('npm run harvester needs the project installed first: run npm ci');

    const installed = await npm(['ci', '--offline', '--no-audit', '--no-fund']);
    expect(installed.code, installed.stderr).toBe(0);
    const demo = await npm(['run', 'demo']);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/open \.\/demo-output\/history\.html in a browser/);
    await access(join(clone, 'demo-output', 'state', 'manifest.json'));
    const report = await readFile(join(clone, 'demo-output', 'history.html'), 'utf8');
    // The three hours harvested and the month before them, in one report.
    expect(report).toMatch(/\d+ runs of 15 jobs, 2022-05-03 to 2022-06-01/);
    const help = await npm(['run', '--silent', 'harvester', '--', '--help']);
    expect(help.code, help.stderr).toBe(0);
  }, 900_000);
});
