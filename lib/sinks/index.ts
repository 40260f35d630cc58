import { ConfigError } from '../errors.ts';
import { createGcsSink, isValidBucketName, parseGcsUrl } from './gcs.ts';
import { LocalFolderSink } from './local.ts';
import type { ArtifactSink } from './sink.ts';

export type { ArtifactSink, WriteResult } from './sink.ts';

/** The sink of a destination: `gs://bucket[/prefix]` or a local folder path. */
export function sinkFor(destination: string, options: { storageApiEndpoint?: string } = {}): ArtifactSink {
  if (destination.startsWith('gs://')) {
    const parsed = parseGcsUrl(destination);
    if (!parsed || !isValidBucketName(parsed.bucket)) {
      throw new ConfigError([`ARTIFACTS_DESTINATION "${destination}" is not gs://BUCKET[/PREFIX] with a valid bucket name`]);
    }
    const prefix = parsed.prefix.split('/').filter(Boolean);
    if (prefix.some((s) => s === '.' || s === '..')) throw new ConfigError([`ARTIFACTS_DESTINATION "${destination}" has . or .. in its prefix`]);
    return createGcsSink(parsed.bucket, prefix.join('/'), options.storageApiEndpoint);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(destination)) {
    throw new ConfigError([`ARTIFACTS_DESTINATION "${destination}" must be gs://BUCKET[/PREFIX] or a local folder`]);
  }
  return new LocalFolderSink(destination);
}
