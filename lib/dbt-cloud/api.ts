/**
 * The dbt Cloud API's envelope and error bodies: what wraps the run model on the wire.
 * @module
 */
import { z } from 'zod';
import { parseJsonBounded } from '../json/json-scan.ts';

export const StatusBlock = z.looseObject({
  code: z.number().int().optional(),
  is_success: z.boolean().optional(),
  user_message: z.string().nullable().optional(),
  developer_message: z.string().nullable().optional(),
});

export function envelope<T extends z.ZodType>(data: T) {
  return z.looseObject({
    status: StatusBlock.optional(),
    data,
    extra: z
      .looseObject({
        pagination: z.looseObject({ count: z.number().int(), total_count: z.number().int() }).optional(),
      })
      .nullable()
      .optional(),
  });
}

export const ArtifactListSchema = envelope(z.array(z.string()).nullable());

/** Error bodies are enveloped inconsistently; this reads what it can and never fails. */
export function userMessageOf(body: string): string | null {
  let parsed: unknown;
  try {
    parsed = parseJsonBounded(body);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object') return null;
  const record = parsed as Record<string, unknown>;
  const status = StatusBlock.safeParse(record['status']);
  const parts: string[] = [];
  if (status.success && status.data.user_message) parts.push(status.data.user_message);
  if (typeof record['detail'] === 'string') parts.push(record['detail']);
  const data = record['data'];
  if (typeof data === 'string' && data) parts.push(data);
  else if (data && typeof data === 'object' && !Array.isArray(data)) {
    const fieldErrors = Object.entries(data as Record<string, unknown>)
      .filter(([, v]) => typeof v === 'string' || Array.isArray(v))
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
    if (fieldErrors.length > 0 && fieldErrors.length <= 10) parts.push(fieldErrors.join('; '));
  }
  return parts.length > 0 ? parts.join(' - ').slice(0, 500) : null;
}
