import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listFiles } from '../../expected.ts';

/** fsync calls of the local sink, by path relative to the sink's root. */
const synced: string[] = [];
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        synced.push(String(args[0]));
        return sync();
      };
      return handle;
    },
  };
});
const { LocalFolder } = await import('../../../lib/storage/local.ts');

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'local-durable-'));
  synced.length = 0;
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the local sink, durably', () => {
  it('syncs each file, its folder and every new folder entry before the write returns', async () => {
    const sink = new LocalFolder(root);
    await sink.write(
      'date=2022-06-01/hour=09/job_id=1/run_id=2/step=4/manifest.json',
      Readable.from([Buffer.from('{}')]),
      { contentType: 'application/json' },
    );
    const rel = synced.map((p) => relative(root, p) || '.');
    expect(rel.filter((p) => p.endsWith('.partial'))).toHaveLength(1);
    expect(rel.filter((p) => !p.endsWith('.partial'))).toEqual([
      'date=2022-06-01/hour=09/job_id=1/run_id=2/step=4',
      'date=2022-06-01/hour=09/job_id=1/run_id=2',
      'date=2022-06-01/hour=09/job_id=1',
      'date=2022-06-01/hour=09',
      'date=2022-06-01',
      '.',
    ]);
    // The marker, written next into an existing folder, syncs itself and that folder.
    synced.length = 0;
    await sink.write('date=2022-06-01/hour=09/job_id=1/run_id=2/_run.json', Readable.from([Buffer.from('{}\n')]), {
      contentType: 'application/json',
    });
    expect(synced.map((p) => relative(root, p)).filter((p) => !p.endsWith('.partial'))).toEqual([
      'date=2022-06-01/hour=09/job_id=1/run_id=2',
    ]);
  });

  it('sweeps what a killed writer left in the step folders of a run already stored', async () => {
    const run = join(root, 'run');
    await mkdir(join(run, 'step=4'), { recursive: true });
    await writeFile(join(run, '_run.json'), '{}\n');
    await writeFile(join(run, 'step=4', 'manifest.json'), '{}');
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString(),
    );
    await writeFile(join(run, 'step=4', `.${dead}.${randomUUID()}.partial`), 'half a file');
    expect(await new LocalFolder(root).exists('run/_run.json')).toBe(true);
    expect(await listFiles(root)).toEqual(['run/_run.json', 'run/step=4/manifest.json']);
  });
});
