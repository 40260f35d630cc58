/**
 * The run model every layer shares: a dbt Cloud run with its steps, job and statuses, as the API
 * describes it. Objects are loose: unknown fields are kept, so that `_run.json` stays the full API
 * answer. Ids are JS numbers (they passed 2^31 in 2024).
 * @module
 */
import { z } from 'zod';
import { timestampSchema } from './time.ts';

/** One rule for ids everywhere: a positive whole number JavaScript holds exactly. */
export const dbtId = z
  .number()
  .int()
  .positive('must be a positive id')
  .refine(Number.isSafeInteger, 'id is not a safe integer');

/** dbt Cloud's timestamps, parsed once into a Timestamp (its text kept, to store the run as it came). */
export const dbtTimestamp = timestampSchema;

export const RunStatus = {
  Queued: 1,
  Starting: 2,
  Running: 3,
  Success: 10,
  Error: 20,
  Cancelled: 30,
} as const;
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

/** What selecting a window's runs needs of a run: its ids, its status, when it finished. */
const RUN_ROW = {
  id: dbtId,
  project_id: dbtId,
  environment_id: dbtId,
  job_definition_id: dbtId,
  status: z.number().int(),
  finished_at: dbtTimestamp.nullable().optional(),
};

export const RunSchema = z.looseObject({
  ...RUN_ROW,
  account_id: dbtId,
  created_at: dbtTimestamp,
  artifacts_saved: z.boolean().optional(),
  git_sha: z.string().nullable().optional(),
  git_branch: z.string().nullable().optional(),
  run_steps: z.array(RunStepSchema).nullable().optional(),
  job: JobSchema.nullable().optional(),
  trigger: z.looseObject({}).nullable().optional(),
  environment: z.looseObject({}).nullable().optional(),
});
export type Run = z.infer<typeof RunSchema>;

/**
 * A listed run, cut to what selecting a window needs, and nothing more: a long listing keeps no
 * more of each row than this.
 */
export const RunRowSchema = z.object(RUN_ROW);
export type RunRow = z.infer<typeof RunRowSchema>;
