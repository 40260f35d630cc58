import { createHmac } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAlertSink, type FakeAlertSink } from '../../harness/alert-sink.ts';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { AlertSchema, type Alert } from '../../lib/core/alert.ts';
import { cli } from '../cli.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';

/**
 * alerts preview and alerts send over a window harvested from the fake dbt Cloud by the CLI: every
 * failed run named once under run-failed and none that passed; signed generic webhook bodies and
 * Slack-shaped messages; a sink answering 500 survived with no duplicate; a 400 reported and not
 * retried; a second send delivering nothing; thousands of alerts in a bounded number of messages.
 */
const SECRET = 'alerts-test-signing-key-0123456789';
let fake: FakeDbtCloud;
let sink: FakeAlertSink;
let work: string;
let harvested: string;

beforeAll(async () => {
  fake = await fakeCloud({
    from: new Date('2022-06-01T08:00:00Z'),
    to: new Date('2022-06-01T12:00:00Z'),
    everyMinutes: 10,
    jobsPerEnvironment: 3,
  });
  sink = await startFakeAlertSink();
  work = await mkdtemp(join(tmpdir(), 'alerts-cli-'));
  harvested = join(work, 'harvested');
  const res = await cli(
    [
      'retrieve-artifacts-time-interval',
      '--start-time',
      '2022-06-01T09:00:00',
      '--end-time',
      '2022-06-01T11:00:00',
      '--output-folder',
      harvested,
    ],
    {
      DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
      DBT_CLOUD_TOKEN: TOKEN,
      DBT_CLOUD_HOST: fake.url,
      DBT_CLOUD_REQUESTS_PER_MINUTE: '600000',
    },
  );
  expect(res.code, res.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await fake?.stop();
  await sink?.stop();
  await rm(work, { recursive: true, force: true });
});

const preview = async (from: string, env: Record<string, string> = {}): Promise<Alert[]> => {
  const res = await cli(['alerts', 'preview', '--from', from, '--since', '2022-06-01', '--format', 'json'], env);
  expect(res.code, res.stderr).toBe(0);
  const out = JSON.parse(res.stdout) as { alerts: unknown[] };
  return out.alerts.map((a) => AlertSchema.parse(a));
};

/** A copy of the harvested folder, so each test starts with nothing sent. */
const copy = async (name: string): Promise<string> => {
  const to = join(work, name);
  await cp(harvested, to, { recursive: true });
  return to;
};

const truth = () => {
  const runs = fake.account.runsFinishedIn(new Date('2022-06-01T09:00:00Z'), new Date('2022-06-01T11:00:00Z'));
  const stored = runs.filter((r) => fake.account.statusOf(r) !== 30);
  return {
    failed: stored.filter((r) => fake.account.statusOf(r) === 20).map((r) => r.id),
    passed: stored.filter((r) => fake.account.statusOf(r) === 10).map((r) => r.id),
  };
};

describe('alerts preview over a harvested window', () => {
  it('names every failed run once under run-failed, and none that passed', async () => {
    const { failed, passed } = truth();
    expect(failed.length).toBeGreaterThan(2);
    expect(passed.length).toBeGreaterThan(2);
    const alerts = await preview(harvested);
    const named = alerts.filter((a) => a.rule === 'run-failed').map((a) => a.runId);
    expect([...named].sort()).toEqual([...failed].sort());
    expect(new Set(named).size).toBe(named.length);
    for (const a of alerts.filter((x) => x.rule === 'run-failed')) {
      expect(a.summary).toContain(`run ${a.runId} failed`);
      expect(a.href).toMatch(/^https:\/\//);
      expect(a.details['failedStep']).not.toBeNull();
    }
    // dbt's own messages for the nodes that failed, where the failed step has run results.
    const withErrors = alerts.filter(
      (a) => a.rule === 'run-failed' && (a.details['errors'] as { message: string | null }[]).some((e) => e.message),
    );
    expect(withErrors.length).toBeGreaterThan(0);
  });

  it('prints one line per alert as text, and sends nothing', async () => {
    const before = sink.received.length;
    const res = await cli(['alerts', 'preview', '--from', harvested, '--since', '2022-06-01'], {
      ALERTS_SLACK_WEBHOOK_URL: `${sink.url}/slack`,
    });
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('run-failed')).length).toBe(truth().failed.length);
    expect(sink.received.length).toBe(before);
  });
});

describe('alerts send', () => {
  const env = (extra: Record<string, string> = {}) => ({
    ALERTS_SLACK_WEBHOOK_URL: `${sink.url}/slack`,
    ALERTS_WEBHOOK_URL: `${sink.url}/hook`,
    ALERTS_WEBHOOK_SECRET: SECRET,
    ALERTS_MAX_MESSAGES: '1000',
    ...extra,
  });
  const send = (from: string, extra: Record<string, string> = {}) =>
    cli(['alerts', 'send', '--from', from, '--since', '2022-06-01'], env(extra));

  it('delivers signed webhook bodies and Slack messages, a digest per run, once, through 500s', async () => {
    const from = await copy('send');
    const alerts = await preview(from);
    const runsWithAlerts = new Set(alerts.map((a) => a.runId));
    const hookBefore = sink.delivered('/hook').length;
    const slackBefore = sink.delivered('/slack').length;
    sink.failNext('/hook', [{ status: 500 }, { status: 503, body: 'try later' }]);
    const res = await send(from);
    expect(res.code, res.stderr).toBe(0);
    const hook = sink.delivered('/hook').slice(hookBefore);
    const slack = sink.delivered('/slack').slice(slackBefore);
    expect(hook.length).toBe(runsWithAlerts.size);
    expect(slack.length).toBe(runsWithAlerts.size);
    const seen: Alert[] = [];
    for (const r of hook) {
      const expected = `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`;
      expect(r.headers['x-harvester-signature']).toBe(expected);
      const body = JSON.parse(r.body) as { alerts: unknown[] };
      const parsed = body.alerts.map((a) => AlertSchema.parse(a));
      expect(new Set(parsed.map((a) => a.runId)).size).toBe(1);
      seen.push(...parsed);
    }
    // Every alert preview printed, each in one body: nothing lost to the 500s, nothing twice.
    const id = (a: Alert) => `${a.runId}/${a.rule}/${a.key}`;
    expect(seen.map(id).sort()).toEqual(alerts.map(id).sort());
    for (const r of slack) {
      const body = JSON.parse(r.body) as { text: string; blocks: { type: string }[] };
      expect(typeof body.text).toBe('string');
      expect(body.blocks[0]!.type).toBe('header');
      expect(body.blocks.length).toBeLessThanOrEqual(50);
    }
    expect(JSON.parse(res.stdout)).toMatchObject({ sent: 2 * runsWithAlerts.size, failed: 0, refused: 0 });

    // The second send over the same runs delivers nothing.
    const received = sink.received.length;
    const again = await send(from);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ sent: 0, alreadySent: 2 * runsWithAlerts.size });
    expect(sink.received.length).toBe(received);
  }, 120_000);

  it('reports a 4xx without retrying it, and the next send delivers it', async () => {
    const from = await copy('refused');
    const runs = new Set((await preview(from)).map((a) => a.runId)).size;
    const before = sink.received.filter((r) => r.path === '/hook').length;
    sink.failNext('/hook', [{ status: 400, body: 'invalid_payload' }]);
    const first = await send(from, { ALERTS_SLACK_WEBHOOK_URL: `${sink.url}/slack2` });
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/webhook refused run_id=\d+: webhook answered 400: invalid_payload/);
    // Each message asked once: the refused one was not retried.
    expect(sink.received.filter((r) => r.path === '/hook').length - before).toBe(runs);
    const second = await send(from, { ALERTS_SLACK_WEBHOOK_URL: `${sink.url}/slack2` });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ sent: 1, refused: 0 });
  }, 120_000);

  it('folds the runs past ALERTS_MAX_MESSAGES into one digest, under the size limit', async () => {
    const from = await copy('bounded');
    const runs = new Set((await preview(from)).map((a) => a.runId)).size;
    expect(runs).toBeGreaterThan(3);
    const before = sink.delivered('/bounded').length;
    const res = await send(from, {
      ALERTS_MAX_MESSAGES: '3',
      ALERTS_SLACK_WEBHOOK_URL: `${sink.url}/bounded`,
      ALERTS_WEBHOOK_URL: `${sink.url}/bounded-hook`,
    });
    expect(res.code, res.stderr).toBe(0);
    const slack = sink.delivered('/bounded').slice(before);
    expect(slack.length).toBe(3);
    const digest = JSON.parse(slack[2]!.body) as { text: string };
    expect(digest.text).toMatch(new RegExp(`in ${runs - 2} runs`));
    for (const r of slack) expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(32 * 1024);
    const again = await send(from, {
      ALERTS_MAX_MESSAGES: '3',
      ALERTS_SLACK_WEBHOOK_URL: `${sink.url}/bounded`,
      ALERTS_WEBHOOK_URL: `${sink.url}/bounded-hook`,
    });
    expect(JSON.parse(again.stdout)).toMatchObject({ sent: 0 });
  }, 120_000);

  it('refuses to send with no sink, naming the settings (exit 2)', async () => {
    const res = await cli(['alerts', 'send', '--from', harvested], {});
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('ALERTS_SLACK_WEBHOOK_URL is required');
    const unsigned = await cli(['alerts', 'send', '--from', harvested], { ALERTS_WEBHOOK_URL: `${sink.url}/x` });
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toContain('ALERTS_WEBHOOK_URL needs ALERTS_WEBHOOK_SECRET');
  });
});
