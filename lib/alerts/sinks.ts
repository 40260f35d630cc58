/**
 * The sinks, as what each one is sent: a message rendered into one HTTP request in the sink's own
 * format, never over its size limit (alerts that do not fit are counted, "and N more").
 *
 * - generic webhook: `{"alerts": [...], "runs": [...], "omitted": n}`, the alert objects
 *   `alerts preview` prints, signed in `X-Harvester-Signature: sha256=<hex HMAC-SHA256 of the raw
 *   body>`; at most 256 KiB.
 * - Slack incoming webhook: `text` and Block Kit `blocks` (a header, a section per alert, at most
 *   50 blocks, 3,000 characters a section); at most 32 KiB.
 * - Microsoft Teams workflow webhook: an Adaptive Card in a `message`; at most 20 KB (Teams refuses
 *   28 KB).
 * - PagerDuty Events API v2: a `trigger` for a run that failed and a `resolve` for a later success
 *   of the same job, deduplicated per job (`dbt-harvester/job/<id>/run-failed`); at most 512 KB.
 * @module
 */
import { createHmac } from 'node:crypto';
import type { Alert } from '../core/alert.ts';
import { headline, type AlertMessage } from './digest.ts';

export const SINK_NAMES = ['slack', 'teams', 'webhook', 'pagerduty'] as const;
export type SinkName = (typeof SINK_NAMES)[number];

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A sink: its name, and a message as its request (null: nothing to send it for this message). */
export interface AlertSink {
  readonly name: SinkName;
  render(message: AlertMessage): Promise<OutgoingRequest | null>;
}

export const SIZE_LIMITS: Record<SinkName, number> = {
  webhook: 256 * 1024,
  slack: 32 * 1024,
  teams: 20 * 1000,
  pagerduty: 500 * 1000,
};

export const PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * The largest prefix of `alerts` whose body (built by `make` with the count left out) fits in
 * `limit` bytes; at least the body of none.
 */
export function fitting<T>(alerts: readonly Alert[], limit: number, make: (shown: Alert[], omitted: number) => T): T {
  let lo = 0;
  let hi = alerts.length;
  const size = (n: number) => bytes(JSON.stringify(make(alerts.slice(0, n), alerts.length - n)));
  if (size(hi) <= limit) return make([...alerts], 0);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (size(mid) <= limit) lo = mid;
    else hi = mid - 1;
  }
  return make(alerts.slice(0, lo), alerts.length - lo);
}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export function webhookSink(url: string, secret: () => Promise<string>): AlertSink {
  return {
    name: 'webhook',
    render: async (message) => {
      if (message.alerts.length === 0) return null;
      const payload = fitting(message.alerts, SIZE_LIMITS.webhook, (shown, omitted) => ({
        alerts: shown,
        runs: message.runs,
        ...(omitted > 0 ? { omitted } : {}),
      }));
      const body = JSON.stringify(payload);
      return {
        url,
        body,
        headers: {
          'content-type': 'application/json',
          'x-harvester-signature': signature(await secret(), body),
          'x-harvester-delivery': message.key,
        },
      };
    },
  };
}

const slackEscape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

const RULE_ICON: Record<Alert['rule'], string> = {
  'run-failed': ':x:',
  'test-failing': ':warning:',
  'source-stale': ':hourglass:',
  'model-slower': ':turtle:',
};

/** An alert's lines: its summary, and a failed run's node messages. */
function alertLines(a: Alert): string[] {
  const errors = Array.isArray(a.details['errors'])
    ? (a.details['errors'] as { node: string; message: string | null }[])
    : [];
  return [a.summary, ...errors.slice(0, 10).map((e) => `• ${e.node}${e.message ? `: ${e.message}` : ''}`)];
}

function slackBlocks(message: AlertMessage, shown: Alert[], omitted: number): Record<string, unknown> {
  const run = message.runs.length === 1 ? message.runs[0]! : null;
  const link = run?.href ? `<${run.href}|Open run ${run.runId} in dbt Cloud>` : run ? `Run ${run.runId}` : '';
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(headline(message), 150) } },
    ...shown.map((a) => ({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: cut(`${RULE_ICON[a.rule]} *${a.rule}* · ${a.severity}\n${slackEscape(alertLines(a).join('\n'))}`, 3000),
      },
    })),
  ];
  const context = [link, omitted > 0 ? `and ${omitted} more alert${omitted === 1 ? '' : 's'}` : ''].filter(Boolean);
  if (context.length > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return { text: cut(headline(message), 3000), blocks };
}

export function slackSink(url: () => Promise<string>): AlertSink {
  return {
    name: 'slack',
    render: async (message) => {
      if (message.alerts.length === 0) return null;
      // 50 blocks at most: a header, 47 alerts, a context line.
      const first = message.alerts.slice(0, 47);
      const payload = fitting(first, SIZE_LIMITS.slack, (shown, omitted) =>
        slackBlocks(message, shown, omitted + message.alerts.length - first.length),
      );
      return { url: await url(), headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) };
    },
  };
}

function teamsCard(message: AlertMessage, shown: Alert[], omitted: number): Record<string, unknown> {
  const run = message.runs.length === 1 ? message.runs[0]! : null;
  const body: Record<string, unknown>[] = [
    { type: 'TextBlock', size: 'Medium', weight: 'Bolder', wrap: true, text: cut(headline(message), 300) },
    ...shown.map((a) => ({
      type: 'TextBlock',
      wrap: true,
      text: cut(`**${a.rule}** · ${a.severity}\n\n${alertLines(a).join('\n\n')}`, 2000),
    })),
  ];
  if (omitted > 0) body.push({ type: 'TextBlock', wrap: true, isSubtle: true, text: `and ${omitted} more alerts` });
  const content: Record<string, unknown> = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body,
    ...(run?.href ? { actions: [{ type: 'Action.OpenUrl', title: `Open run ${run.runId}`, url: run.href }] } : {}),
  };
  return {
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content }],
  };
}

export function teamsSink(url: () => Promise<string>): AlertSink {
  return {
    name: 'teams',
    render: async (message) => {
      if (message.alerts.length === 0) return null;
      const payload = fitting(message.alerts, SIZE_LIMITS.teams, (shown, omitted) =>
        teamsCard(message, shown, omitted),
      );
      return { url: await url(), headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) };
    },
  };
}

/** PagerDuty's dedup key of a job's failures: the same for every run of the job, so a success resolves it. */
export const pagerDutyDedupKey = (jobId: number): string => `dbt-harvester/job/${jobId}/run-failed`;

export function pagerDutySink(routingKey: () => Promise<string>, url = PAGERDUTY_URL): AlertSink {
  return {
    name: 'pagerduty',
    render: async (message) => {
      if (message.runs.length !== 1) return null;
      const run = message.runs[0]!;
      const failed = message.alerts.find((a) => a.rule === 'run-failed');
      let event: Record<string, unknown>;
      if (failed) {
        event = {
          routing_key: await routingKey(),
          event_action: 'trigger',
          dedup_key: pagerDutyDedupKey(run.jobId),
          payload: {
            summary: cut(failed.summary, 1024),
            source: cut(`dbt Cloud job ${run.jobId}${run.jobName ? ` (${run.jobName})` : ''}`, 255),
            severity: 'error',
            timestamp: run.finishedAt,
            component: `run ${run.runId}`,
            custom_details: fitting(message.alerts, 400_000, (shown, omitted) => ({
              alerts: shown.map((a) => ({ rule: a.rule, summary: a.summary, details: a.details })),
              ...(omitted > 0 ? { omitted } : {}),
            })),
          },
          ...(run.href ? { links: [{ href: run.href, text: `dbt Cloud run ${run.runId}` }] } : {}),
        };
      } else if (message.resolves) {
        event = {
          routing_key: await routingKey(),
          event_action: 'resolve',
          dedup_key: pagerDutyDedupKey(run.jobId),
        };
      } else return null;
      return { url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) };
    },
  };
}
