import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEASE_MS, SentLedger } from '../../../lib/alerts/ledger.ts';
import { LocalFolder } from '../../../lib/storage/local.ts';

/** The sent records: of two senders one wins; a dead sender's claim lapses; a sent message stays sent. */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledger-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SentLedger', () => {
  it('lets one of two concurrent senders claim a message, and none once it is sent', async () => {
    const store = new LocalFolder(dir);
    const [a, b] = [new SentLedger(store), new SentLedger(store)];
    const claims = await Promise.all([a.claim('slack', 'run_id=1'), b.claim('slack', 'run_id=1')]);
    expect(claims.map((c) => c.status).sort()).toEqual(['busy', 'claimed']);
    await a.markSent('slack', 'run_id=1', { alerts: 1 });
    expect(await b.claim('slack', 'run_id=1')).toEqual({ status: 'sent' });
    expect(await b.sentKeys('slack')).toEqual(new Set(['run_id=1']));
    // Another sink's record is its own.
    expect((await b.claim('webhook', 'run_id=1')).status).toBe('claimed');
  });

  it('gives a released claim, or one whose lease ran out, to the next sender', async () => {
    const store = new LocalFolder(dir);
    let now = Date.parse('2026-10-01T00:00:00Z');
    const ledger = new SentLedger(store, () => now);
    const first = await ledger.claim('slack', 'run_id=2');
    expect(first).toEqual({ status: 'claimed', attempt: 1 });
    await ledger.release('slack', 'run_id=2', 1, 'slack answered 400');
    expect(await ledger.claim('slack', 'run_id=2')).toEqual({ status: 'claimed', attempt: 2 });
    expect((await ledger.claim('slack', 'run_id=2')).status).toBe('busy');
    now += LEASE_MS + 1;
    expect(await ledger.claim('slack', 'run_id=2')).toEqual({ status: 'claimed', attempt: 3 });
  });
});
