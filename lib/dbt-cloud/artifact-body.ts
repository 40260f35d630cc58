/**
 * Every check an artifact's body passes, in one place, as it streams (nothing is held): it is as
 * long as its Content-Length, it does not stall, and it is what its name says: a `.json` artifact
 * has no content type that rules JSON out (a proxy's HTML login page) and a first significant byte
 * that opens a JSON value (a UTF-8 byte order mark may come first: RFC 8259 lets a reader ignore
 * it; the readers skip it too); a `.parquet` artifact (Fusion's telemetry, served as
 * `application/x-parquet`) has no content type that rules Parquet out and starts with its magic
 * `PAR1`. A body that fails a check fails the stream with a typed error, and nothing of it may be
 * kept. (That the whole body is one JSON document or one Parquet file is checked as it passes on,
 * by lib/facts.)
 * @module
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { errorMessage } from '../core/errors.ts';
import { ArtifactIncompleteError, ArtifactNotJsonError, ArtifactNotParquetError } from './dbt-cloud-errors.ts';

/** What an artifact must be, from its name: JSON, Parquet, or anything (a nested SQL file). */
export type ArtifactKind = 'json' | 'parquet' | 'any';

export const kindOfArtifact = (path: string): ArtifactKind =>
  path.endsWith('.json') ? 'json' : path.endsWith('.parquet') ? 'parquet' : 'any';

/** Content types each kind may come with: itself, none, or a generic one. */
const TYPES: Record<Exclude<ArtifactKind, 'any'>, RegExp> = {
  json: /^(application\/(.+\+)?json|text\/plain|application\/octet-stream|binary\/octet-stream)$/,
  parquet: /^(application\/(x-parquet|vnd\.apache\.parquet|parquet)|application\/octet-stream|binary\/octet-stream)$/,
};

/** Why a content type rules the kind out, or null. */
export function contentTypeProblem(contentType: string | null, kind: ArtifactKind = 'json'): string | null {
  if (!contentType || kind === 'any') return null;
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  return TYPES[kind].test(media) ? null : `answered with Content-Type ${media}`;
}

/** The error of a body that is not its kind. */
export function notItsKind(kind: ArtifactKind, url: string, reason: string): Error {
  return kind === 'parquet' ? new ArtifactNotParquetError(url, reason) : new ArtifactNotJsonError(url, reason);
}

const PAR1 = [0x50, 0x41, 0x52, 0x31];

const BOM = [0xef, 0xbb, 0xbf];
const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/**
 * How many leading bytes of a JSON text come before its first value (a byte order mark, then
 * whitespace), and that value's first byte; `first` is undefined while only those have been seen.
 * The one first-byte rule of the project.
 */
export function jsonStart(chunk: Uint8Array, seenBefore: number): { skipped: number; first?: number } {
  let i = 0;
  for (; i < chunk.length; i++) {
    const at = seenBefore + i;
    const b = chunk[i]!;
    if (at < 3 && b === BOM[at]) continue;
    if (isSpace(b)) continue;
    return { skipped: i, first: b };
  }
  return { skipped: i };
}

export interface BodyChecks {
  url: string;
  /** Bytes the body must have (Content-Length of an uncompressed answer), or null. */
  expectedBytes: number | null;
  /** The longest silence between two chunks. */
  idleMs: number;
  /**
   * What the body must be: JSON (first byte `{` or `[`, after a byte order mark and whitespace),
   * Parquet (first bytes `PAR1`), or anything.
   */
  kind: ArtifactKind;
}

/**
 * The body, checked as it passes: fails the stream when it ends short of (or goes past) its length,
 * when no byte arrives for `idleMs`, and, for JSON, when it does not open a JSON value or is empty.
 * The source's own errors (reset, premature close) fail it too.
 */
export function checkedBody(source: Readable, checks: BodyChecks): Readable {
  const { url, expectedBytes, idleMs } = checks;
  let received = 0;
  let decided = checks.kind === 'any';
  let magic = 0;
  let idle: NodeJS.Timeout | undefined;
  const guard = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const before = received;
      received += chunk.length;
      arm();
      if (expectedBytes !== null && received > expectedBytes) {
        done(new ArtifactIncompleteError(url, received, expectedBytes, 'more bytes than Content-Length'));
        return;
      }
      if (!decided && checks.kind === 'json') {
        const start = jsonStart(chunk, before);
        if (start.first !== undefined) {
          decided = true;
          if (start.first !== 0x7b && start.first !== 0x5b) {
            const text = JSON.stringify(chunk.subarray(start.skipped, start.skipped + 16).toString('utf8'));
            done(new ArtifactNotJsonError(url, `it starts with ${text}`));
            return;
          }
        }
      } else if (!decided) {
        for (let i = 0; i < chunk.length && magic < 4; i++, magic++) {
          if (chunk[i] !== PAR1[magic]) {
            const text = JSON.stringify(chunk.subarray(0, 16).toString('latin1'));
            done(new ArtifactNotParquetError(url, `it starts with ${text}, not the magic "PAR1"`));
            return;
          }
        }
        decided = magic === 4;
      }
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      clearTimeout(idle);
      if (expectedBytes !== null && received !== expectedBytes) {
        done(new ArtifactIncompleteError(url, received, expectedBytes, 'the body ended before its Content-Length'));
        return;
      }
      done(decided ? null : notItsKind(checks.kind, url, received === 0 ? 'it is empty' : 'it ends before it starts'));
    },
    destroy(err, done) {
      clearTimeout(idle);
      source.destroy();
      done(err);
    },
  });
  const arm = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      guard.destroy(new ArtifactIncompleteError(url, received, expectedBytes, `no data for ${idleMs} ms`));
    }, idleMs);
  };
  arm();
  // The caller may attach its consumer a few awaits later (a store checks and creates folders
  // first): an error in between must not be an uncaught exception. The stream keeps it as
  // `errored`, and pipeline() or for-await report it when they attach.
  guard.on('error', () => {});
  source.on('error', (err: Error) => {
    guard.destroy(
      err instanceof ArtifactIncompleteError
        ? err
        : new ArtifactIncompleteError(url, received, expectedBytes, errorMessage(err), err),
    );
  });
  source.pipe(guard);
  return guard;
}
