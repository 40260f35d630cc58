/**
 * Where artifacts go. Paths are relative, `/`-separated, and never written twice: a write to a path
 * that exists resolves `exists` and leaves the stored object as it was. A write whose source fails
 * rejects and leaves nothing behind.
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
}

export interface ArtifactSink {
  /** For messages: the folder or gs:// URL. */
  readonly description: string;
  exists(path: string): Promise<boolean>;
  write(path: string, body: Readable, options: WriteOptions): Promise<WriteResult>;
}

/** Relative object paths: no empty, `.` or `..` segments, no backslashes or NUL. */
export function checkObjectPath(path: string): void {
  const segments = path.split('/');
  if (path.includes('\0') || path.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`unsafe object path ${JSON.stringify(path)}`);
  }
}

/** A pass-through that counts the bytes going by (what a sink reports as written). */
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
