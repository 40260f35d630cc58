import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalFolder, fileChunks } from '../../../lib/storage/local.ts';
import { listFiles } from '../../expected.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'local-sink-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The PID of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('LocalFolder', () => {
  it('writes once and never replaces', async () => {
    const sink = new LocalFolder(root);
    expect(
      await sink.write('a/b.json', Readable.from([Buffer.from('{"v":1}')]), { contentType: 'application/json' }),
    ).toEqual({ status: 'stored', bytes: 7 });
    expect(
      (await sink.write('a/b.json', Readable.from([Buffer.from('{"v":2}')]), { contentType: 'application/json' }))
        .status,
    ).toBe('exists');
    expect(await readFile(join(root, 'a/b.json'), 'utf8')).toBe('{"v":1}');
  });

  it('removes what a killed writer left beside files that are already stored, and spares live writers', async () => {
    // A writer killed after linking its file into place but before removing its temporary.
    await mkdir(join(root, 'run/step=4'), { recursive: true });
    await writeFile(join(root, 'run/_run.json'), '{}\n');
    await writeFile(join(root, 'run/step=4/manifest.json'), '{}');
    const dead = deadPid();
    const live = process.ppid; // a process that certainly runs
    await writeFile(join(root, `run/.${dead}.${randomUUID()}.partial`), 'x');
    await writeFile(join(root, `run/step=4/.${dead}.${randomUUID()}.partial`), 'x');
    const liveTemp = `run/step=4/.${live}.${randomUUID()}.partial`;
    await writeFile(join(root, liveTemp), 'x');

    const sink = new LocalFolder(root);
    expect(await sink.exists('run/_run.json')).toBe(true); // a complete run: only checked, never written
    expect(
      (
        await sink.write('run/step=4/manifest.json', Readable.from([Buffer.from('{}')]), {
          contentType: 'application/json',
        })
      ).status,
    ).toBe('exists');
    expect(await listFiles(root)).toEqual(['run/_run.json', liveTemp, 'run/step=4/manifest.json'].sort());
  });

  it('refuses paths that leave the folder', async () => {
    const sink = new LocalFolder(root);
    for (const path of ['../x.json', 'a/../../x.json', '/etc/passwd', 'a//b'])
      await expect(sink.exists(path)).rejects.toThrow(/unsafe/);
  });
});

describe('fileChunks', () => {
  it('reads a file whole through two reused buffers, and closes it when the reader stops early', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chunks-'));
    try {
      const path = join(dir, 'big.json');
      const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
      await writeFile(path, bytes);
      const copies: Buffer[] = [];
      const seen = new Set<string>();
      for await (const chunk of fileChunks(path, 256)) {
        copies.push(Buffer.from(chunk));
        seen.add(`${chunk.byteOffset}`);
      }
      expect(Buffer.concat(copies).equals(bytes)).toBe(true);
      expect(copies.map((c) => c.length)).toEqual([256, 256, 256, 232]);
      expect(seen.size).toBe(2);
      // Stopping after the first chunk, with the next read in flight, leaves the file closed.
      for await (const _ of fileChunks(path, 256)) break;
      await rm(path);
      const handles = await readdir('/proc/self/fd').catch(() => []);
      for (const fd of handles) expect(await readlink(`/proc/self/fd/${fd}`).catch(() => '')).not.toContain('big.json');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists a prefix by name, whole, however many folders it spans (read ahead of their turn)', async () => {
    const expected: string[] = [];
    for (let d = 0; d < 12; d++)
      for (let j = 0; j < 11; j++) {
        const folder = join(root, 'h', `date=2026-01-${String(d + 1).padStart(2, '0')}`, `job=${j}`);
        await mkdir(folder, { recursive: true });
        for (let r = 0; r < 3; r++) {
          await writeFile(join(folder, `run=${r}.json`), '{}');
          expected.push(`h/date=2026-01-${String(d + 1).padStart(2, '0')}/job=${j}/run=${r}.json`);
        }
      }
    await writeFile(join(root, 'h', 'date=2026-01-05', 'loose.json'), '{}');
    const list = async (prefix: string) => {
      const out: string[] = [];
      for await (const e of new LocalFolder(root).list(prefix, { sizes: false })) out.push(e.path);
      return out;
    };
    const all = await list('h/');
    expect(all).toEqual([...expected, 'h/date=2026-01-05/loose.json'].sort());
    expect(await list('h/date=2026-01-1')).toEqual(all.filter((p) => p.startsWith('h/date=2026-01-1')));
    // A reader that stops early leaves nothing pending that fails later.
    for await (const _ of new LocalFolder(root).list('h/')) break;
  });
});
