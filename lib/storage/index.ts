/**
 * The store of a parsed destination: a local folder, or a bucket. The Cloud Storage client is loaded
 * only for a bucket, so that a process writing to a folder never pays for it.
 * @module
 */
import type { Destination } from '../core/destination.ts';
import { LocalFolder } from './local.ts';
import type { Store } from './store.ts';

export type { ArtifactSink, ObjectReader, Store, StoredEntry, WriteOptions, WriteResult } from './store.ts';
export { ObjectNotFoundError, readSmall, readSmallBytes } from './store.ts';

export async function openStore(
  destination: Destination,
  options: { storageApiEndpoint?: string } = {},
): Promise<Store> {
  if (destination.kind === 'local') return new LocalFolder(destination.path);
  const { openBucket } = await import('./gcs.ts');
  return openBucket(destination.bucket, destination.prefix, options.storageApiEndpoint);
}
