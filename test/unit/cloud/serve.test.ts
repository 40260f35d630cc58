import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../../lib/cloud/functions.ts';
import { serve, servedTarget } from '../../../lib/cloud/serve.ts';
import { ConfigError } from '../../../lib/core/errors.ts';
import type { FakeDbtCloud } from '../../../harness/fake-dbt-cloud/server.ts';
import { TOKEN, fakeCloud } from '../../helpers.ts';
import { startFakeSecretManager } from '../../../harness/fake-secret-manager.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The functions as the framework serves them, in this process (its testing server, no child process). */
const backfill = FUNCTIONS.find((f) => f.name === 'backfill')!;
let fake: FakeDbtCloud;

beforeAll(async () => {
  fake = await fakeCloud();
});
afterAll(() => fake.stop());

async function call(name: string, body: string, contentType = 'application/json'): Promise<{ status: number; type: string | null; json: Record<string, unknown> }> {
  const server = getTestServer(name);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'POST', headers: { 'Content-Type': contentType }, body });
    return { status: res.status, type: res.headers.get('content-type'), json: (await res.json()) as Record<string, unknown> };
  } finally {
    server.close();
  }
}

describe('serving a function of the table', () => {
  it('answers a request end to end in JSON', async () => {
    const env = { DBT_CLOUD_ACCOUNT_ID: String(fake.accountId), DBT_CLOUD_TOKEN: TOKEN, DBT_CLOUD_HOST: fake.url, RUNS_TOPIC: 'projects/p/topics/t' };
    ff.http('backfillServed', serve(backfill, env, []));
    const res = await call('backfillServed', JSON.stringify({ start: '2022-06-01T09:00:00Z', end: '2022-06-01T10:00:00Z', dryRun: true }));
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/application\/json/);
    expect(res.json).toMatchObject({ runs: fake.account.runsFinishedIn(new Date('2022-06-01T09:00:00Z'), new Date('2022-06-01T10:00:00Z')).length, published: 0, dryRun: true });
  });

  it('stops an instance at start-up when its configuration cannot serve it, naming every problem', () => {
    const start = () => serve(backfill, { DBT_CLOUD_ACCOUNT_ID: 'x', FUNCTION_TARGET: 'backfill' }, []);
    expect(start).toThrow(ConfigError);
    expect(start).toThrow(/DBT_CLOUD_ACCOUNT_ID must be a positive whole number[\s\S]*DBT_CLOUD_TOKEN is required[\s\S]*RUNS_TOPIC is required/);
  });

  it('answers 500 with the problems where the function is not the one served', async () => {
    ff.http('backfillUnconfigured', serve(backfill, {}, []));
    const res = await call('backfillUnconfigured', '{}');
    expect(res.status).toBe(500);
    expect(res.json['error']).toBe('configuration');
    expect(JSON.stringify(res.json['details'])).toMatch(/DBT_CLOUD_ACCOUNT_ID is required/);
  });

  it('answers "token not set" while the token secret has no version, and harvests once it has', async () => {
    const sm = await startFakeSecretManager();
    try {
      const harvestRun = FUNCTIONS.find((f) => f.name === 'harvestRun')!;
      const dir = await mkdtemp(join(tmpdir(), 'serve-'));
      const env = { DBT_CLOUD_ACCOUNT_ID: String(fake.accountId), DBT_CLOUD_TOKEN_SECRET: 'projects/my-project/secrets/token', SECRET_MANAGER_API_ENDPOINT: sm.url, DBT_CLOUD_HOST: fake.url, ARTIFACTS_DESTINATION: dir };
      ff.http('harvestRunWithSecret', serve(harvestRun, env, []));
      const run = fake.account.runs.find((r) => r.outcome === 'success')!;
      const push = JSON.stringify({ message: { data: Buffer.from(JSON.stringify({ runId: run.id })).toString('base64'), messageId: '1' } });
      const before = await call('harvestRunWithSecret', push);
      expect(before.status).toBe(502);
      expect(String(before.json['error'])).toMatch(/dbt Cloud token is not set.*gcloud secrets versions add token/);
      sm.addVersion('projects/my-project/secrets/token', TOKEN);
      const after = await call('harvestRunWithSecret', push);
      expect(after).toMatchObject({ status: 200, json: { status: 'stored', runId: run.id } });
      await rm(dir, { recursive: true, force: true });
    } finally {
      await sm.stop();
    }
  });

  it('knows the target from the environment or from --target', () => {
    expect(servedTarget({ FUNCTION_TARGET: 'harvestRun' }, [])).toBe('harvestRun');
    expect(servedTarget({}, ['node', 'main.js', '--target=backfill'])).toBe('backfill');
    expect(servedTarget({}, ['node', 'main.js', '--target', 'dispatchHourly'])).toBe('dispatchHourly');
    expect(servedTarget({}, ['node', 'main.js'])).toBeUndefined();
  });
});
