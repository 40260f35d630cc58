import { describe, expect, it } from 'vitest';
import type { CloudRequest } from '../../../lib/cloud/http.ts';
import type { RunPublisher } from '../../../lib/cloud/publisher.ts';
import { RecentEvents, Refusals, handleWebhook, type WebhookDeps } from '../../../lib/cloud/receive-webhook.ts';
import type { RunMessage } from '../../../lib/core/messages.ts';
import type { Scope } from '../../../lib/core/scope.ts';
import { signWebhook } from '../../../lib/dbt-cloud/webhooks.ts';
import { createLogger, silentLogger } from '../../../lib/log.ts';

/**
 * receiveWebhook in this process: dbt Cloud's signed events in, run messages out. The signature
 * gates everything; what is not for this deployment is answered 200 and ignored.
 */
const SECRET = 'a3f1c0ffee5eed0ddba11c0ffee5eed0ddba11aa';
const ACCOUNT = 66847;

/** The published example of a job.run.completed event (ids as strings); each a new event unless told. */
let events = 0;
function event(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    accountId: ACCOUNT,
    webhookId: 'wsu_12345abcde',
    eventId: `wev_2L6Z3l8uPedXKPq9D2nWbPIip${++events}`,
    timestamp: '2023-05-29T07:52:18.06660617Z',
    eventType: 'job.run.completed',
    webhookName: 'dbt-cloud-harvester',
    data: {
      jobId: '278164',
      jobName: 'Production build',
      runId: '155144666',
      environmentId: '187998',
      environmentName: 'Production',
      dbtVersion: '1.5.0',
      projectName: 'Analytics',
      projectId: '241251',
      runStatus: 'Success',
      runStatusCode: 10,
      runStatusMessage: 'None',
      runReason: 'Kicked off from UI by someone@example.com',
      runStartedAt: '2023-05-29T07:51:56Z',
      runFinishedAt: '2023-05-29T07:52:15Z',
      ...data,
    },
    ...overrides,
  };
}

function request(
  body: string | Buffer,
  headers: Record<string, string | undefined> = {},
  method = 'POST',
): CloudRequest {
  const lower = Object.fromEntries(
    Object.entries({ 'content-type': 'application/json', ...headers }).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return {
    method,
    header: (name) => lower[name.toLowerCase()],
    rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body),
  };
}

const signed = (body: unknown, headers: Record<string, string | undefined> = {}, secret = SECRET): CloudRequest => {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return request(raw, { authorization: signWebhook(secret, raw), ...headers });
};

function setup(
  scope: Partial<Scope> = {},
  options: { secret?: () => Promise<string>; refresh?: () => Promise<string>; publish?: RunPublisher['publish'] } = {},
) {
  const messages: RunMessage[] = [];
  const lines: string[] = [];
  const deps: WebhookDeps = {
    accountId: ACCOUNT,
    secret: { get: options.secret ?? (async () => SECRET), refresh: options.refresh ?? (async () => SECRET) },
    publisher: {
      publish:
        options.publish ??
        (async (m) => {
          messages.push(...m);
          return m.length;
        }),
    },
    scope: { includeCancelled: false, ...scope },
    logger: createLogger({ level: 'DEBUG', write: (l) => lines.push(l) }),
    published: new RecentEvents(),
    refusals: new Refusals(createLogger({ level: 'DEBUG', write: (l) => lines.push(l) })),
  };
  return { deps, messages, lines };
}

describe('receiveWebhook: the signature', () => {
  it('publishes one run message with the job and finish time as hints, for a correctly signed completed run', async () => {
    const { deps, messages } = setup();
    const reply = await handleWebhook(deps, signed(event()));
    expect(reply).toEqual({ status: 200, body: { published: 1, runId: 155144666, jobId: 278164 } });
    // As published: the message's JSON, with dbt Cloud's time as it sent it.
    expect(JSON.parse(JSON.stringify(messages))).toEqual([
      { runId: 155144666, jobId: 278164, finishedAt: '2023-05-29T07:52:15Z', source: 'webhook' },
    ]);
  });

  it('refuses a missing, malformed or wrong signature with 401 in JSON, and publishes nothing', async () => {
    const { deps, messages, lines } = setup();
    const raw = JSON.stringify(event());
    const cases: [Record<string, string | undefined>, RegExp][] = [
      [{}, /no Authorization header/],
      [{ authorization: '' }, /no Authorization header/],
      [{ authorization: 'Token abc' }, /not a hex HMAC-SHA256/],
      [{ authorization: signWebhook(SECRET, raw).slice(0, 63) }, /not a hex HMAC-SHA256/],
      [{ authorization: signWebhook('another-secret-entirely', raw) }, /does not match/],
      [{ authorization: `Bearer ${signWebhook(SECRET, raw)}` }, /not a hex HMAC-SHA256/],
    ];
    for (const [headers, message] of cases) {
      const reply = await handleWebhook(deps, request(raw, headers));
      expect(reply.status, JSON.stringify(headers)).toBe(401);
      expect(reply.body['error']).toBe('unauthorized');
      expect((reply.body['details'] as string[])[0]).toMatch(message);
    }
    expect(messages).toEqual([]);
    // The secret is never logged, nor the signature it makes.
    expect(lines.join('\n')).not.toContain(SECRET);
    expect(lines.join('\n')).not.toContain(signWebhook(SECRET, raw));
  });

  it('refuses a body changed after signing, by one byte or by its whitespace', async () => {
    const { deps, messages } = setup();
    const raw = JSON.stringify(event());
    const signature = signWebhook(SECRET, raw);
    for (const changed of [
      raw.replace('155144666', '155144667'),
      JSON.stringify(event(), null, 2),
      `${raw}\n`,
      raw.replace('"Success"', '"Succes\\u0073"'),
    ]) {
      expect((await handleWebhook(deps, request(changed, { authorization: signature }))).status).toBe(401);
    }
    expect(messages).toEqual([]);
  });

  it('verifies the raw bytes, not a re-serialization: unusual but signed JSON is accepted', async () => {
    const { deps, messages } = setup();
    const raw = `{ "eventType" : "job.run.completed", "accountId": ${ACCOUNT}, "data": {"runId": "7", "jobId": "8", "runStatusCode": 10, "runName": "caf\u00e9 \ud83d\ude80"} }`;
    expect((await handleWebhook(deps, signed(raw))).status).toBe(200);
    expect(messages.map((m) => m.runId)).toEqual([7]);
  });

  it('accepts the signature in upper case or with a sha256= prefix', async () => {
    const { deps, messages } = setup();
    const raw = JSON.stringify(event());
    expect(
      (await handleWebhook(deps, request(raw, { authorization: signWebhook(SECRET, raw).toUpperCase() }))).status,
    ).toBe(200);
    const other = JSON.stringify(event());
    expect(
      (await handleWebhook(deps, request(other, { authorization: `sha256=${signWebhook(SECRET, other)}` }))).status,
    ).toBe(200);
    expect(messages).toHaveLength(2);
  });

  it('re-reads a rotated secret once when a signature does not match, and then accepts it', async () => {
    let current = SECRET;
    let refreshes = 0;
    const { deps, messages } = setup(
      {},
      {
        secret: async () => SECRET,
        refresh: async () => {
          refreshes++;
          return current;
        },
      },
    );
    current = 'the-rotated-secret-0123456789';
    expect((await handleWebhook(deps, signed(event(), {}, current))).status).toBe(200);
    expect(refreshes).toBe(1);
    expect(messages).toHaveLength(1);
  });

  it('answers 503 while the secret cannot be read (no version yet), so that dbt Cloud retries', async () => {
    const { deps, messages } = setup(
      {},
      {
        secret: async () => {
          throw new Error('The webhook secret is not set: secret x has no enabled version');
        },
      },
    );
    const reply = await handleWebhook(deps, signed(event()));
    expect(reply.status).toBe(503);
    // The caller learns nothing internal: no secret, project or command; the log has it.
    expect(JSON.stringify(reply.body)).not.toMatch(/secret x|not set|gcloud|projects\//);
    expect(messages).toEqual([]);
  });

  it('checks the header before reading the secret: an unsigned caller costs no Secret Manager read', async () => {
    let reads = 0;
    const { deps } = setup(
      {},
      {
        secret: async () => {
          reads++;
          return SECRET;
        },
      },
    );
    for (const authorization of [undefined, '', 'Bearer abc', 'f'.repeat(63), `${'f'.repeat(64)}x`])
      expect((await handleWebhook(deps, request(JSON.stringify(event()), { authorization }))).status).toBe(401);
    expect(reads).toBe(0);
    expect((await handleWebhook(deps, signed(event()))).status).toBe(200);
    expect(reads).toBe(1);
  });

  it('publishes a signed event once, however often it is delivered again', async () => {
    const { deps, messages } = setup();
    const same = event();
    const replies = [];
    for (let i = 0; i < 13; i++) replies.push(await handleWebhook(deps, signed(same)));
    expect(messages).toHaveLength(1);
    expect(replies.at(-1)).toEqual({ status: 200, body: { published: 0, duplicate: true, runId: 155144666 } });
    // An event that failed to publish is not remembered: its retry publishes.
    let fail = true;
    const flaky = setup(
      {},
      {
        publish: async (m) => {
          if (fail) throw new Error('Pub/Sub unavailable');
          return m.length;
        },
      },
    );
    const retried = event();
    expect((await handleWebhook(flaky.deps, signed(retried))).status).toBe(503);
    fail = false;
    expect((await handleWebhook(flaky.deps, signed(retried))).body).toMatchObject({ published: 1 });
  });

  it('logs refused deliveries at most once a minute, with their count', async () => {
    const { deps, lines } = setup();
    for (let i = 0; i < 50; i++) await handleWebhook(deps, request('{}', { authorization: 'nope' }));
    const refused = lines.filter((l) => l.includes('refused'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toContain('"malformed":1');
  });
});

describe('receiveWebhook: the request', () => {
  it.each(['GET', 'PUT', 'DELETE'])('answers %s 405', async (method) => {
    const { deps } = setup();
    expect((await handleWebhook(deps, request('', {}, method))).status).toBe(405);
  });

  it('refuses a signed body of another content type (415), and reads one with none', async () => {
    const { deps, messages } = setup();
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
    ]) {
      const reply = await handleWebhook(deps, signed(event(), { 'content-type': type }));
      expect(reply.status, type).toBe(415);
    }
    expect(messages).toEqual([]);
    expect((await handleWebhook(deps, signed(event(), { 'content-type': undefined }))).status).toBe(200);
    expect(messages).toHaveLength(1);
  });

  it('refuses signed bodies that are empty, not JSON, or not an event, with 400 and what is wrong', async () => {
    const { deps, messages } = setup();
    expect((await handleWebhook(deps, signed(''))).status).toBe(400);
    expect((await handleWebhook(deps, signed('{"accountId": 1, '))).status).toBe(400);
    const notEvent = await handleWebhook(deps, signed({ hello: 'world' }));
    expect(notEvent.status).toBe(400);
    expect((notEvent.body['details'] as string[]).join()).toMatch(/accountId/);
    const badRun = await handleWebhook(deps, signed(event({}, { runId: 'abc', jobId: '-4' })));
    expect(badRun.status).toBe(400);
    expect((badRun.body['details'] as string[]).join()).toMatch(/data\.runId/);
    expect(messages).toEqual([]);
  });

  it('takes ids as strings or numbers alike', async () => {
    const { deps, messages } = setup();
    await handleWebhook(
      deps,
      signed(
        event(
          { accountId: String(ACCOUNT) },
          { runId: 155144666, jobId: 278164, projectId: 241251, environmentId: 187998 },
        ),
      ),
    );
    await handleWebhook(deps, signed(event()));
    expect(messages.map((m) => [m.runId, m.jobId])).toEqual([
      [155144666, 278164],
      [155144666, 278164],
    ]);
  });

  it('publishes without a finish-time hint when the event has none, an unreadable or an implausible one', async () => {
    const { deps, messages } = setup();
    await handleWebhook(deps, signed(event({}, { runFinishedAt: '' })));
    await handleWebhook(deps, signed(event({}, { runFinishedAt: null })));
    await handleWebhook(deps, signed(event({}, { runFinishedAt: '9999-12-31T23:59:59Z' })));
    await handleWebhook(deps, signed(event({}, { runFinishedAt: '1970-01-01T00:00:00Z' })));
    expect(messages).toEqual([
      { runId: 155144666, jobId: 278164, source: 'webhook' },
      { runId: 155144666, jobId: 278164, source: 'webhook' },
      { runId: 155144666, jobId: 278164, source: 'webhook' },
      { runId: 155144666, jobId: 278164, source: 'webhook' },
    ]);
    expect((await handleWebhook(deps, signed(event({}, { runFinishedAt: 'yesterday' })))).status).toBe(400);
  });
});

describe('receiveWebhook: what is not for it', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>, Partial<Scope>, RegExp][] = [
    ['a run that started', { eventType: 'job.run.started' }, {}, {}, /job\.run\.started events are not harvested/],
    ['an unknown event type', { eventType: 'job.run.exploded' }, {}, {}, /not harvested/],
    ['another account', { accountId: 1 }, {}, {}, /account 1/],
    ['another project', {}, {}, { projectId: 1 }, /project 241251, not 1/],
    ['another environment', {}, {}, { environmentId: 2 }, /environment 187998, not 2/],
    ['a job not configured', {}, {}, { jobIds: [1, 2] }, /job 278164, which is not among HARVEST_JOB_IDS/],
    ['a cancelled run', {}, { runStatus: 'Cancelled', runStatusCode: 30 }, {}, /cancelled/],
  ];
  it.each(cases)('answers 200 and publishes nothing for %s', async (_what, overrides, data, filter, reason) => {
    const { deps, messages } = setup(filter);
    const reply = await handleWebhook(deps, signed(event(overrides, data)));
    expect(reply.status).toBe(200);
    expect(reply.body['ignored']).toBe(true);
    expect(String(reply.body['reason'])).toMatch(reason);
    expect(messages).toEqual([]);
  });

  it('publishes runs in scope, errored runs, and cancelled runs when they are wanted', async () => {
    const { deps, messages } = setup({
      projectId: 241251,
      environmentId: 187998,
      jobIds: [278164],
      includeCancelled: true,
    });
    await handleWebhook(deps, signed(event()));
    await handleWebhook(
      deps,
      signed(event({ eventType: 'job.run.errored' }, { runStatus: 'Errored', runStatusCode: 20 })),
    );
    await handleWebhook(deps, signed(event({}, { runStatus: 'Cancelled', runStatusCode: 30 })));
    expect(messages).toHaveLength(3);
  });

  it('answers 503 when the message cannot be published, so that dbt Cloud retries', async () => {
    const { deps } = setup(
      {},
      {
        publish: async () => {
          throw new Error('Pub/Sub unavailable');
        },
      },
    );
    const reply = await handleWebhook(deps, signed(event()));
    expect(reply.status).toBe(503);
    expect(reply.body['error']).toBe('not published');
  });
});

describe('receiveWebhook: silence', () => {
  it('logs nothing of the body or the secret for a refused delivery', async () => {
    const { deps, lines } = setup();
    await handleWebhook({ ...deps, logger: silentLogger }, request('{"x":1}'));
    await handleWebhook(deps, request(JSON.stringify(event()), { authorization: 'f'.repeat(64) }));
    expect(lines.join('\n')).not.toMatch(/155144666|wev_|Production/);
  });
});
