import type { Message, PubSub } from '@google-cloud/pubsub';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { startFakeGcs, type FakeGcs } from '../../harness/fake-gcs/server.ts';
import { TOKEN, fakeCloud, until } from '../helpers.ts';
import { expectedTree, objectMismatches, storedProblem, ofRun } from '../expected.ts';
import { emulatorRequired, hasGcloud } from '../../harness/services.ts';
import { post, startPipeline, type Pipeline } from '../../harness/pipeline.ts';
import { historyRowPath } from '../../lib/core/paths.ts';
import { signWebhook } from '../../lib/dbt-cloud/webhooks.ts';

const PROJECT = 'harvester-test';
const BUCKET = 'harvest-bucket';
const MAX_ATTEMPTS = 5;
const available = await hasGcloud();
if (!available && emulatorRequired())
  throw new Error('CI=true: the Pub/Sub emulator (gcloud beta emulators pubsub) is required for the function tests');

let fake: FakeDbtCloud;
let gcs: FakeGcs;
let pipeline: Pipeline;
let fns: Pipeline['fns'];
let pubsub: PubSub;
let published: Message[];
let dead: Message[];

/** The day the fake serves: yesterday (UTC), within dbt Cloud's retention for backfills. */
const DAY0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;
/** An ISO time on that day. */
const at = (hours: number, minutes = 0): string => new Date(DAY0 + hours * 3_600_000 + minutes * 60_000).toISOString();

const envelope = (data: string, id = String(Math.random())) => ({
  message: { data, messageId: id, attributes: {} },
  subscription: `projects/${PROJECT}/subscriptions/manual`,
});
const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');

/**
 * Publishes a harmless marker (a run already stored, which harvestRun skips) and waits for its audit
 * copy: what a function published before its answer reaches the audit subscription before it.
 * Nothing but the marker may have arrived since `before`.
 */
async function expectNothingPublishedSince(before: number): Promise<void> {
  const stored = fake.account.runsFinishedIn(new Date(at(9)), new Date(at(10)))[0]!;
  const id = await pubsub.topic('dbt-runs').publishMessage({
    data: Buffer.from(JSON.stringify({ runId: stored.id, source: 'manual' })),
    attributes: { marker: 'true' },
  });
  await until("the marker's audit copy", () => published.some((m) => m.id === id));
  // The marker's run harvested (or found stored) before the next test counts objects: nothing in flight.
  await until("the marker's run stored", () =>
    gcs.list(BUCKET).some((o) => o.name.endsWith(`run_id=${stored.id}/_run.json`)),
  );
  expect(
    published
      .slice(before)
      .filter((m) => m.attributes['marker'] !== 'true')
      .map((m) => m.data.toString()),
  ).toEqual([]);
}

async function expectStored(start: string, end: string): Promise<void> {
  const truth = fake.account.runsFinishedIn(new Date(start), new Date(end));
  const markers = [...expectedTree(fake.account, truth).keys()].filter((k) => k.endsWith('_run.json'));
  await until(`${markers.length} runs stored`, () => markers.every((m) => gcs.objects.has(`${BUCKET}/${m}`)));
  expect(await objectMismatches(fake.account, truth, gcs.list(BUCKET))).toEqual([]);
}

describe.skipIf(!available)('Cloud Run functions over Pub/Sub (real emulator, real functions-framework)', () => {
  beforeAll(async () => {
    // A live account: yesterday's runs, and runs that end now (the webhook cases).
    fake = await fakeCloud({
      from: new Date(DAY0),
      to: new Date(DAY0 + 86_400_000),
      clock: Date.now,
      webhooks: { retryDelaysMs: [500, 1000, 2000, 4000, 8000] },
    });
    gcs = await startFakeGcs();
    pipeline = await startPipeline({
      project: PROJECT,
      fake,
      token: TOKEN,
      env: { ARTIFACTS_DESTINATION: `gs://${BUCKET}`, STORAGE_API_ENDPOINT: gcs.url },
      maxDeliveryAttempts: MAX_ATTEMPTS,
      backoffSeconds: { min: 0, max: 1 },
    });
    ({ fns, pubsub, published, dead } = pipeline);
  }, 180_000);

  afterAll(async () => {
    await pipeline?.close();
    await fake?.stop();
    await gcs?.stop();
  });

  it("dispatchHourly stores exactly the scheduled hour's runs, byte for byte", async () => {
    const res = await post(fns.dispatchHourly.url, '', { 'X-CloudScheduler-ScheduleTime': at(10, 10) });
    expect(res.status).toBe(200);
    const truth = fake.account.runsFinishedIn(new Date(at(9)), new Date(at(10)));
    expect(res.body).toEqual({ window: { start: at(9), end: at(10) }, runs: truth.length, published: truth.length });
    expect(truth.length).toBeGreaterThan(10);
    await expectStored(at(9), at(10));
    const messages = await until('the audit copy', () => (published.length >= truth.length ? published : undefined));
    const first = JSON.parse(messages[0]!.data.toString()) as Record<string, unknown>;
    expect(first).toMatchObject({ source: 'hourly', window: { start: at(9), end: at(10) } });
    expect(messages[0]!.attributes['run_id']).toBe(String(first['runId']));
    // Nothing outside the hour was stored.
    expect(
      gcs
        .list(BUCKET)
        .every(
          (o) =>
            o.name.startsWith(`date=${at(9).slice(0, 10)}/hour=09/`) ||
            truth.some((r) => o.name === historyRowPath({ runId: r.id, jobId: r.jobId, finishedAt: r.finishedAt })),
        ),
    ).toBe(true);
  });

  it('backfill with dryRun lists the runs and publishes nothing; without it, stores several hours', async () => {
    const before = published.length;
    const truth = fake.account.runsFinishedIn(new Date(at(11)), new Date(at(14)));
    const dry = await post(fns.backfill.url, { start: at(11), end: at(14), dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ runs: truth.length, published: 0, dryRun: true });
    expect([...(dry.body['runIds'] as number[])].sort()).toEqual(truth.map((r) => r.id).sort());
    await expectNothingPublishedSince(before);

    const real = await post(fns.backfill.url, { start: at(11).slice(0, 19), end: at(14).slice(0, 19) });
    expect(real.status).toBe(200);
    expect(real.body).toMatchObject({ runs: truth.length, published: truth.length });
    await expectStored(at(11), at(14));
  });

  it('leaves one complete copy when the same run is delivered twice, and twice at once', async () => {
    const run = fake.account
      .runsFinishedIn(new Date(at(15)), new Date(at(16)))
      .find((r) => fake.account.expectedFiles(r.id).length >= 4)!;
    const data = b64({ runId: run.id, jobId: run.jobId, source: 'manual' });
    const [a, b] = await Promise.all([
      post(fns.harvestRun.url, envelope(data)),
      post(fns.harvestRun.url, envelope(data)),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const expected = expectedTree(fake.account, [run]);
    const names = () => gcs.list(BUCKET).filter((o) => ofRun(o.name, run.id));
    expect(
      names()
        .map((o) => o.name)
        .sort(),
    ).toEqual([...expected.keys()].sort());
    const generations = names().map((o) => o.generation);
    const again = await post(fns.harvestRun.url, envelope(data));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'skipped', reason: 'already stored' });
    const mark = fns.harvestRun.output().length;
    await pubsub.topic('dbt-runs').publishMessage({ data: Buffer.from(JSON.stringify({ runId: run.id })) });
    await pubsub.topic('dbt-runs').publishMessage({ data: Buffer.from(JSON.stringify({ runId: run.id })) });
    const skipped = (): number =>
      fns.harvestRun
        .output()
        .slice(mark)
        .split('\n')
        .filter((l) => l.includes('"message":"run skipped: already stored"') && l.includes(`"runId":${run.id},`))
        .length;
    await until(
      () => `both deliveries answered "already stored" (${skipped()} so far)`,
      () => skipped() >= 2,
    );
    expect(names().map((o) => o.generation)).toEqual(generations);
    for (const [name, obj] of expected) {
      expect(await storedProblem(fake.account, obj, gcs.objects.get(`${BUCKET}/${name}`)!.data!), name).toBeNull();
    }
  });

  it('dead-letters a run whose harvest keeps failing, after the configured attempts', async () => {
    const run = fake.account.runsFinishedIn(new Date(at(16)), new Date(at(17)))[0]!;
    fake.inject({ kind: 'run', runId: run.id, fault: { type: 'status', status: 403 } });
    await pubsub.topic('dbt-runs').publishMessage({
      data: Buffer.from(JSON.stringify({ runId: run.id, jobId: run.jobId })),
      attributes: { run_id: String(run.id) },
    });
    const letter = await until(
      'the dead letter',
      () => dead.find((m) => m.attributes['run_id'] === String(run.id)),
      240_000,
    );
    expect(JSON.parse(letter.data.toString())).toMatchObject({ runId: run.id });
    expect(fake.requestsOf('run', run.id)).toHaveLength(MAX_ATTEMPTS);
    expect(gcs.list(BUCKET).some((o) => ofRun(o.name, run.id))).toBe(false);
    fake.clearFaults();
  }, 300_000);

  describe("receiveWebhook: runs stored as they end, from dbt Cloud's signed webhooks", () => {
    /** A job of the account, and its runs' folder in the bucket. */
    const job = () => fake.account.jobs[0]!.id;
    const storedRun = (runId: number) => gcs.list(BUCKET).some((o) => o.name.endsWith(`run_id=${runId}/_run.json`));
    const delivered = (runId: number) => fake.webhooks.deliveries.filter((d) => d.runId === runId);

    async function expectRunStored(runId: number): Promise<void> {
      await until(`run ${runId} stored`, () => storedRun(runId), 120_000);
      const run = fake.account.run(runId)!;
      expect(
        await objectMismatches(
          fake.account,
          [run],
          gcs.list(BUCKET).filter((o) => ofRun(o.name, runId)),
        ),
      ).toEqual([]);
    }

    // First: the secret is read once and then cached, so this case must come before any other delivery.
    it('is retried by dbt Cloud while the secret cannot be read, and stores the run once it can', async () => {
      pipeline.secrets.denied.add(pipeline.secretNames.webhook);
      const run = fake.finishRun(job());
      await until('two refused deliveries', () => delivered(run.id).filter((d) => d.status === 503).length >= 2);
      pipeline.secrets.denied.delete(pipeline.secretNames.webhook);
      await expectRunStored(run.id);
      const attempts = delivered(run.id);
      expect(attempts.at(-1)!.status).toBe(200);
      expect(attempts.at(-1)!.attempt).toBeGreaterThanOrEqual(3);
    });

    it('stores a run that just ended, published once with source "webhook" and its hints', async () => {
      const run = fake.finishRun(job());
      await expectRunStored(run.id);
      const copies = published.filter((m) => JSON.parse(m.data.toString()).runId === run.id);
      expect(copies.map((m) => JSON.parse(m.data.toString()))).toEqual([
        {
          runId: run.id,
          jobId: run.jobId,
          finishedAt: run.finishedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          source: 'webhook',
        },
      ]);
      expect(copies[0]!.attributes).toMatchObject({ run_id: String(run.id), source: 'webhook' });
      expect(delivered(run.id).map((d) => [d.eventType, d.attempt, d.status])).toEqual([['job.run.completed', 1, 200]]);
    });

    it('stores an errored run once, though dbt Cloud sends it two events (completed and errored)', async () => {
      const run = fake.finishRun(job(), { outcome: 'error', failAt: 4 });
      await until('both events answered', () => delivered(run.id).filter((d) => d.status === 200).length === 2);
      await expectRunStored(run.id);
      expect(
        delivered(run.id)
          .map((d) => d.eventType)
          .sort(),
      ).toEqual(['job.run.completed', 'job.run.errored']);
    });

    it('takes ids as numbers as well as strings', async () => {
      const run = fake.finishRun(job(), { numericIds: true });
      await expectRunStored(run.id);
    });

    it('answers 503 "not ready" while dbt Cloud has not saved the artifacts, and stores the run once it has', async () => {
      const before = fns.harvestRun.output().length;
      const run = fake.finishRun(job(), { artifactsAfterMs: 4_000 });
      await expectRunStored(run.id);
      const notReady = fns.harvestRun
        .output()
        .slice(before)
        .split('\n')
        .filter((l) => l.includes(`"runId":${run.id},`) && l.includes('run not ready'));
      expect(notReady.length).toBeGreaterThan(0);
      expect(fake.account.expectedFiles(run.id).length).toBeGreaterThan(0);
    });

    it('publishes and stores once when dbt Cloud delivers an event six times (its answers were lost)', async () => {
      fake.webhooks.answersLost = true;
      const run = fake.finishRun(job());
      await until(
        'six deliveries, each answered 200',
        () => delivered(run.id).filter((d) => d.status === 200).length === 6,
      );
      fake.webhooks.answersLost = false;
      await expectRunStored(run.id);
      // The same event, delivered again: answered 200 as a duplicate, not published again.
      const copies = published.filter((m) => JSON.parse(m.data.toString()).runId === run.id).length;
      expect(copies).toBe(1);
      const names = () => gcs.list(BUCKET).filter((o) => ofRun(o.name, run.id));
      expect(names().every((o) => o.generation === names().find((n) => n.name === o.name)!.generation)).toBe(true);
    });

    /** A request to receiveWebhook as anyone may send it; the answer must be JSON. */
    async function send(
      body: string | Buffer,
      headers: Record<string, string>,
      method = 'POST',
    ): Promise<{ status: number; json: Record<string, unknown> }> {
      const res = await fetch(fns.receiveWebhook.url, { method, headers, body: method === 'GET' ? undefined : body });
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    }
    const sample = () => {
      const run = fake.account.runsFinishedIn(new Date(at(20)), new Date(at(21)))[0]!;
      return fake.webhooks.eventBody(run, 'job.run.completed', pipeline.webhook).body;
    };
    const sign = (body: string | Buffer) => signWebhook(pipeline.webhook.hmac_secret, body);

    const refusals: [
      string,
      () => { body: string | Buffer; headers: Record<string, string>; method?: string },
      number,
      RegExp,
    ][] = [
      [
        'no signature',
        () => ({ body: sample(), headers: { 'Content-Type': 'application/json' } }),
        401,
        /signature in Authorization \(64 hex digits\)/,
      ],
      [
        'a signature made with another secret',
        () => {
          const body = sample();
          return {
            body,
            headers: { 'Content-Type': 'application/json', Authorization: signWebhook('not-the-secret-1234', body) },
          };
        },
        401,
        /does not match/,
      ],
      [
        'a token instead of a signature',
        () => ({ body: sample(), headers: { 'Content-Type': 'application/json', Authorization: `Token ${TOKEN}` } }),
        401,
        /signature in Authorization \(64 hex digits\)/,
      ],
      [
        'a body changed after signing',
        () => {
          const body = sample();
          return {
            body: body.replace('"Success"', '"Errored"'),
            headers: { 'Content-Type': 'application/json', Authorization: sign(body) },
          };
        },
        401,
        /does not match/,
      ],
      [
        'a signed form body',
        () => ({
          body: 'runId=1',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: sign('runId=1') },
        }),
        415,
        /application\/json/,
      ],
      [
        'a signed text body holding the event',
        () => {
          const body = sample();
          return { body, headers: { 'Content-Type': 'text/plain', Authorization: sign(body) } };
        },
        415,
        /not text\/plain/,
      ],
      [
        'a signed body that is not JSON',
        () => ({ body: '{event', headers: { 'Content-Type': 'application/json', Authorization: sign('{event') } }),
        400,
        /not JSON/,
      ],
      [
        'a body of 2 MB',
        () => {
          const body = `{"accountId":1,"eventType":"job.run.completed","pad":"${'x'.repeat(2 * 1024 * 1024)}"}`;
          return { body, headers: { 'Content-Type': 'application/json', Authorization: sign(body) } };
        },
        413,
        /at most 65536 bytes/,
      ],
      // Unsigned, refused before anything else; signature-shaped, then refused by its method.
      ['an unsigned GET', () => ({ body: '', headers: {}, method: 'GET' }), 401, /64 hex digits/],
      ['a GET', () => ({ body: '', headers: { Authorization: 'a'.repeat(64) }, method: 'GET' }), 405, /use POST/],
    ];

    it.each(refusals)('refuses %s in JSON, and publishes nothing', async (_name, make, status, detail) => {
      const before = published.length;
      const { body, headers, method } = make();
      const res = await send(body, headers, method);
      expect(res.status).toBe(status);
      expect(JSON.stringify(res.json['details'])).toMatch(detail);
      await expectNothingPublishedSince(before);
    });

    const ignoredCases: [string, (body: Record<string, unknown>) => Record<string, unknown>, RegExp][] = [
      ['a run that started', (e) => ({ ...e, eventType: 'job.run.started' }), /not harvested/],
      ['an unknown event type', (e) => ({ ...e, eventType: 'job.deleted' }), /not harvested/],
      ['another account', (e) => ({ ...e, accountId: 1 }), /account 1/],
      [
        'a cancelled run',
        (e) => ({ ...e, data: { ...(e['data'] as object), runStatus: 'Cancelled', runStatusCode: 30 } }),
        /cancelled/,
      ],
    ];

    it.each(ignoredCases)('answers 200 and ignores %s, publishing nothing', async (_name, change, reason) => {
      const before = published.length;
      const body = JSON.stringify(change(JSON.parse(sample()) as Record<string, unknown>));
      const res = await send(body, { 'Content-Type': 'application/json', Authorization: sign(body) });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ ignored: true });
      expect(String(res.json['reason'])).toMatch(reason);
      await expectNothingPublishedSince(before);
    });

    it('never logs the webhook secret', () => {
      expect(fns.receiveWebhook.output()).not.toContain(pipeline.webhook.hmac_secret);
      expect(fns.receiveWebhook.output()).toMatch(/run published from webhook/);
    });
  });

  describe('bad input', () => {
    const harvestCases: [string, unknown][] = [
      ['a body that is not JSON', '{not json'],
      ['no message', { subscription: 'x' }],
      ['message.data that is not base64', envelope('@@@not base64@@@')],
      ['base64 that is not JSON', envelope(b64('hello'))],
      ['runId as a string', envelope(b64({ runId: '2147555633' }))],
      ['a negative runId', envelope(b64({ runId: -5 }))],
      ['a huge runId', envelope(b64({ runId: 2 ** 60 }))],
      ['a fractional runId', envelope(b64({ runId: 1.5 }))],
      ['an array payload', envelope(b64([1, 2]))],
      ['wrong envelope types', { message: { data: 42 } }],
    ];

    it.each(harvestCases)('harvestRun answers non-2xx in JSON for %s and stores nothing', async (_name, body) => {
      const objects = gcs.objects.size;
      const res = await post(fns.harvestRun.url, body);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(gcs.objects.size).toBe(objects);
      expect(res.body['error']).toMatch(/invalid/);
    });

    /** A request as anything may send it, and its answer, which must be JSON whatever was sent. */
    async function raw(
      url: string,
      init: { method?: string; headers?: Record<string, string>; body?: string | Buffer },
    ): Promise<{ status: number; json: Record<string, unknown> }> {
      const res = await fetch(url, { method: init.method ?? 'POST', headers: init.headers, body: init.body });
      expect(res.headers.get('content-type'), `${init.method ?? 'POST'} ${url}`).toMatch(/^application\/json/);
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    }
    const framed: [
      string,
      'backfill' | 'harvestRun',
      { method?: string; headers?: Record<string, string>; body?: string | Buffer },
      number,
      RegExp,
    ][] = [
      [
        'a body that is not JSON',
        'backfill',
        { headers: { 'Content-Type': 'application/json' }, body: '{start' },
        400,
        /not JSON/,
      ],
      [
        'a body of null',
        'backfill',
        { headers: { 'Content-Type': 'application/json' }, body: 'null' },
        400,
        /expected object/,
      ],
      [
        'an unsupported charset',
        'backfill',
        { headers: { 'Content-Type': 'application/json; charset=utf-16' }, body: '{}' },
        415,
        /UTF-8, not utf-16/,
      ],
      [
        'a bad gzip sent as application/json',
        'backfill',
        {
          headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
          body: Buffer.from('not gzip at all'),
        },
        415,
        /uncompressed, not gzip/,
      ],
      [
        'a good gzip',
        'backfill',
        {
          headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
          body: gzipSync(JSON.stringify({ start: at(0), end: at(1) })),
        },
        415,
        /uncompressed, not gzip/,
      ],
      [
        'a form body',
        'backfill',
        { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `start=${at(0)}&end=${at(1)}` },
        415,
        /application\/json/,
      ],
      [
        'a text body holding JSON',
        'backfill',
        { headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ start: at(0), end: at(1) }) },
        415,
        /not text\/plain/,
      ],
      [
        'a body of 2 MB',
        'backfill',
        { headers: { 'Content-Type': 'application/json' }, body: `{"start":"${'x'.repeat(2 * 1024 * 1024)}"}` },
        413,
        /at most 1048576 bytes/,
      ],
      [
        'a push that is not JSON',
        'harvestRun',
        { headers: { 'Content-Type': 'application/json' }, body: '{message' },
        400,
        /not JSON/,
      ],
      [
        'a push with a bad gzip',
        'harvestRun',
        { headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: Buffer.from('xx') },
        415,
        /uncompressed/,
      ],
    ];

    it.each(framed)(
      'answers %s to %s in JSON, before any framework error page, and publishes and stores nothing',
      async (_name, target, init, status, detail) => {
        const before = published.length;
        const objects = gcs.objects.size;
        const res = await raw(fns[target].url, init);
        expect(res.status).toBe(status);
        expect(JSON.stringify(res.json['details'])).toMatch(detail);
        expect(gcs.objects.size).toBe(objects);
        await expectNothingPublishedSince(before);
      },
    );

    it.each(['GET', 'PUT', 'DELETE'])('dispatchHourly answers %s 405 in JSON and publishes nothing', async (method) => {
      const before = published.length;
      const res = await raw(fns.dispatchHourly.url, {
        method,
        headers: { 'X-CloudScheduler-ScheduleTime': at(10, 10) },
      });
      expect(res.status).toBe(405);
      await expectNothingPublishedSince(before);
    });

    const backfillCases: [string, unknown, RegExp][] = [
      ['no body', {}, /start/],
      ['a malformed time', { start: 'yesterday', end: at(0) }, /ISO-8601/],
      ['start after end', { start: at(24), end: at(0) }, /before end/],
      ['an absurd window', { start: '1970-01-01T00:00:00Z', end: at(0) }, /longer than 31 days/],
      ['jobIds of the wrong type', { start: at(0), end: at(1), jobIds: ['640120'] }, /jobIds/],
      ['an unknown field', { start: at(0), end: at(1), dryrun: true }, /dryrun/],
    ];

    it.each(backfillCases)(
      'backfill answers 400 {error, details} for %s and publishes nothing',
      async (_name, body, detail) => {
        const before = published.length;
        const res = await post(fns.backfill.url, body);
        expect(res.status).toBe(400);
        expect(res.body['error']).toBeTypeOf('string');
        expect(JSON.stringify(res.body['details'])).toMatch(detail);
        await expectNothingPublishedSince(before);
      },
    );

    it('backfill answers 405 to other methods', async () => {
      const res = await fetch(fns.backfill.url, { method: 'GET' });
      expect(res.status).toBe(405);
      expect(((await res.json()) as { error: string }).error).toMatch(/method/);
    });

    it('dispatchHourly answers 400 for a schedule time that is not a time', async () => {
      const res = await post(fns.dispatchHourly.url, '', { 'X-CloudScheduler-ScheduleTime': 'tomorrow' });
      expect(res.status).toBe(400);
    });
  });

  it('logs JSON lines with severity and never the token', () => {
    const lines = Object.values(fns)
      .flatMap((f) => f.output().split('\n'))
      .filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry['severity']).toMatch(/DEBUG|INFO|WARNING|ERROR/);
      expect(entry['message']).toBeTypeOf('string');
    }
    expect(lines.some((l) => /"runId":\d+/.test(l) && /"jobId":\d+/.test(l))).toBe(true);
    for (const f of Object.values(fns)) expect(f.output()).not.toContain(TOKEN);
  });
});
