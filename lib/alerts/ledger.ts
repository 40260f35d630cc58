/**
 * The sent records: each message a sink was sent, recorded in the destination, write-once like the
 * runs, so that a Pub/Sub redelivery, a rerun or a second process never sends it twice.
 *
 *   _alerts/sent/<sink>/<key>.json                       written once the sink answered 2xx
 *   _alerts/claims/<sink>/<key>/attempt=<n>.json          written (once) before sending: the sender's lease
 *   _alerts/claims/<sink>/<key>/attempt=<n>.released.json the sender gave up (the sink refused or kept failing)
 *
 * A sender claims attempt n+1 after the last attempt was released or its lease ran out (a sender
 * that died); two senders claiming the same attempt both write the same object, and only one write
 * stores it. What no record can cover: a sender that dies after the sink took the message and
 * before its record is written; after the lease, the message is sent again (generic webhooks get
 * `X-Harvester-Delivery: <key>` to drop such a repeat; PagerDuty deduplicates by its key).
 * @module
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import { parseJsonBounded } from '../json/json-scan.ts';
import { readSmall, type Store } from '../storage/index.ts';
import type { SinkName } from './sinks.ts';

export const ALERTS_ROOT = '_alerts';
/** How long a claim keeps others from sending: longer than every retry of a send (sink-http.ts). */
export const LEASE_MS = 10 * 60_000;

const ClaimSchema = z.object({ claimedAt: z.iso.datetime(), leaseUntil: z.iso.datetime() });

export const sentPath = (sink: SinkName, key: string): string => `${ALERTS_ROOT}/sent/${sink}/${key}.json`;
const claimFolder = (sink: SinkName, key: string): string => `${ALERTS_ROOT}/claims/${sink}/${key}/`;

export type Claim = { status: 'claimed'; attempt: number } | { status: 'sent' } | { status: 'busy'; until: string };

export class SentLedger {
  private readonly store: Store;
  private readonly now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.store = store;
    this.now = now;
  }

  private async put(path: string, value: unknown): Promise<boolean> {
    const body = Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
    const result = await this.store.write(path, Readable.from([body]), {
      contentType: 'application/json',
      size: body.length,
    });
    return result.status === 'stored';
  }

  /** The keys a sink was sent, listed once (a delivery over many runs asks this, not each record). */
  async sentKeys(sink: SinkName): Promise<Set<string>> {
    const prefix = `${ALERTS_ROOT}/sent/${sink}/`;
    const keys = new Set<string>();
    for await (const entry of this.store.list(prefix, { sizes: false }))
      if (entry.path.endsWith('.json')) keys.add(entry.path.slice(prefix.length, -'.json'.length));
    return keys;
  }

  isSent(sink: SinkName, key: string): Promise<boolean> {
    return this.store.exists(sentPath(sink, key));
  }

  /** Claims the message for this sender, or says it was sent or another sender holds it. */
  async claim(sink: SinkName, key: string): Promise<Claim> {
    if (await this.isSent(sink, key)) return { status: 'sent' };
    let last = 0;
    const released = new Set<number>();
    for await (const entry of this.store.list(claimFolder(sink, key), { sizes: false })) {
      const m = /attempt=(\d+)(\.released)?\.json$/.exec(entry.path);
      if (!m) continue;
      last = Math.max(last, Number(m[1]));
      if (m[2]) released.add(Number(m[1]));
    }
    if (last > 0 && !released.has(last)) {
      const text = await readSmall(this.store, `${claimFolder(sink, key)}attempt=${last}.json`, 4096);
      const held = ClaimSchema.safeParse(parseJsonBounded(text));
      if (held.success && Date.parse(held.data.leaseUntil) > this.now())
        return { status: 'busy', until: held.data.leaseUntil };
    }
    const attempt = last + 1;
    const at = this.now();
    const claimed = await this.put(`${claimFolder(sink, key)}attempt=${attempt}.json`, {
      claimedAt: new Date(at).toISOString(),
      leaseUntil: new Date(at + LEASE_MS).toISOString(),
    });
    if (!claimed) return { status: 'busy', until: new Date(at + LEASE_MS).toISOString() };
    return { status: 'claimed', attempt };
  }

  /** Records the message sent (and, for a folded digest, each run it spoke for). */
  async markSent(
    sink: SinkName,
    key: string,
    record: Record<string, unknown>,
    alsoKeys: readonly string[] = [],
  ): Promise<void> {
    const sentAt = new Date(this.now()).toISOString();
    await this.put(sentPath(sink, key), { ...record, sentAt });
    for (const other of alsoKeys) await this.put(sentPath(sink, other), { via: key, sentAt });
  }

  /** Gives the claim up, so that the next sender may try at once. */
  async release(sink: SinkName, key: string, attempt: number, reason: string): Promise<void> {
    await this.put(`${claimFolder(sink, key)}attempt=${attempt}.released.json`, {
      releasedAt: new Date(this.now()).toISOString(),
      reason,
    });
  }
}
