/**
 * The reader of a parsed destination; the Cloud Storage client is loaded only for a bucket.
 * @module
 */
import type { Destination } from '../core/destination.ts';
import { LocalFolderReader } from './local.ts';
import type { ObjectReader } from './reader.ts';

export { ObjectNotFoundError, type ObjectReader, type StoredEntry } from './reader.ts';

export async function openReader(
  destination: Destination,
  options: { storageApiEndpoint?: string } = {},
): Promise<ObjectReader> {
  if (destination.kind === 'local') return new LocalFolderReader(destination.path);
  const { createGcsReader } = await import('./gcs.ts');
  return createGcsReader(destination.bucket, destination.prefix, options.storageApiEndpoint);
}
