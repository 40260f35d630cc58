import { z } from 'zod';
import { dbtId, dbtTimestamp } from './dbt-cloud/schemas.ts';

/**
 * The Pub/Sub message of one run, validated on both sides: the dispatchers build it, harvestRun
 * reads it. runId and jobId also travel as the attributes run_id and job_id (for filtering and for
 * reading dead letters).
 */
export const RunMessageSchema = z.object({
  runId: dbtId.refine((n) => n > 0, 'must be positive'),
  jobId: dbtId.optional(),
  finishedAt: dbtTimestamp.optional(),
  source: z.enum(['hourly', 'backfill', 'manual']).optional(),
  window: z.object({ start: z.string(), end: z.string() }).optional(),
});
export type RunMessage = z.infer<typeof RunMessageSchema>;

/** The push envelope Pub/Sub POSTs to a push endpoint. */
export const PushEnvelopeSchema = z.object({
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
export type PushEnvelope = z.infer<typeof PushEnvelopeSchema>;

export function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
}

/** Strict base64 (standard or URL alphabet, padding optional) or null. */
export function decodeBase64(text: string): Buffer | null {
  const clean = text.trim();
  if (clean.length === 0 || clean.length % 4 === 1 || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) return null;
  return Buffer.from(clean.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}
