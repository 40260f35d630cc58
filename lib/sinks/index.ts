/**
 * The sink of a parsed destination. The Cloud Storage client is loaded only for a bucket, so that a
 * process writing to a folder never pays for it.
 * @module
 */
import type { Destination } from '../core/destination.ts';
import { LocalFolderSink } from './local.ts';
import type { ArtifactSink } from './sink.ts';

export type { ArtifactSink, WriteResult } from './sink.ts';

export async function openSink(
  destination: Destination,
  options: { storageApiEndpoint?: string } = {},
): Promise<ArtifactSink> {
  if (destination.kind === 'local') return new LocalFolderSink(destination.path);
  const { createGcsSink } = await import('./gcs.ts');
  return createGcsSink(destination.bucket, destination.prefix, options.storageApiEndpoint);
}
