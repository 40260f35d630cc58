/**
 * A Cloud Storage bucket (and prefix), written and read through `@google-cloud/storage`. Every write
 * has `ifGenerationMatch: 0`, so an existing object is never overwritten and the harvester needs no
 * delete permission; a 412 means it is already stored. A source that fails destroys the upload, and
 * an unfinished upload leaves no object. Listed a page at a time.
 * @module
 */
import { Storage, type Bucket } from '@google-cloud/storage';
import { PassThrough, pipeline as pipeStreams, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bucketPlace, type BucketPlace } from '../core/destination.ts';
import { checkRelativePath } from '../core/paths.ts';
import {
  ObjectNotFoundError,
  byteCounter,
  type Store,
  type StoredEntry,
  type WriteOptions,
  type WriteResult,
} from './store.ts';

/** Objects up to this size go in one multipart request; larger ones stream through a resumable upload. */
const SIMPLE_UPLOAD_MAX = 4 * 1024 * 1024;

export class GcsBucket implements Store {
  readonly description: string;
  private readonly bucket: Bucket;
  private readonly place: BucketPlace;

  constructor(bucket: Bucket, prefix: string) {
    this.bucket = bucket;
    this.place = bucketPlace(bucket.name, prefix);
    this.description = this.place.description;
  }

  private name(path: string): string {
    checkRelativePath(path);
    return this.place.objectName(path);
  }

  /** One listing of at most one object (storage.objects.list, which the harvest account has), bounded in time. */
  async problem(timeoutMs = 30_000): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    try {
      const listed = await Promise.race([
        this.bucket
          .getFiles({ prefix: this.place.objectName(''), autoPaginate: false, maxResults: 1 })
          .then(() => null),
        late,
      ]);
      if (listed === 'late') return `${this.description} did not answer within ${Math.round(timeoutMs / 1000)} s`;
      return null;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404)
        return `the bucket ${this.bucket.name} does not exist (check --gcs-bucket-name, or ARTIFACTS_DESTINATION)`;
      if (status === 401 || status === 403)
        return `this account may not list objects in ${this.bucket.name} (it needs roles/storage.objectViewer and roles/storage.objectCreator on the bucket): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      return `${this.description} cannot be reached: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    } finally {
      clearTimeout(timer);
    }
  }

  async exists(path: string): Promise<boolean> {
    const [exists] = await this.bucket.file(this.name(path)).exists();
    return exists;
  }

  async write(path: string, body: Readable, options: WriteOptions): Promise<WriteResult> {
    const file = this.bucket.file(this.name(path));
    const count = byteCounter();
    const small = options.size !== undefined && options.size !== null && options.size <= SIMPLE_UPLOAD_MAX;
    const upload = file.createWriteStream({
      resumable: !small,
      contentType: options.contentType,
      validation: 'crc32c',
      preconditionOpts: { ifGenerationMatch: 0 },
      metadata: { cacheControl: 'private, max-age=0' },
    });
    try {
      await pipeline(body, count.stream, upload);
      return { status: 'stored', bytes: count.bytes() };
    } catch (err) {
      const status = statusOf(err);
      if (status === 412) return { status: 'exists', bytes: 0 };
      // Writing over an existing object needs storage.objects.delete as well as create, which the
      // harvester does not have: Cloud Storage may answer such a write 403 rather than 412
      // (https://cloud.google.com/storage/docs/access-control/iam-permissions#object_permissions).
      // Where the object exists, it is stored already; any other 403 is a real refusal.
      if (
        status === 403 &&
        (await file
          .exists()
          .then(([e]) => e)
          .catch(() => false))
      )
        return { status: 'exists', bytes: 0 };
      throw err;
    }
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

  /**
   * One request: the body once its answer is a success, ObjectNotFoundError for 404. (The client's
   * stream starts its request when read, so it is piped into the stream handed out.)
   */
  async read(path: string): Promise<Readable> {
    const source = this.bucket.file(this.name(path)).createReadStream({ validation: 'crc32c' });
    const out = new PassThrough();
    return new Promise<Readable>((resolve, reject) => {
      let settled = false;
      source.once('response', (res: { statusCode?: number }) => {
        if (settled || (res.statusCode !== undefined && res.statusCode >= 300)) return; // the error follows
        settled = true;
        resolve(out);
      });
      pipeStreams(source, out, (err) => {
        if (!err || settled) return;
        settled = true;
        reject(statusOf(err) === 404 ? new ObjectNotFoundError(`${this.description}/${path}`) : err);
      });
    });
  }
}

function statusOf(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : undefined;
}

/** The one Cloud Storage client factory: application default credentials, or a test endpoint. */
export function openBucket(bucket: string, prefix: string, apiEndpoint?: string): GcsBucket {
  const storage = new Storage(apiEndpoint ? { apiEndpoint, projectId: 'local' } : {});
  return new GcsBucket(storage.bucket(bucket), prefix);
}
