import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../lib/cloud/functions.ts';
import { MAX_REQUEST_BYTES, setBodyPolicy } from '../../lib/cloud/raw-body.ts';
import { serve, servedTarget } from '../../lib/cloud/serve.ts';
import { ConfigError } from '../../lib/core/errors.ts';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';
import { startFakeSecretManager } from '../../harness/fake-secret-manager.ts';
import { startFakeGcs } from '../../harness/fake-gcs/server.ts';

/** The functions as the framework serves them, in this process (its testing server, no child process). */
const backfill = FUNCTIONS.find((f) => f.name === 'backfill')!;
let fake: FakeDbtCloud;

beforeAll(async () => {
  fake = await fakeCloud();
});
afterAll(() => fake.stop());

async function call(
  name: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; json: Record<string, unknown> }> {
  const server = getTestServer(name);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body,
    });
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      json: (await res.json()) as Record<string, unknown>,
    };
  } finally {
    server.close();
  }
}

describe('serving a function of the table', () => {
  it('answers a request end to end in JSON', async () => {
    const env = {
      DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
      DBT_CLOUD_TOKEN: TOKEN,
      DBT_CLOUD_HOST: fake.url,
      RUNS_TOPIC: 'projects/p/topics/t',
    };
    ff.http('backfillServed', serve(backfill, env, []));
    // A window older than dbt Cloud's retention (the fake's day is in 2022) is refused, in JSON.
    const res = await call(
      'backfillServed',
      JSON.stringify({ start: '2022-06-01T09:00:00Z', end: '2022-06-01T10:00:00Z', dryRun: true }),
    );
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/application\/json/);
    expect(JSON.stringify(res.json['details'])).toMatch(/older than dbt Cloud's run retention of 365 days/);
    const hourly = FUNCTIONS.find((f) => f.name === 'dispatchHourly')!;
    ff.http('hourlyServed', serve(hourly, env, []));
    // An hour before the fake's day: listed, with nothing to publish (this test talks to no Pub/Sub).
    const listed = await call('hourlyServed', '', { 'X-CloudScheduler-ScheduleTime': '2022-05-01T10:10:00Z' });
    expect(listed.status, JSON.stringify(listed.json)).toBe(200);
    expect(listed.json).toEqual({
      window: { start: '2022-05-01T09:00:00.000Z', end: '2022-05-01T10:00:00.000Z' },
      runs: 0,
      published: 0,
    });
  });

  it('refuses to start a function that would store in a folder of its instance', () => {
    const harvestRun = FUNCTIONS.find((f) => f.name === 'harvestRun')!;
    for (const destination of ['./out', 'my-bucket', 'gs:/my-bucket']) {
      expect(() =>
        serve(
          harvestRun,
          {
            DBT_CLOUD_ACCOUNT_ID: '1',
            DBT_CLOUD_TOKEN: 'tok-1234',
            ARTIFACTS_DESTINATION: destination,
            FUNCTION_TARGET: 'harvestRun',
          },
          [],
        ),
      ).toThrow(/ARTIFACTS_DESTINATION/);
    }
  });

  it('stops an instance at start-up when its configuration cannot serve it, naming every problem', () => {
    const start = () => serve(backfill, { DBT_CLOUD_ACCOUNT_ID: 'x', FUNCTION_TARGET: 'backfill' }, []);
    expect(start).toThrow(ConfigError);
    expect(start).toThrow(
      /DBT_CLOUD_ACCOUNT_ID must be a positive whole number[\s\S]*DBT_CLOUD_TOKEN is required[\s\S]*RUNS_TOPIC is required/,
    );
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
    const gcs = await startFakeGcs();
    try {
      const harvestRun = FUNCTIONS.find((f) => f.name === 'harvestRun')!;
      const env = {
        DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
        DBT_CLOUD_TOKEN_SECRET: 'projects/my-project/secrets/token',
        SECRET_MANAGER_API_ENDPOINT: sm.url,
        DBT_CLOUD_HOST: fake.url,
        ARTIFACTS_DESTINATION: 'gs://serve-bucket',
        STORAGE_API_ENDPOINT: gcs.url,
      };
      ff.http('harvestRunWithSecret', serve(harvestRun, env, []));
      const run = fake.account.runs.find((r) => r.outcome === 'success')!;
      const push = JSON.stringify({
        message: { data: Buffer.from(JSON.stringify({ runId: run.id })).toString('base64'), messageId: '1' },
      });
      const before = await call('harvestRunWithSecret', push);
      expect(before.status).toBe(502);
      expect(String(before.json['error'])).toMatch(/dbt Cloud token is not set.*gcloud secrets versions add token/);
      sm.addVersion('projects/my-project/secrets/token', TOKEN);
      const after = await call('harvestRunWithSecret', push);
      expect(after).toMatchObject({ status: 200, json: { status: 'stored', runId: run.id } });
    } finally {
      await sm.stop();
      await gcs.stop();
    }
  });

  it('receiveWebhook: refuses an unsigned caller before reading its body, caps bodies at 64 KiB, and names nothing internal', async () => {
    const sm = await startFakeSecretManager();
    const webhook = FUNCTIONS.find((f) => f.name === 'receiveWebhook')!;
    try {
      const env = {
        DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
        DBT_CLOUD_WEBHOOK_SECRET_NAME: 'projects/my-project/secrets/webhook',
        SECRET_MANAGER_API_ENDPOINT: sm.url,
        RUNS_TOPIC: 'projects/p/topics/t',
      };
      // As the instance that serves receiveWebhook: its own body policy.
      ff.http('receiveWebhook', serve(webhook, env, ['--target', 'receiveWebhook']));
      const reads = () => sm.requests.length;
      const before = reads();
      const big = 'x'.repeat(1024 * 1024);
      for (const authorization of [undefined, 'junk', 'Bearer abc']) {
        const res = await call('receiveWebhook', big, authorization ? { Authorization: authorization } : {});
        expect(res.status).toBe(401);
        expect(JSON.stringify(res.json)).toMatch(/64 hex digits/);
      }
      // A signature-shaped header over a body past 64 KiB: refused by its size, unread.
      const over = await call('receiveWebhook', 'x'.repeat(64 * 1024 + 1), { Authorization: 'a'.repeat(64) });
      expect(over.status).toBe(413);
      expect(reads() - before).toBe(0);
      // A delivery that cannot be checked now (the secret has no version): 503, and nothing internal said.
      const unreadable = await call('receiveWebhook', '{}', { Authorization: 'a'.repeat(64) });
      expect(unreadable.status).toBe(503);
      expect(JSON.stringify(unreadable.json)).not.toMatch(/my-project|webhook|gcloud|secrets|topics/);
    } finally {
      setBodyPolicy({ maxBytes: MAX_REQUEST_BYTES });
      await sm.stop();
    }
  });

  it('keeps the token out of its answers when dbt Cloud (or a proxy) echoes it in an error', async () => {
    const gcs = await startFakeGcs();
    const token = 'dbtc_"quoted\\token';
    fake.tokens.add(token);
    try {
      const harvestRun = FUNCTIONS.find((f) => f.name === 'harvestRun')!;
      const env = {
        DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
        DBT_CLOUD_TOKEN: token,
        DBT_CLOUD_HOST: fake.url,
        ARTIFACTS_DESTINATION: 'gs://echo-bucket',
        STORAGE_API_ENDPOINT: gcs.url,
      };
      ff.http('harvestRunEcho', serve(harvestRun, env, []));
      const run = fake.account.runs.find((r) => r.outcome === 'success')!;
      const echo = fake.inject({ kind: 'run', times: 1, fault: { type: 'status', status: 400, body: 'echo' } });
      const push = JSON.stringify({
        message: { data: Buffer.from(JSON.stringify({ runId: run.id })).toString('base64'), messageId: 'echo-1' },
      });
      const server = getTestServer('harvestRunEcho');
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: push,
      });
      const text = await res.text();
      server.close();
      expect(echo.hits).toBe(1);
      expect(res.status).toBe(502);
      expect(text).toContain('Rejected request with Authorization: Token [REDACTED]');
      for (const form of [token, JSON.stringify(token).slice(1, -1)]) expect(text).not.toContain(form);
    } finally {
      fake.clearFaults();
      await gcs.stop();
    }
  });

  it('knows the target from the environment or from --target', () => {
    expect(servedTarget({ FUNCTION_TARGET: 'harvestRun' }, [])).toBe('harvestRun');
    expect(servedTarget({}, ['node', 'main.js', '--target=backfill'])).toBe('backfill');
    expect(servedTarget({}, ['node', 'main.js', '--target', 'dispatchHourly'])).toBe('dispatchHourly');
    expect(servedTarget({}, ['node', 'main.js'])).toBeUndefined();
  });
});
