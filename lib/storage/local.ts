/**
 * A local folder, written and read. Each file is written under a temporary name in its final folder
 * and linked into place only when complete: link() fails if the name exists, so an existing file is
 * never replaced, and a reader never sees half a file. A write returns only once the file and its
 * folder entries are on disk (fsync), so that a run marked stored (`_run.json`, written last)
 * survives a crash with every artifact before it. Temporaries (the `.partial` rule, all of it here)
 * are named after their writer's process, swept once that process is gone, and never listed.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { access, link, lstat, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HarvesterError } from '../core/errors.ts';
import { checkRelativePath } from '../core/paths.ts';
import {
  ObjectNotFoundError,
  byteCounter,
  type Store,
  type ListOptions,
  type StoredEntry,
  type WriteOptions,
  type WriteResult,
} from './store.ts';

/** A writer's temporary: `.<pid>.<uuid>.partial`, in the folder of the file it becomes. */
const PARTIAL = /^\.(\d+)\.[0-9a-f-]{36}\.partial$/;
const temporaryName = (): string => `.${process.pid}.${randomUUID()}.partial`;
const isTemporary = (name: string): boolean => name.startsWith('.') || name.endsWith('.partial');

/** A write that would pass through a symbolic link inside the folder (exit status 2: a folder to fix). */
/** Folders read ahead of the one being walked. */
const READ_AHEAD = 8;

/** A folder being walked: its entries by name, the next one, and its subfolders read ahead. */
interface Folder {
  dir: string;
  entries: Dirent[];
  i: number;
  /** Its subfolders the walk enters, and the next one to read ahead. */
  folders: string[];
  next: number;
  ahead: Map<string, Promise<Dirent[] | null>>;
}

export class SymlinkedPathError extends HarvesterError {
  constructor(message: string) {
    super('SYMLINKED_PATH', message, { exitCode: 2 });
  }
}

export class LocalFolder implements Store {
  readonly root: string;
  readonly description: string;
  /**
   * Every folder this process looks into is swept of dead writers' temporaries once: a process
   * killed between linking a file into place and removing its temporary leaves one behind in a
   * folder that may never be written again (the file, or the whole run, already stored).
   */
  private readonly swept = new Set<string>();

  constructor(root: string) {
    this.root = resolve(root);
    this.description = this.root;
  }

  /** The file of a relative path, which cannot leave the folder. */
  resolve(path: string): string {
    checkRelativePath(path);
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
    } catch {
      return false;
    }
    // A stored object's folder may never be written again: sweep what a killed writer left below it.
    await this.sweepTree(dirname(target));
    return true;
  }

  /**
   * Refuses a path whose folders below the root include a symbolic link (or whose file is one):
   * a write through it would land outside the folder.
   */
  private async noLinks(path: string): Promise<void> {
    let at = this.root;
    for (const segment of path.split('/')) {
      at = join(at, segment);
      const info = await lstat(at).catch(() => null);
      if (info === null) return;
      if (info.isSymbolicLink())
        throw new SymlinkedPathError(
          `${at} is a symbolic link: nothing is written through it, so that every write stays inside ${this.root}`,
        );
    }
  }

  async write(path: string, body: Readable, options: WriteOptions): Promise<WriteResult> {
    const target = this.resolve(path);
    try {
      await this.noLinks(path);
    } catch (err) {
      body.destroy();
      throw err;
    }
    if (!options.replace && (await this.exists(path))) {
      body.destroy();
      return { status: 'exists', bytes: (await stat(target)).size };
    }
    const created = await mkdir(dirname(target), { recursive: true });
    const temporary = join(dirname(target), temporaryName());
    const count = byteCounter();
    try {
      await pipeline(body, count.stream, createWriteStream(temporary, { flags: 'wx' }));
      await syncPath(temporary);
      const placed = await this.place(temporary, target, path, options.replace === true);
      if (placed === 'exists') return { status: 'exists', bytes: (await stat(target)).size };
      // The new name, and the entries of any folder mkdir created on the way, are durable too.
      await syncPath(dirname(target));
      if (created)
        for (let dir = dirname(target); dir !== dirname(created); dir = dirname(dir)) await syncPath(dirname(dir));
      return { status: 'stored', bytes: count.bytes() };
    } finally {
      await unlink(temporary).catch(() => {});
    }
  }

  /** Puts a complete temporary file at its name: never over another (link), unless replacing (rename). */
  private async place(temporary: string, target: string, path: string, replace: boolean): Promise<'placed' | 'exists'> {
    if (replace) {
      await rename(temporary, target);
      return 'placed';
    }
    try {
      await link(temporary, target);
      return 'placed';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return 'exists';
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err;
      // Filesystems without hard links: rename, after a last check.
      if (await this.exists(path)) return 'exists';
      await rename(temporary, target);
      return 'placed';
    }
  }

  async *list(prefix = '', options: ListOptions = {}): AsyncIterable<StoredEntry> {
    // Walk only the folder the prefix names (whole segments), then keep what matches the rest.
    const whole = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    if (whole) checkRelativePath(whole);
    yield* this.walk(whole, prefix, options.sizes !== false);
  }

  async read(path: string): Promise<Readable> {
    const full = this.resolve(path);
    const info = await stat(full).catch(() => null);
    if (!info?.isFile()) throw new ObjectNotFoundError(full);
    return createReadStream(full);
  }

  /** A folder's entries by name; null when it cannot be read (gone, or not a folder). */
  private async entries(dir: string): Promise<Dirent[] | null> {
    try {
      const entries = await readdir(join(this.root, ...(dir ? dir.split('/') : [])), { withFileTypes: true });
      return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return null;
    }
  }

  /**
   * The objects under `dir` matching `prefix`, by name, depth first. The next few subfolders are
   * read while one is walked (a year's history rows are 8,000 folders, and reading them one after
   * the other was most of what listing them cost); one generator walks every level (a generator a
   * level, each passing every entry up, cost a promise per entry per level).
   */
  private async *walk(dir: string, prefix: string, sizes: boolean): AsyncIterable<StoredEntry> {
    const wanted = (path: string) => path.startsWith(prefix) || prefix.startsWith(`${path}/`);
    const open = async (at: string, listing: Promise<Dirent[] | null>): Promise<Folder | null> => {
      const entries = await listing;
      if (!entries) return null;
      const folders = entries.filter((e) => e.isDirectory()).map((e) => (at ? `${at}/${e.name}` : e.name));
      return { dir: at, entries, i: 0, folders: folders.filter(wanted), next: 0, ahead: new Map() };
    };
    const stack: Folder[] = [];
    const top = await open(dir, this.entries(dir));
    if (top) stack.push(top);
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      const e = f.entries[f.i++];
      if (!e) {
        stack.pop();
        continue;
      }
      const path = f.dir ? `${f.dir}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!wanted(path)) continue;
        while (f.next < f.folders.length && f.ahead.size < READ_AHEAD) {
          const folder = f.folders[f.next++]!;
          f.ahead.set(folder, this.entries(folder));
        }
        const listing = f.ahead.get(path) ?? this.entries(path);
        f.ahead.delete(path);
        const child = await open(path, listing);
        if (child) stack.push(child);
      } else if (e.isFile() && path.startsWith(prefix) && !isTemporary(e.name)) {
        if (!sizes) {
          yield { path, size: -1 };
          continue;
        }
        const info = await stat(join(this.root, ...path.split('/'))).catch(() => null);
        if (info) yield { path, size: info.size };
      }
    }
  }

  private async sweepOnce(dir: string): Promise<void> {
    if (this.swept.has(dir)) return;
    this.swept.add(dir);
    await sweepOrphans(dir);
  }

  /** A folder found holding a stored object, and its subfolders (a stored run's step folders). */
  private async sweepTree(dir: string): Promise<void> {
    await this.sweepOnce(dir);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await this.sweepOnce(join(dir, e.name));
  }
}

/** fsync of a file or a folder (a folder's fsync makes its entries durable). */
async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

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

/**
 * A file's bytes, in chunks read into two buffers in turn (the next read runs while the last chunk
 * is taken), so that reading a file of hundreds of MB allocates 2 MiB, not a buffer a chunk that
 * lingers until the garbage collector frees it. A chunk is valid until the next is asked for: the
 * consumer copies what it keeps (the facts readers do).
 */
export async function* fileChunks(path: string, size = 1 << 20): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)] as const;
  let turn = 0;
  let next: Promise<{ bytesRead: number; buffer: Buffer }> | null = file.read(buffers[0], 0, size, null);
  try {
    for (;;) {
      const { bytesRead, buffer } = await next;
      next = null;
      if (bytesRead === 0) return;
      turn ^= 1;
      next = file.read(buffers[turn]!, 0, size, null);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    // A consumer that stops early leaves a read in flight: it ends before the file is closed.
    await next?.catch(() => undefined);
    await file.close();
  }
}
