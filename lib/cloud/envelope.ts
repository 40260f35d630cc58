/**
 * The Pub/Sub push envelope: unwraps the transport (envelope, base64, JSON) and parses the payload
 * with the caller's schema, reporting where in the payload a problem is. Pub/Sub POSTs
 * `{message: {data, attributes, messageId, publishTime}, subscription, deliveryAttempt?}`.
 * @module
 */
import { z } from 'zod';
import { zodIssues } from '../core/errors.ts';
import { parseJsonBounded } from '../json/json-scan.ts';

const PushEnvelopeSchema = z.object({
  message: z.object({
    data: z.string().min(1, 'message.data is empty'),
    attributes: z.record(z.string(), z.string()).nullable().optional(),
    messageId: z.string().optional(),
    message_id: z.string().optional(),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().optional(),
  deliveryAttempt: z.number().int().nullable().optional(),
});

/** What a delivery says about itself, for logs. */
export interface Delivery {
  messageId?: string;
  deliveryAttempt?: number;
  attributes: Record<string, string>;
}

export type Unwrapped<T> =
  | { ok: true; payload: T; delivery: Delivery }
  /** `stage` says which layer was wrong: the envelope, or the message it carries. */
  | { ok: false; stage: 'envelope' | 'message'; details: string[]; delivery: Delivery };

export function unwrapPush<T>(body: unknown, payload: z.ZodType<T>): Unwrapped<T> {
  const envelope = PushEnvelopeSchema.safeParse(body);
  if (!envelope.success)
    return { ok: false, stage: 'envelope', details: zodIssues(envelope.error), delivery: { attributes: {} } };
  const message = envelope.data.message;
  const delivery: Delivery = {
    messageId: message.messageId ?? message.message_id,
    deliveryAttempt: envelope.data.deliveryAttempt ?? undefined,
    attributes: message.attributes ?? {},
  };
  const decoded = decodeBase64(message.data);
  if (!decoded) return { ok: false, stage: 'message', details: ['message.data is not base64'], delivery };
  let json: unknown;
  try {
    json = parseJsonBounded(decoded.toString('utf8'));
  } catch {
    return { ok: false, stage: 'message', details: ['message.data is not base64-encoded JSON'], delivery };
  }
  const parsed = payload.safeParse(json);
  if (!parsed.success)
    return { ok: false, stage: 'message', details: zodIssues(parsed.error, 'message.data'), delivery };
  return { ok: true, payload: parsed.data, delivery };
}

/** Strict base64 (standard or URL alphabet, padding optional) or null. */
export function decodeBase64(text: string): Buffer | null {
  const clean = text.trim();
  if (clean.length === 0 || clean.length % 4 === 1 || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) return null;
  return Buffer.from(clean.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}
