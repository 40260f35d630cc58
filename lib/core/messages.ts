/**
 * The Pub/Sub message of one run: the dispatchers and the webhook receiver build it from values
 * already parsed, and harvestRun parses it where it enters, its finishedAt into a Timestamp. runId
 * and jobId also travel as the attributes run_id and job_id (for filtering and for reading dead
 * letters).
 * @module
 */
import { z } from 'zod';
import { dbtId, dbtTimestamp, type Run } from './run-model.ts';
import { formatWindow, type Window } from './time.ts';

export const RUN_MESSAGE_SOURCES = ['hourly', 'backfill', 'webhook', 'manual'] as const;

export const RunMessageSchema = z.object({
  runId: dbtId,
  jobId: dbtId.optional(),
  finishedAt: dbtTimestamp.optional(),
  source: z.enum(RUN_MESSAGE_SOURCES).optional(),
  window: z.object({ start: z.string(), end: z.string() }).optional(),
});
export type RunMessage = z.infer<typeof RunMessageSchema>;

/** The message of one listed run: what harvestRun needs to find it, and to recognise it stored. */
export function messageFor(
  run: Pick<Run, 'id' | 'job_definition_id' | 'finished_at'>,
  window: Window,
  source: RunMessage['source'],
): RunMessage {
  return {
    runId: run.id,
    jobId: run.job_definition_id,
    ...(run.finished_at ? { finishedAt: run.finished_at } : {}),
    source,
    window: formatWindow(window),
  };
}

/** Pub/Sub attributes of a run message, for subscription filters and for reading dead letters. */
export function messageAttributes(m: RunMessage): Record<string, string> {
  return {
    run_id: String(m.runId),
    ...(m.jobId !== undefined ? { job_id: String(m.jobId) } : {}),
    source: m.source ?? 'manual',
  };
}
