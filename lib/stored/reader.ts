/**
 * Reading what was stored: list a destination's objects and read one, whichever the destination.
 * The counterpart of the sinks, for the tools that analyse the history (coverage history).
 * @module
 */
import type { Readable } from 'node:stream';

export interface StoredEntry {
  /** Relative to the destination, `/`-separated. */
  path: string;
  size: number;
}

export interface ObjectReader {
  /** For messages: the folder or gs:// URL. */
  readonly description: string;
  /** Every object whose path starts with `prefix` (folders are not objects), in path order. */
  list(prefix?: string): AsyncIterable<StoredEntry>;
  /** One object's bytes; rejects with ObjectNotFoundError when there is none. */
  read(path: string): Promise<Readable>;
}

export class ObjectNotFoundError extends Error {
  constructor(where: string) {
    super(`${where} does not exist`);
    this.name = 'ObjectNotFoundError';
  }
}

/** Paths relative to a destination: no empty, `.` or `..` segments, no backslashes or NUL. */
export function checkReadPath(path: string): void {
  const segments = path.split('/');
  if (path.includes('\0') || path.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..'))
    throw new Error(`unsafe object path ${JSON.stringify(path)}`);
}
