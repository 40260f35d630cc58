/**
 * backfill: people and tools POST `{start, end, jobIds?, dryRun?}` and the window's runs are
 * published like an hour's. Bad input is answered 400 `{error, details}` and nothing is published.
 * @module
 */
import { z } from 'zod';
import type { ConfigFor } from '../config/load.ts';
import { zodIssues } from '../core/errors.ts';
import { timeSchema } from '../core/time.ts';
import type { Logger } from '../log.ts';
import { dispatchDeps, dispatchWindow, type DispatchDeps } from './dispatch.ts';
import { failure, jsonBody, onlyPost, type CloudRequest, type Handler, type Reply } from './http.ts';

export const BackfillSchema = z
  .object({
    start: timeSchema,
    end: timeSchema,
    jobIds: z.array(z.number().int().positive().refine(Number.isSafeInteger)).max(1000).optional(),
    dryRun: z.boolean().optional(),
  })
  .strict();

/** How long dbt Cloud keeps run history (dbt-cloud-api.md: Runs). */
export const RUN_RETENTION_DAYS = 365;

export interface BackfillDeps extends DispatchDeps {
  maxDays: number;
}

export async function handleBackfill(deps: BackfillDeps, req: CloudRequest): Promise<Reply> {
  const expect = 'a JSON body {start, end, jobIds?, dryRun?}';
  const refused = onlyPost(req, expect);
  if (refused) return refused;
  const read = jsonBody(req, expect);
  if ('reply' in read) return read.reply;
  const parsed = BackfillSchema.safeParse(read.body);
  if (!parsed.success) return failure(400, 'invalid backfill request', zodIssues(parsed.error));
  const { start, end } = parsed.data;
  const details: string[] = [];
  if (start.getTime() >= end.getTime())
    details.push(`start (${start.toISOString()}) must be before end (${end.toISOString()})`);
  if (end.getTime() - start.getTime() > deps.maxDays * 86_400_000)
    details.push(`the window is longer than ${deps.maxDays} days (BACKFILL_MAX_DAYS); split it`);
  // dbt Cloud keeps runs 365 days: an older window holds nothing, and listing back to it would page
  // through the account's whole history.
  const oldest = deps.now() - RUN_RETENTION_DAYS * 86_400_000;
  if (start.getTime() < oldest)
    details.push(
      `start (${start.toISOString()}) is older than dbt Cloud's run retention of ${RUN_RETENTION_DAYS} days: start at ${new Date(oldest).toISOString()} or later`,
    );
  if (details.length > 0) return failure(400, 'invalid backfill request', details);
  return dispatchWindow(deps, { start, end }, 'backfill', {
    jobIds: parsed.data.jobIds,
    dryRun: parsed.data.dryRun ?? false,
  });
}

export async function create(config: ConfigFor<'dbtCloud' | 'runsTopic'>, logger: Logger): Promise<Handler> {
  const deps: BackfillDeps = { ...dispatchDeps(config, logger), maxDays: config.backfillMaxDays };
  return (req) => handleBackfill(deps, req);
}
