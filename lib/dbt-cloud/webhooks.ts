/**
 * dbt Cloud's outbound webhooks: the event it POSTs, and the signature over it.
 *
 * dbt Cloud signs each delivery with the subscription's secret: the `Authorization` header holds the
 * hex HMAC-SHA256 of the raw body (https://docs.getdbt.com/docs/deploy/webhooks, "Validate a webhook").
 * It retries a failed delivery five times (same page). Ids in `data` are strings in the published
 * examples; numbers are accepted too, so that either form works.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { dbtId, dbtTimestamp } from '../core/run-model.ts';

/** The events a run's end raises. `job.run.completed` covers success, error and cancel. */
export const RUN_END_EVENTS = ['job.run.completed', 'job.run.errored'] as const;
export const WEBHOOK_EVENT_TYPES = ['job.run.started', ...RUN_END_EVENTS] as const;

/** An id as the webhook sends it: a decimal string ("278164") or a number. */
export const webhookId = z.union([
  dbtId,
  z
    .string()
    .trim()
    .regex(/^[1-9]\d{0,15}$/, 'must be a positive id')
    .transform(Number)
    .pipe(dbtId),
]);

/** What every event has, whatever its type: enough to decide whether it is for us. */
export const WebhookEnvelopeSchema = z.looseObject({
  accountId: webhookId,
  eventType: z.string().min(1).max(200),
  eventId: z.string().max(200).optional(),
  webhookId: z.string().max(200).optional(),
  timestamp: z.string().max(100).optional(),
  data: z.looseObject({}),
});
export type WebhookEnvelope = z.infer<typeof WebhookEnvelopeSchema>;

const optionalId = webhookId.nullable().optional();
const optionalText = z.string().max(1000).nullable().optional();

/** The `data` of a run event: the run, its job, where it ran and how it ended. */
export const RunEventDataSchema = z.looseObject({
  runId: webhookId,
  jobId: webhookId,
  environmentId: optionalId,
  projectId: optionalId,
  runStatus: optionalText,
  runStatusCode: z
    .union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)])
    .nullable()
    .optional(),
  runStartedAt: optionalText,
  // A finish time the run model accepts, or none: it is only a hint.
  runFinishedAt: z.union([dbtTimestamp, z.literal(''), z.null()]).optional(),
});
export type RunEventData = z.infer<typeof RunEventDataSchema>;

/** The hex HMAC-SHA256 of `body` under `secret`: what dbt Cloud puts in `Authorization`. */
export function signWebhook(secret: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' };

/**
 * Checks `Authorization` against the body's HMAC under `secret`, in constant time. The header is the
 * bare hex digest; a `sha256=` prefix, as some senders add, is tolerated.
 */
export function verifyWebhookSignature(
  secret: string,
  rawBody: Buffer,
  authorization: string | undefined,
): SignatureCheck {
  const text = (authorization ?? '').trim();
  if (text === '') return { ok: false, reason: 'missing' };
  const hex = text.replace(/^sha256=/i, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(hex, 'hex');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(given, expected) ? { ok: true } : { ok: false, reason: 'mismatch' };
}

/** A subscription as the v3 API describes it; job ids come back as strings. */
export const WebhookSubscriptionSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().nullable().optional(),
  description: z.string().nullable().optional(),
  client_url: z.string(),
  event_types: z.array(z.string()).nullable().optional(),
  job_ids: z.array(webhookId).nullable().optional(),
  active: z.boolean().nullable().optional(),
  hmac_secret: z.string().nullable().optional(),
  http_status_code: z.union([z.string(), z.number()]).nullable().optional(),
  account_identifier: z.union([z.string(), z.number()]).nullable().optional(),
});
export type WebhookSubscription = z.infer<typeof WebhookSubscriptionSchema>;

export interface NewWebhookSubscription {
  name: string;
  description?: string;
  client_url: string;
  event_types: readonly string[];
  /** Empty: every job of the account. */
  job_ids: readonly number[];
  active: boolean;
}
