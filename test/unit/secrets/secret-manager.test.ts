import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TokenUnavailableError,
  WEBHOOK_SECRET,
  secretProvider,
  secretTokenProvider,
} from '../../../lib/secrets/secret-manager.ts';
import { startFakeSecretManager, type FakeSecretManager } from '../../../harness/fake-secret-manager.ts';

/** The token read at run time: clear errors before a version exists, cached, rotated without a redeploy. */
let sm: FakeSecretManager;
beforeAll(async () => {
  sm = await startFakeSecretManager();
});
afterAll(() => sm.stop());

const name = (secret: string) => ({ project: 'my-data-platform', secret, version: 'latest' });

describe('the dbt Cloud token from Secret Manager', () => {
  it('says how to add the token while the secret has no version, then reads it once it has', async () => {
    const read = secretTokenProvider(name('fresh'), { endpoint: sm.url });
    const err = await read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenUnavailableError);
    expect((err as Error).message).toMatch(
      /not set: secret fresh has no enabled version "latest" in project my-data-platform/,
    );
    expect((err as Error).message).toContain(
      'gcloud secrets versions add fresh --project=my-data-platform --data-file=-',
    );
    sm.addVersion('projects/my-data-platform/secrets/fresh', 'tok-1\n');
    expect(await read()).toBe('tok-1');
  });

  it('reads once per lifetime, however many ask at once, and picks up a rotated token after it', async () => {
    let clock = 0;
    sm.addVersion('projects/my-data-platform/secrets/rotating', 'old-token');
    const read = secretTokenProvider(name('rotating'), { endpoint: sm.url, ttlMs: 60_000, now: () => clock });
    const before = sm.requests.length;
    expect(await Promise.all([read(), read(), read()])).toEqual(['old-token', 'old-token', 'old-token']);
    sm.addVersion('projects/my-data-platform/secrets/rotating', 'new-token');
    clock = 59_000;
    expect(await read()).toBe('old-token');
    clock = 61_000;
    expect(await read()).toBe('new-token');
    expect(sm.requests.length - before).toBe(2);
  });

  it('reads through a connection reset once, and names Secret Manager when it stays unreachable', async () => {
    sm.addVersion('projects/my-data-platform/secrets/reset', 'tok-reset');
    sm.dropNext = 1;
    const before = sm.requests.length;
    expect(await secretTokenProvider(name('reset'), { endpoint: sm.url })()).toBe('tok-reset');
    expect(sm.requests.length - before).toBe(2);
    sm.dropNext = 2;
    const err = await secretTokenProvider(name('reset'), { endpoint: sm.url })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenUnavailableError);
    expect((err as Error).message).toMatch(
      /Cannot reach Secret Manager to read the dbt Cloud token \(projects\/my-data-platform\/secrets\/reset\/versions\/latest\)/,
    );
    expect(sm.dropNext).toBe(0);
  });

  it('names the missing role when the secret may not be read', async () => {
    sm.denied.add('projects/my-data-platform/secrets/locked');
    await expect(secretTokenProvider(name('locked'), { endpoint: sm.url })()).rejects.toThrow(
      /needs roles\/secretmanager\.secretAccessor/,
    );
  });

  it('keeps the last good value while a read fails, for an hour at most', async () => {
    let clock = 0;
    sm.addVersion('projects/my-data-platform/secrets/blip', 'tok-blip');
    const read = secretTokenProvider(name('blip'), { endpoint: sm.url, ttlMs: 300_000, now: () => clock });
    expect(await read()).toBe('tok-blip');
    sm.denied.add('projects/my-data-platform/secrets/blip');
    clock = 301_000;
    expect(await read()).toBe('tok-blip');
    clock = 3_599_000;
    expect(await read()).toBe('tok-blip');
    clock = 3_601_000;
    await expect(read()).rejects.toThrow(/needs roles\/secretmanager\.secretAccessor/);
    sm.denied.delete('projects/my-data-platform/secrets/blip');
  });

  it('holds a webhook secret from Secret Manager to the minimum the variable has', async () => {
    sm.addVersion('projects/my-data-platform/secrets/short', 'x');
    await expect(secretProvider(name('short'), WEBHOOK_SECRET, { endpoint: sm.url })()).rejects.toThrow(
      /is too short to be a webhook secret/,
    );
  });
});
