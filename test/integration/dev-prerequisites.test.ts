import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeMissing, missingPrerequisites, type Probe } from '../../harness/prerequisites.ts';

/**
 * `npm run dev` on a machine that lacks what it needs (the Google Cloud CLI, its Pub/Sub emulator,
 * Java): it says what is missing and how to install it, at once, instead of starting the fakes and
 * ending in a child process's stack trace. Run as a user runs it, with PATH cut down.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-prereq-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A folder of links to every program on this PATH (the first of each name), but those left out. */
async function pathWithout(name: string, leaveOut: readonly string[]): Promise<string> {
  const bin = join(dir, name);
  await mkdir(bin);
  const linked = new Set<string>(leaveOut);
  for (const folder of (process.env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    const entries = await readdir(folder).catch(() => [] as string[]);
    for (const entry of entries) {
      if (linked.has(entry)) continue;
      linked.add(entry);
      await symlink(join(folder, entry), join(bin, entry));
    }
  }
  return bin;
}

function dev(path: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['scripts/dev.ts', '--base-port', '18300', '--live-every', '0'],
      { env: { PATH: path, HOME: dir, CLOUDSDK_CONFIG: join(dir, 'gcloud-config') }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const NO_STACK = /^\s+at /m;

describe('npm run dev checks its prerequisites first', () => {
  it('without gcloud and Java: exit 1 naming both and how to install them, nothing started', async () => {
    const bin = join(dir, 'node-only');
    await mkdir(bin);
    await symlink(process.execPath, join(bin, 'node'));
    const res = await dev(bin);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toContain('npm run dev needs 2 more things on this machine:');
    expect(res.stderr).toContain('the Google Cloud CLI (gcloud)');
    expect(res.stderr).toContain('https://cloud.google.com/sdk/docs/install');
    expect(res.stderr).toContain('a Java runtime');
    expect(res.stderr).not.toMatch(NO_STACK);
    // Nothing was started: no fake dbt Cloud, no build.
    expect(res.stdout).not.toContain('fake dbt Cloud on');
  }, 90_000);

  it('with gcloud and its emulator but without Java: names Java alone', async () => {
    const res = await dev(await pathWithout('no-java', ['java']));
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toContain('npm run dev needs one more thing on this machine:');
    expect(res.stderr).toContain('a Java runtime');
    expect(res.stderr).not.toContain('gcloud)');
    expect(res.stderr).not.toContain('emulator component');
    expect(res.stderr).not.toMatch(NO_STACK);
  }, 90_000);

  it('a bad --base-port is one sentence, not a stack trace', async () => {
    const res = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, ['scripts/dev.ts', '--base-port', 'eighty'], { timeout: 60_000 }, (err, _o, stderr) =>
        resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr }),
      );
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('--base-port must be a port from 1024 to 65530');
    expect(res.stderr).not.toMatch(NO_STACK);
  }, 90_000);
});

describe('what counts as missing', () => {
  const probe = (has: { gcloud?: boolean; emulator?: boolean; java?: boolean }): Probe => ({
    run: async (program) => {
      if (program === 'gcloud') return has.gcloud ? '/opt/google-cloud-sdk\n' : null;
      if (program === 'java') return has.java ? 'openjdk version "17.0.12"' : null;
      return null;
    },
    exists: async (path) => Boolean(has.emulator) && path === '/opt/google-cloud-sdk/platform/pubsub-emulator',
  });
  const what = async (has: Parameters<typeof probe>[0]) =>
    (await missingPrerequisites(probe(has))).map((m) => m.what.split(',')[0]);

  it('nothing when everything is there', async () => {
    expect(await what({ gcloud: true, emulator: true, java: true })).toEqual([]);
  });

  it('the emulator component when gcloud has no platform/pubsub-emulator', async () => {
    const missing = await missingPrerequisites(probe({ gcloud: true, java: true }));
    expect(missing.map((m) => m.what)).toEqual(["the Google Cloud CLI's Pub/Sub emulator component"]);
    expect(describeMissing('npm run dev', missing)).toContain('gcloud components install pubsub-emulator');
  });

  it('gcloud (not its component) when gcloud itself is absent; Java when java does not run', async () => {
    expect(await what({ java: true })).toEqual(['the Google Cloud CLI (gcloud)']);
    expect(await what({ gcloud: true, emulator: true })).toEqual(['a Java runtime']);
  });
});
