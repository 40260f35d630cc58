/**
 * A local folder, as the local sink writes it: files linked into place whole, temporaries (`.partial`)
 * skipped.
 * @module
 */
import { createReadStream, type Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { ObjectNotFoundError, checkReadPath, type ObjectReader, type StoredEntry } from './reader.ts';

export class LocalFolderReader implements ObjectReader {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = this.root;
  }

  async *list(prefix = ''): AsyncIterable<StoredEntry> {
    // Walk only the folder the prefix names (whole segments), then keep what matches the rest.
    const whole = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    if (whole) checkReadPath(whole);
    yield* this.walk(whole, prefix);
  }

  private async *walk(dir: string, prefix: string): AsyncIterable<StoredEntry> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.root, ...(dir ? dir.split('/') : [])), { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (path.startsWith(prefix) || prefix.startsWith(`${path}/`)) yield* this.walk(path, prefix);
      } else if (e.isFile() && path.startsWith(prefix) && !e.name.startsWith('.') && !e.name.endsWith('.partial')) {
        const info = await stat(join(this.root, ...path.split('/'))).catch(() => null);
        if (info) yield { path, size: info.size };
      }
    }
  }

  async read(path: string): Promise<Readable> {
    checkReadPath(path);
    const full = join(this.root, ...path.split('/'));
    const info = await stat(full).catch(() => null);
    if (!info?.isFile()) throw new ObjectNotFoundError(full);
    return createReadStream(full);
  }
}
