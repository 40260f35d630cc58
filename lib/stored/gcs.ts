/**
 * A Cloud Storage bucket (and prefix) through `@google-cloud/storage`: listed a page at a time.
 * @module
 */
import { Storage, type Bucket } from '@google-cloud/storage';
import type { Readable } from 'node:stream';
import { bucketPlace, type BucketPlace } from '../core/destination.ts';
import { ObjectNotFoundError, checkReadPath, type ObjectReader, type StoredEntry } from './reader.ts';

export class GcsReader implements ObjectReader {
  readonly description: string;
  private readonly bucket: Bucket;
  private readonly place: BucketPlace;

  constructor(bucket: Bucket, prefix: string) {
    this.bucket = bucket;
    this.place = bucketPlace(bucket.name, prefix);
    this.description = this.place.description;
  }

  async *list(prefix = ''): AsyncIterable<StoredEntry> {
    const root = this.place.objectName('');
    let pageToken: string | undefined;
    do {
      const [files, next] = await this.bucket.getFiles({
        prefix: `${root}${prefix}`,
        autoPaginate: false,
        maxResults: 1000,
        pageToken,
      });
      for (const file of files) {
        if (file.name.endsWith('/')) continue;
        yield { path: file.name.slice(root.length), size: Number(file.metadata.size ?? 0) };
      }
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
    } while (pageToken);
  }

  async read(path: string): Promise<Readable> {
    checkReadPath(path);
    const file = this.bucket.file(this.place.objectName(path));
    const [exists] = await file.exists();
    if (!exists) throw new ObjectNotFoundError(`${this.description}/${path}`);
    return file.createReadStream({ validation: 'crc32c' });
  }
}

export function createGcsReader(bucket: string, prefix: string, apiEndpoint?: string): GcsReader {
  const storage = new Storage(apiEndpoint ? { apiEndpoint, projectId: 'local' } : {});
  return new GcsReader(storage.bucket(bucket), prefix);
}
