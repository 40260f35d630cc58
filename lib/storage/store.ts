/**
 * Where runs are stored, for writing and for reading back: a local folder or a Cloud Storage bucket
 * behind one interface. Paths are relative and `/`-separated (the rule in core/paths.ts), and never
 * written twice: a write to a path that exists resolves `exists` and leaves the stored object as it
 * was. A write whose source fails rejects and leaves nothing behind.
 * @module
 */
import { Transform, type Readable } from 'node:stream';

export interface WriteResult {
  status: 'stored' | 'exists';
  bytes: number;
}

export interface WriteOptions {
  contentType: string;
  /** Bytes expected, when known (small objects take a one-request upload). */
  size?: number | null;
  /**
   * Replace what the path holds, whole, once the new body is complete (a local folder only: CI's
   * state folder). Harvesting never replaces.
   */
  replace?: boolean;
}

export interface StoredEntry {
  /** Relative to the destination, `/`-separated. */
  path: string;
  /** Bytes; -1 where the listing was asked not to find them (ListOptions.sizes). */
  size: number;
}

export interface ListOptions {
  /** Find each object's size (default true; a folder then reads each file's metadata). */
  sizes?: boolean;
}

/** What harvesting needs of a destination. */
export interface ArtifactSink {
  /** For messages: the folder or gs:// URL. */
  readonly description: string;
  /**
   * Whether the destination can be reached and read, asked once before any work: what is wrong
   * (a bucket that does not exist, one this account may not read, no answer), or null.
   */
  problem?(): Promise<string | null>;
  exists(path: string): Promise<boolean>;
  write(path: string, body: Readable, options: WriteOptions): Promise<WriteResult>;
}

/** What the tools that analyse the history need of a destination. */
export interface ObjectReader {
  /** For messages: the folder or gs:// URL. */
  readonly description: string;
  /** Every stored object whose path starts with `prefix` (folders are not objects), in path order. */
  list(prefix?: string, options?: ListOptions): AsyncIterable<StoredEntry>;
  /** One object's bytes; rejects with ObjectNotFoundError when there is none. */
  read(path: string): Promise<Readable>;
}

/** A destination: both. */
export interface Store extends ArtifactSink, ObjectReader {}

export class ObjectNotFoundError extends Error {
  constructor(where: string) {
    super(`${where} does not exist`);
    this.name = 'ObjectNotFoundError';
  }
}

/** A pass-through that counts the bytes going by (what a store reports as written). */
export function byteCounter(): { stream: Transform; bytes: () => number } {
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, bytes: () => bytes };
}

/** A whole small object as text, refusing one past `limit` bytes. */
export async function readSmall(reader: ObjectReader, path: string, limit: number): Promise<string> {
  return (await readSmallBytes(reader, path, limit)).toString('utf8');
}

/**
 * A whole small object's bytes, refusing one past `limit` bytes: for a reader that decodes it a
 * piece at a time (a megabyte of text is one string on the heap; its bytes are not).
 */
export async function readSmallBytes(reader: ObjectReader, path: string, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await reader.read(path)) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limit) throw new Error(`${path} is larger than ${limit} bytes`);
    chunks.push(buf);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
