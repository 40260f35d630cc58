import { z } from 'zod';
import { tryParseTimestamp } from '../time.ts';

/**
 * Schemas of the dbt Cloud answers this project relies on. Objects are loose: unknown fields are
 * kept, so that `_run.json` stays the full API answer. Ids are JS numbers (they passed 2^31 in 2024).
 */
export const dbtId = z.number().int().nonnegative().refine(Number.isSafeInteger, 'id is not a safe integer');

export const dbtTimestamp = z
  .string()
  .refine((s) => tryParseTimestamp(s) !== null, 'not a timestamp dbt Cloud sends');

export const RunStatus = {
  Queued: 1,
  Starting: 2,
  Running: 3,
  Success: 10,
  Error: 20,
  Cancelled: 30,
} as const;
export type RunStatusCode = (typeof RunStatus)[keyof typeof RunStatus];
export const TERMINAL_STATUSES: readonly number[] = [RunStatus.Success, RunStatus.Error, RunStatus.Cancelled];

export function statusName(status: number): string {
  const entry = Object.entries(RunStatus).find(([, code]) => code === status);
  return entry ? entry[0] : `status ${status}`;
}

export const RunStepSchema = z.looseObject({
  id: dbtId,
  run_id: dbtId.optional(),
  index: z.number().int().positive(),
  name: z.string(),
  status: z.number().int().optional(),
});
export type RunStep = z.infer<typeof RunStepSchema>;

export const JobSchema = z.looseObject({
  id: dbtId,
  name: z.string(),
  project_id: dbtId,
  environment_id: dbtId,
  execute_steps: z.array(z.string()).default([]),
  generate_docs: z.boolean().optional(),
  run_generate_sources: z.boolean().optional(),
});
export type Job = z.infer<typeof JobSchema>;

export const RunSchema = z.looseObject({
  id: dbtId,
  account_id: dbtId,
  project_id: dbtId,
  environment_id: dbtId,
  job_definition_id: dbtId,
  status: z.number().int(),
  created_at: dbtTimestamp,
  finished_at: dbtTimestamp.nullable().optional(),
  artifacts_saved: z.boolean().optional(),
  git_sha: z.string().nullable().optional(),
  git_branch: z.string().nullable().optional(),
  run_steps: z.array(RunStepSchema).nullable().optional(),
  job: JobSchema.nullable().optional(),
  trigger: z.looseObject({}).nullable().optional(),
  environment: z.looseObject({}).nullable().optional(),
});
export type Run = z.infer<typeof RunSchema>;

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
    parsed = JSON.parse(body);
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
