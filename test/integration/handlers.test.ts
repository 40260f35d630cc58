import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleBackfill, type BackfillDeps } from '../../lib/cloud/backfill.ts';
import { handleDispatchHourly } from '../../lib/cloud/dispatch-hourly.ts';
import { handleHarvestRun } from '../../lib/cloud/harvest-run.ts';
import type { CloudRequest } from '../../lib/cloud/http.ts';
import type { RunPublisher } from '../../lib/cloud/publisher.ts';
import type { RunMessage } from '../../lib/core/messages.ts';
import { WHOLE_ACCOUNT } from '../../lib/core/scope.ts';
import type { DbtCloudClient } from '../../lib/dbt-cloud/client.ts';
import { silentLogger } from '../../lib/log.ts';
import { LocalFolder } from '../../lib/storage/local.ts';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { expectedTree, listFiles, runFolder } from '../expected.ts';
import { clientFor, fakeCloud } from '../helpers.ts';

/** The three handlers in this process: a request in, a reply out, the fake dbt Cloud behind them. */
let fake: FakeDbtCloud;
let client: DbtCloudClient;
let dir: string;

beforeAll(async () => {
  fake = await fakeCloud();
  client = clientFor(fake);
  dir = await mkdtemp(join(tmpdir(), 'handlers-'));
});
afterAll(async () => {
  client.close();
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

function request(method: string, body: unknown = '', headers: Record<string, string> = {}): CloudRequest {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const lower = Object.fromEntries(
    Object.entries({ 'Content-Type': 'application/json', ...headers }).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return { method, header: (name) => lower[name.toLowerCase()], rawBody: Buffer.from(raw) };
}

function recorder(): RunPublisher & { messages: RunMessage[] } {
  const messages: RunMessage[] = [];
  return {
    messages,
    publish: async (m) => {
      messages.push(...m);
      return m.length;
    },
  };
}

const deps = (publisher = recorder()): BackfillDeps & { publisher: ReturnType<typeof recorder> } => ({
  client,
  publisher,
  scope: WHOLE_ACCOUNT,
  logger: silentLogger,
  now: () => Date.parse('2022-06-01T12:34:00Z'),
  maxDays: 31,
});

describe('dispatchHourly', () => {
  it('publishes the runs of the hour before the scheduled time, whatever the clock says', async () => {
    const d = deps();
    const reply = await handleDispatchHourly(
      d,
      request('POST', '', { 'X-CloudScheduler-ScheduleTime': '2022-06-01T10:10:00Z' }),
    );
    const truth = fake.account.runsFinishedIn(new Date('2022-06-01T09:00:00Z'), new Date('2022-06-01T10:00:00Z'));
    expect(reply).toEqual({
      status: 200,
      body: {
        window: { start: '2022-06-01T09:00:00.000Z', end: '2022-06-01T10:00:00.000Z' },
        runs: truth.length,
        published: truth.length,
      },
    });
    expect(d.publisher.messages.map((m) => m.runId).sort()).toEqual(truth.map((r) => r.id).sort());
    expect(d.publisher.messages.every((m) => m.source === 'hourly')).toBe(true);
  });

  it.each(['GET', 'PUT', 'DELETE'])('answers %s 405 and publishes nothing', async (method) => {
    const d = deps();
    expect(
      (await handleDispatchHourly(d, request(method, '', { 'X-CloudScheduler-ScheduleTime': '2022-06-01T10:10:00Z' })))
        .status,
    ).toBe(405);
    expect(d.publisher.messages).toEqual([]);
  });

  it('takes the clock without the header, and refuses a header that is not a time', async () => {
    const d = deps();
    expect((await handleDispatchHourly(d, request('POST'))).body['window']).toEqual({
      start: '2022-06-01T11:00:00.000Z',
      end: '2022-06-01T12:00:00.000Z',
    });
    const bad = await handleDispatchHourly(d, request('POST', '', { 'X-CloudScheduler-ScheduleTime': 'tomorrow' }));
    expect(bad.status).toBe(400);
  });

  it('with {"dryRun": true} lists the hour and publishes nothing; refuses any other body', async () => {
    const d = deps();
    const at = { 'X-CloudScheduler-ScheduleTime': '2022-06-01T10:10:00Z' };
    const reply = await handleDispatchHourly(d, request('POST', { dryRun: true }, at));
    const truth = fake.account.runsFinishedIn(new Date('2022-06-01T09:00:00Z'), new Date('2022-06-01T10:00:00Z'));
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ runs: truth.length, published: 0, dryRun: true });
    expect((reply.body['runIds'] as number[]).sort()).toEqual(truth.map((r) => r.id).sort());
    expect(d.publisher.messages).toEqual([]);
    // A body sent without a content type is read as JSON too (curl -d sends a form type; that is refused).
    expect(
      (await handleDispatchHourly(d, { ...request('POST', { dryRun: true }, at), header: () => undefined })).status,
    ).toBe(200);
    for (const body of [{ dryRun: 'yes' }, { start: '2022-06-01T00:00:00Z' }, 'not json'])
      expect((await handleDispatchHourly(d, request('POST', body, at))).status, JSON.stringify(body)).toBe(400);
    expect(d.publisher.messages).toEqual([]);
  });
});

describe('backfill', () => {
  it('publishes a long window in batches while it is still listing, holding one batch at a time', async () => {
    const busy = await fakeCloud({ everyMinutes: 10 });
    const c = clientFor(busy);
    try {
      const calls: { size: number; listedSoFar: number }[] = [];
      const publisher: RunPublisher = {
        publish: async (m) => {
          calls.push({ size: m.length, listedSoFar: busy.requestsOf('runs').length });
          return m.length;
        },
      };
      const reply = await handleBackfill(
        {
          client: c,
          publisher,
          scope: WHOLE_ACCOUNT,
          logger: silentLogger,
          now: () => Date.parse('2022-06-02T00:00:00Z'),
          maxDays: 31,
        },
        request('POST', { start: '2022-06-01T00:00:00Z', end: '2022-06-02T00:00:00Z' }),
      );
      const truth = busy.account.runsFinishedIn(new Date('2022-06-01T00:00:00Z'), new Date('2022-06-02T00:00:00Z'));
      expect(reply.body).toMatchObject({ runs: truth.length, published: truth.length });
      expect(truth.length).toBeGreaterThan(1000);
      expect(calls.every((call) => call.size <= 500)).toBe(true);
      expect(calls[0]!.listedSoFar).toBeLessThan(busy.requestsOf('runs').length);
    } finally {
      c.close();
      await busy.stop();
    }
  });

  it("keeps to HARVEST_JOB_IDS: a backfill's jobIds narrow them and never widen them", async () => {
    const [a, b, c] = fake.account.jobs.map((j) => j.id);
    const window = { start: '2022-06-01T11:00:00Z', end: '2022-06-01T15:00:00Z' };
    const jobsOf = (d: ReturnType<typeof deps>) => [...new Set(d.publisher.messages.map((m) => m.jobId))].sort();
    const configured = { ...deps(), scope: { jobIds: [a!, b!], includeCancelled: false } };
    await handleBackfill(configured, request('POST', window));
    expect(jobsOf(configured)).toEqual([a, b].sort());
    const narrowed = { ...deps(), scope: { jobIds: [a!, b!], includeCancelled: false } };
    await handleBackfill(narrowed, request('POST', { ...window, jobIds: [b, c] }));
    expect(jobsOf(narrowed)).toEqual([b]);
    const outside = { ...deps(), scope: { jobIds: [a!], includeCancelled: false } };
    const reply = await handleBackfill(outside, request('POST', { ...window, jobIds: [c] }));
    expect(reply.body).toMatchObject({ runs: 0, published: 0 });
    expect(outside.publisher.messages).toEqual([]);
  });

  it('lists without publishing on a dry run, and publishes every run otherwise', async () => {
    const d = deps();
    const window = { start: '2022-06-01T11:00:00Z', end: '2022-06-01T13:00:00Z' };
    const truth = fake.account.runsFinishedIn(new Date(window.start), new Date(window.end));
    const dry = await handleBackfill(d, request('POST', { ...window, dryRun: true }));
    expect(dry.body).toMatchObject({ runs: truth.length, published: 0, dryRun: true });
    expect(d.publisher.messages).toEqual([]);
    const real = await handleBackfill(d, request('POST', window));
    expect(real.body).toMatchObject({ runs: truth.length, published: truth.length });
    expect(new Set(d.publisher.messages.map((m) => m.source))).toEqual(new Set(['backfill']));
  });

  it.each([
    ['GET', 'GET', '', 405, /POST/],
    ['an empty body', 'POST', '', 400, /empty/],
    ['a body that is not JSON', 'POST', '{start', 400, /not JSON/],
    [
      'a window longer than the limit',
      'POST',
      { start: '2022-01-01T00:00:00Z', end: '2022-06-01T00:00:00Z' },
      400,
      /longer than 31 days/,
    ],
    [
      'an unknown field',
      'POST',
      { start: '2022-06-01T00:00:00Z', end: '2022-06-01T01:00:00Z', dryrun: true },
      400,
      /dryrun/,
    ],
    ['a body of null', 'POST', 'null', 400, /expected object/],
    [
      'a start before dbt Cloud keeps runs',
      'POST',
      { start: '2021-05-01T00:00:00Z', end: '2021-05-02T00:00:00Z' },
      400,
      /older than dbt Cloud's run retention of 365 days: start at 2021-06-01/,
    ],
    [
      'a form body',
      'POST',
      'start=2022-06-01',
      415,
      /Content-Type: application\/json, not application\/x-www-form-urlencoded/,
      { 'Content-Type': 'application/x-www-form-urlencoded' },
    ],
    [
      'a text body holding JSON',
      'POST',
      '{"start":"2022-06-01T00:00:00Z","end":"2022-06-01T01:00:00Z"}',
      415,
      /not text\/plain/,
      { 'Content-Type': 'text/plain' },
    ],
    ['another charset', 'POST', '{}', 415, /UTF-8, not latin1/, { 'Content-Type': 'application/json; charset=latin1' }],
    ['a gzip body', 'POST', 'not really gzip', 415, /uncompressed, not gzip/, { 'Content-Encoding': 'gzip' }],
  ] as [string, string, unknown, number, RegExp, Record<string, string>?][])(
    'answers %s with %s in JSON and publishes nothing',
    async (_name, method, body, status, detail, headers) => {
      const d = deps();
      const reply = await handleBackfill(d, request(method, body, headers));
      expect(reply.status).toBe(status);
      expect(JSON.stringify(reply.body['details'])).toMatch(detail);
      expect(d.publisher.messages).toEqual([]);
    },
  );
});

describe('harvestRun', () => {
  const ctx = () => ({ client, store: new LocalFolder(dir), artifacts: 'all' as const, logger: silentLogger });
  const push = (data: unknown, messageId = 'm-1') => ({
    message: { data: Buffer.from(JSON.stringify(data)).toString('base64'), messageId },
    subscription: 'projects/p/subscriptions/s',
  });

  it('stores the run a push names, and acknowledges it again as already stored', async () => {
    const run = fake.account.runs.find((r) => r.outcome === 'success' && fake.account.expectedFiles(r.id).length > 2)!;
    const first = await handleHarvestRun(ctx(), request('POST', push({ runId: run.id, jobId: run.jobId })));
    // Every artifact, and each step's summaries (not _run.json, not the history row).
    expect(first).toMatchObject({
      status: 200,
      body: { status: 'stored', runId: run.id, files: expectedTree(fake.account, [run]).size - 2 },
    });
    expect(await listFiles(join(dir, runFolder(run)))).toContain('_run.json');
    expect(await handleHarvestRun(ctx(), request('POST', push({ runId: run.id })))).toMatchObject({
      status: 200,
      body: { status: 'skipped', reason: 'already stored' },
    });
  });

  it.each([
    ['not JSON', '{', 'invalid push request', /not JSON/],
    ['no message', { subscription: 'x' }, 'invalid push envelope', /message/],
    ['data that is not base64', { message: { data: '@@@', messageId: 'm-2' } }, 'invalid run message', /base64/],
    ['a run id that is a string', push({ runId: '2147555633' }), 'invalid run message', /message\.data\.runId/],
  ])('answers 400 for a push with %s, naming the problem and the message', async (_name, body, error, detail) => {
    const reply = await handleHarvestRun(ctx(), request('POST', body));
    expect(reply.status).toBe(400);
    expect(reply.body['error']).toBe(error);
    expect(JSON.stringify(reply.body['details'])).toMatch(detail);
  });
});
