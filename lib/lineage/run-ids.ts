/**
 * Run ids that are the same every time the same runs are exported: UUIDs of version 5 (RFC 9562
 * section 5.5: the SHA-1 of a namespace and a name), named after what they stand for, so that a
 * consumer that receives an event twice (a re-export, a retried request) sees the same run.
 * @module
 */
import { createHash } from 'node:crypto';

/** RFC 9562's namespace for URLs, in which this product's own namespace is named. */
const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/** A version 5 UUID of `name` in `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** This product's namespace for its lineage ids. */
const LINEAGE_NAMESPACE = uuidV5(URL_NAMESPACE, 'https://www.npmjs.com/package/dbt-cloud-harvester#lineage');

/** The dbt Cloud job run: the parent of every event of its nodes. */
export function jobRunId(accountId: number, runId: number): string {
  return uuidV5(LINEAGE_NAMESPACE, `dbt-cloud/account/${accountId}/run/${runId}`);
}

/** A node's run in one step of a dbt Cloud run (a model, seed or snapshot; `test:<dataset>` for its tests). */
export function nodeRunId(accountId: number, runId: number, step: number, node: string): string {
  return uuidV5(LINEAGE_NAMESPACE, `dbt-cloud/account/${accountId}/run/${runId}/step/${step}/node/${node}`);
}

/** An idempotency key of one event (36 characters, as Dataplex's requestId allows). */
export function eventKey(runId: string, eventType: string, part: number): string {
  return uuidV5(LINEAGE_NAMESPACE, `event/${runId}/${eventType}/${part}`);
}
