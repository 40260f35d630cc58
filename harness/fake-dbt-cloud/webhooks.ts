/**
 * The fake's outbound webhooks, as dbt Cloud documents them (https://docs.getdbt.com/docs/deploy/webhooks):
 * subscriptions kept by the v3 API (the secret shown once, at creation), and for each run that
 * ends, one signed POST per matching subscription and event (`job.run.completed`, plus
 * `job.run.errored` for a run that errored), retried five times when the answer is not 2xx or too
 * slow. A delivery log lets tests see every attempt.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { signWebhook } from '../../lib/dbt-cloud/webhooks.ts';
import type { FakeAccount, FakeRun } from './model.ts';

export interface FakeSubscription {
  id: string;
  name: string;
  description: string;
  client_url: string;
  event_types: string[];
  job_ids: number[];
  active: boolean;
  hmac_secret: string;
}

export interface Delivery {
  subscriptionId: string;
  eventId: string;
  eventType: string;
  runId: number;
  attempt: number;
  /** The answer's status, or 0 when there was none (refused, reset, too slow). */
  status: number;
  /** When the attempt was sent and answered, ms since the epoch. */
  sentAt: number;
  answeredAt: number;
}

export interface DeliveryOptions {
  /** Ids as strings, as dbt Cloud sends them (default), or as numbers. */
  numericIds?: boolean;
  /** Replace the body after signing it (a body changed in transit). */
  tamper?: (body: string) => string;
  /** Send another signature than the right one (`null`: no Authorization header). */
  signature?: string | null;
}

export interface WebhookSenderOptions {
  /** Waits before the five retries (dbt Cloud does not document them; short by default for tests). */
  retryDelaysMs?: readonly number[];
  /** An answer slower than this counts as failed (dbt Cloud gives up on slow answers). */
  timeoutMs?: number;
}

const RETRIES = 5;

export class FakeWebhooks {
  readonly subscriptions = new Map<string, FakeSubscription>();
  readonly deliveries: Delivery[] = [];
  retryDelaysMs: readonly number[];
  timeoutMs: number;
  /** Count every answer as failed, as when dbt Cloud stops waiting before it arrives: each event is sent six times. */
  answersLost = false;
  private readonly pending = new Set<Promise<void>>();
  private seq = 0;

  private readonly account: FakeAccount;

  constructor(account: FakeAccount, options: WebhookSenderOptions = {}) {
    this.account = account;
    this.retryDelaysMs = options.retryDelaysMs ?? [200, 400, 800, 1600, 3200];
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  create(body: Record<string, unknown>): FakeSubscription {
    const sub: FakeSubscription = {
      id: `wsu_${randomBytes(8).toString('hex')}`,
      name: String(body['name']),
      description: typeof body['description'] === 'string' ? body['description'] : '',
      client_url: String(body['client_url']),
      event_types: (body['event_types'] as string[] | undefined) ?? [],
      job_ids: ((body['job_ids'] as unknown[] | undefined) ?? []).map(Number),
      active: body['active'] !== false,
      hmac_secret: randomBytes(20).toString('hex'),
    };
    this.subscriptions.set(sub.id, sub);
    return sub;
  }

  /** A subscription as the API shows it after creation: job ids as strings, no secret. */
  static view(sub: FakeSubscription, withSecret = false): Record<string, unknown> {
    const { hmac_secret, job_ids, ...rest } = sub;
    return {
      ...rest,
      job_ids: job_ids.map(String),
      http_status_code: '0',
      account_identifier: 'act_fake',
      ...(withSecret ? { hmac_secret } : {}),
    };
  }

  /** The event dbt Cloud sends for a run, as the text it signs. */
  eventBody(
    run: FakeRun,
    eventType: string,
    sub: FakeSubscription,
    options: DeliveryOptions = {},
  ): { eventId: string; body: string } {
    const acct = this.account;
    const job = acct.job(run.jobId);
    const env = acct.environments.find((e) => e.id === run.environmentId)!;
    const status = acct.statusOf(run);
    const id = (n: number): string | number => (options.numericIds ? n : String(n));
    const seconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const eventId = `wev_${randomBytes(12).toString('hex')}${++this.seq}`;
    const event = {
      accountId: acct.accountId,
      webhookId: sub.id,
      eventId,
      // Nanosecond-ish digits, as in the published example.
      timestamp: new Date().toISOString().replace(/Z$/, '60617Z'),
      eventType,
      webhookName: sub.name,
      data: {
        jobId: id(run.jobId),
        jobName: job.name,
        runId: id(run.id),
        environmentId: id(run.environmentId),
        environmentName: env.name,
        dbtVersion: '1.8.0-latest',
        projectName: 'Analytics',
        projectId: id(run.projectId),
        runStatus: status === 10 ? 'Success' : status === 30 ? 'Cancelled' : 'Errored',
        runStatusCode: status,
        runStatusMessage: status === 10 ? 'None' : 'Database Error in model',
        runReason: run.cause,
        runStartedAt: seconds(run.startedAt),
        runFinishedAt: seconds(run.finishedAt),
      },
    };
    return { eventId, body: JSON.stringify(event) };
  }

  /** Sends the events of a run that ended to every matching subscription; resolves when sent (retries go on). */
  runEnded(run: FakeRun, options: DeliveryOptions = {}): void {
    const status = this.account.statusOf(run);
    const events = ['job.run.completed', ...(status === 20 ? ['job.run.errored'] : [])];
    for (const sub of this.subscriptions.values()) {
      if (!sub.active || (sub.job_ids.length > 0 && !sub.job_ids.includes(run.jobId))) continue;
      for (const eventType of events) {
        if (!sub.event_types.includes(eventType)) continue;
        const { eventId, body } = this.eventBody(run, eventType, sub, options);
        this.track(this.deliver(sub, run.id, eventType, eventId, body, options));
      }
    }
  }

  /** One signed POST of `body`, retried five times. */
  send(
    sub: FakeSubscription,
    runId: number,
    eventType: string,
    eventId: string,
    body: string,
    options: DeliveryOptions = {},
  ): Promise<void> {
    return this.track(this.deliver(sub, runId, eventType, eventId, body, options));
  }

  /** Waits until every delivery in flight, retries included, is done. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<void>): Promise<void> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private async deliver(
    sub: FakeSubscription,
    runId: number,
    eventType: string,
    eventId: string,
    body: string,
    options: DeliveryOptions,
  ): Promise<void> {
    const signature = options.signature === undefined ? signWebhook(sub.hmac_secret, body) : options.signature;
    const sent = options.tamper ? options.tamper(body) : body;
    for (let attempt = 1; attempt <= 1 + RETRIES; attempt++) {
      const sentAt = Date.now();
      let status = 0;
      try {
        const res = await fetch(sub.client_url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...(signature === null ? {} : { Authorization: signature }) },
          body: sent,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        status = res.status;
        await res.arrayBuffer().catch(() => undefined);
      } catch {
        status = 0;
      }
      this.deliveries.push({
        subscriptionId: sub.id,
        eventId,
        eventType,
        runId,
        attempt,
        status,
        sentAt,
        answeredAt: Date.now(),
      });
      if (status >= 200 && status < 300 && !this.answersLost) return;
      if (attempt <= RETRIES)
        await new Promise((r) =>
          setTimeout(r, this.retryDelaysMs[attempt - 1] ?? this.retryDelaysMs[this.retryDelaysMs.length - 1] ?? 1000),
        );
    }
  }
}
