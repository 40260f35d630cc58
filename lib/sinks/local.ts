/**
 * A local folder. Each file is written under a temporary name in its final folder and linked into
 * place only when complete: link() fails if the name exists, so an existing file is never replaced,
 * and a reader never sees half a file.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, link, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { byteCounter, checkObjectPath, type ArtifactSink, type WriteOptions, type WriteResult } from './sink.ts';

export class LocalFolderSink implements ArtifactSink {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = this.root;
  }

  /**
   * Every folder this process looks into is swept of dead writers' temporaries once: a process
   * killed between linking a file into place and removing its temporary leaves one behind in a
   * folder that may never be written again (the file, or the whole run, already stored).
   */
  private readonly swept = new Set<string>();

  private async sweepOnce(dir: string): Promise<void> {
    if (this.swept.has(dir)) return;
    this.swept.add(dir);
    await sweepOrphans(dir);
  }

  resolve(path: string): string {
    checkObjectPath(path);
    const full = join(this.root, ...path.split('/'));
    const rel = relative(this.root, full);
    if (rel.startsWith('..') || rel.includes(`${sep}..${sep}`)) throw new Error(`path ${path} leaves ${this.root}`);
    return full;
  }

  async exists(path: string): Promise<boolean> {
    const target = this.resolve(path);
    await this.sweepOnce(dirname(target));
    try {
      await access(target);
      return true;
    } catch {
      return false;
    }
  }

  async write(path: string, body: Readable, _options: WriteOptions): Promise<WriteResult> {
    const target = this.resolve(path);
    if (await this.exists(path)) {
      body.destroy();
      return { status: 'exists', bytes: (await stat(target)).size };
    }
    await mkdir(dirname(target), { recursive: true });
    const temporary = join(dirname(target), `.${process.pid}.${randomUUID()}.partial`);
    const count = byteCounter();
    try {
      await pipeline(body, count.stream, createWriteStream(temporary, { flags: 'wx' }));
      try {
        await link(temporary, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return { status: 'exists', bytes: (await stat(target)).size };
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err;
        // Filesystems without hard links: rename, after a last check.
        if (await this.exists(path)) return { status: 'exists', bytes: (await stat(target)).size };
        await rename(temporary, target);
      }
      return { status: 'stored', bytes: count.bytes() };
    } finally {
      await unlink(temporary).catch(() => {});
    }
  }
}

const PARTIAL = /^\.(\d+)\.[0-9a-f-]{36}\.partial$/;

/**
 * Removes the temporary files of writers that no longer run (a process killed mid-file). A live
 * writer's file is left alone: its PID still answers.
 */
async function sweepOrphans(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(PARTIAL.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    await unlink(join(dir, name)).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
