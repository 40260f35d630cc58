import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../../lib/alerts/digest.ts';
import {
  SIZE_LIMITS,
  pagerDutyDedupKey,
  pagerDutySink,
  slackSink,
  teamsSink,
  webhookSink,
} from '../../../lib/alerts/sinks.ts';
import type { Alert } from '../../../lib/core/alert.ts';

/** Each sink's message: its format, and never over its size limit, whatever a run holds. */
const run = {
  runId: 42,
  jobId: 7,
  jobName: 'Nightly',
  status: 'error' as const,
  finishedAt: '2026-10-01T06:00:00.000Z',
  href: 'https://ab123.us1.dbt.com/deploy/1/projects/1/runs/42/',
};
const alert = (i: number, rule: Alert['rule'] = 'test-failing'): Alert => ({
  rule,
  runId: 42,
  jobId: 7,
  jobName: 'Nightly',
  severity: 'error',
  summary: `Nightly (job 7): test t${i} fails (new in run 42): ${'x'.repeat(200)}`,
  finishedAt: run.finishedAt,
  href: run.href,
  key: rule === 'run-failed' ? 'run' : `test:test.p.t${i}`,
  details: rule === 'run-failed' ? { errors: [{ node: 'model.p.a', status: 'error', message: 'boom <b>' }] } : {},
});
const huge: AlertMessage = {
  key: 'run_id=42',
  runs: [run],
  alerts: [alert(0, 'run-failed'), ...Array.from({ length: 3000 }, (_, i) => alert(i + 1))],
};
const fixed = (value: string) => async () => value;

describe('sinks', () => {
  it('keeps a run of 3,001 alerts under every limit, saying how many were left out', async () => {
    const slack = (await slackSink(fixed('https://hooks.slack.com/services/T/B/X')).render(huge))!;
    const blocks = (JSON.parse(slack.body) as { blocks: { type: string; text?: { text: string } }[] }).blocks;
    expect(Buffer.byteLength(slack.body)).toBeLessThanOrEqual(SIZE_LIMITS.slack);
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(blocks[1]!.text!.text).toContain('boom &lt;b&gt;');
    expect(JSON.stringify(blocks.at(-1))).toMatch(/and \d+ more alerts/);

    const teams = (await teamsSink(fixed('https://example.webhook.office.com/x')).render(huge))!;
    expect(Buffer.byteLength(teams.body)).toBeLessThanOrEqual(20_000);
    const card = JSON.parse(teams.body) as {
      type: string;
      attachments: { contentType: string; content: { type: string } }[];
    };
    expect(card.type).toBe('message');
    expect(card.attachments[0]).toMatchObject({
      contentType: 'application/vnd.microsoft.card.adaptive',
      content: { type: 'AdaptiveCard' },
    });
    expect(teams.body).toMatch(/and \d+ more alerts/);

    const hook = (await webhookSink('https://example.com/hook', fixed('k'.repeat(32))).render(huge))!;
    expect(Buffer.byteLength(hook.body)).toBeLessThanOrEqual(SIZE_LIMITS.webhook);
    const body = JSON.parse(hook.body) as { alerts: Alert[]; omitted: number };
    expect(body.alerts.length + body.omitted).toBe(3001);
    expect(hook.headers['x-harvester-signature']).toBe(
      `sha256=${createHmac('sha256', 'k'.repeat(32)).update(hook.body).digest('hex')}`,
    );
  });

  it('PagerDuty: a failed run triggers, a later success of the job resolves, with one dedup key per job', async () => {
    const pd = pagerDutySink(fixed('R'.repeat(32)));
    const trigger = JSON.parse((await pd.render(huge))!.body) as Record<string, unknown>;
    expect(trigger).toMatchObject({
      routing_key: 'R'.repeat(32),
      event_action: 'trigger',
      dedup_key: 'dbt-harvester/job/7/run-failed',
      payload: { severity: 'error', source: 'dbt Cloud job 7 (Nightly)' },
    });
    expect((trigger['payload'] as { summary: string }).summary.length).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(JSON.stringify(trigger))).toBeLessThan(512 * 1024);
    const ok = { ...run, runId: 43, status: 'success' as const };
    const resolve = JSON.parse((await pd.render({ key: 'run_id=43', runs: [ok], alerts: [], resolves: ok }))!.body);
    expect(resolve).toEqual({ routing_key: 'R'.repeat(32), event_action: 'resolve', dedup_key: pagerDutyDedupKey(7) });
    // A run with tests failing but not failed itself pages nobody.
    expect(await pd.render({ key: 'run_id=44', runs: [{ ...run, status: 'success' }], alerts: [alert(1)] })).toBeNull();
  });
});
