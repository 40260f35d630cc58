/**
 * An artifact must be JSON to be stored as one: a proxy's 200 HTML page stored as manifest.json
 * would mark the run complete, for good. Checked while the body streams, from its content type and
 * its first byte, without holding it.
 * @module
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { DbtCloudError } from '../dbt-cloud/errors.ts';

export class ArtifactNotJsonError extends DbtCloudError {
  constructor(url: string, reason: string) {
    super('ARTIFACT_NOT_JSON', `Artifact ${url} is not JSON (${reason}); nothing of it is stored`);
  }
}

/** Content types a JSON file may come with: JSON itself, none, or a generic one. */
const ACCEPTED = /^(application\/(.+\+)?json|text\/plain|application\/octet-stream|binary\/octet-stream)$/;

/** The reason a content type rules out JSON, or undefined. */
export function contentTypeProblem(contentType: string | null): string | undefined {
  if (!contentType) return undefined;
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  return ACCEPTED.test(media) ? undefined : `answered with Content-Type ${media}`;
}

/** Passes the body through, failing it if its first significant byte does not open a JSON value. */
export function jsonGuard(body: Readable, url: string): Readable {
  let decided = false;
  let seen = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (!decided) {
        for (let i = 0; i < chunk.length; i++, seen++) {
          const byte = chunk[i]!;
          // A UTF-8 byte order mark (EF BB BF) and whitespace may come first.
          if (
            (seen < 3 && (byte === 0xef || byte === 0xbb || byte === 0xbf)) ||
            byte === 0x20 ||
            byte === 0x0a ||
            byte === 0x0d ||
            byte === 0x09
          )
            continue;
          if (byte !== 0x7b && byte !== 0x5b) {
            done(
              new ArtifactNotJsonError(
                url,
                `it starts with ${JSON.stringify(chunk.subarray(i, i + 16).toString('utf8'))}`,
              ),
            );
            return;
          }
          decided = true;
          break;
        }
      }
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      done(decided ? null : new ArtifactNotJsonError(url, 'it is empty'));
    },
  });
  body.on('error', (err) => guard.destroy(err));
  guard.on('error', () => body.destroy());
  return body.pipe(guard);
}
