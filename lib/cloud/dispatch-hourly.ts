/**
 * dispatchHourly: Cloud Scheduler's hourly call. The window is the previous full hour of the
 * *scheduled* time (`X-CloudScheduler-ScheduleTime`), so a late or retried call harvests the same
 * hour; without the header (a person with curl) the clock's. Scheduler sends no body; a caller may
 * send `{"dryRun": true}` to have the hour's runs listed and nothing published (`deploy verify`
 * does, to prove the deployed function reads its token and reaches dbt Cloud).
 * @module
 */
import { z } from 'zod';
import type { ConfigFor } from '../config/load.ts';
import { zodIssues } from '../core/errors.ts';
import { hourlyWindow, tryParseTimestamp } from '../core/time.ts';
import type { Logger } from '../log.ts';
import { dispatchDeps, dispatchWindow, type DispatchDeps } from './dispatch.ts';
import { failure, jsonBody, onlyPost, type CloudRequest, type Handler, type Reply } from './http.ts';

export const DispatchHourlySchema = z.object({ dryRun: z.boolean().optional() }).strict();

export async function handleDispatchHourly(deps: DispatchDeps, req: CloudRequest): Promise<Reply> {
  const expect =
    'an optional X-CloudScheduler-ScheduleTime header, as Cloud Scheduler sends, and an optional JSON body {dryRun}';
  const refused = onlyPost(req, expect);
  if (refused) return refused;
  let dryRun = false;
  if (req.rawBody.toString('utf8').trim() !== '') {
    const read = jsonBody(req, expect, { typeOptional: true });
    if ('reply' in read) return read.reply;
    const parsed = DispatchHourlySchema.safeParse(read.body);
    if (!parsed.success) return failure(400, 'invalid dispatch request', zodIssues(parsed.error));
    dryRun = parsed.data.dryRun ?? false;
  }
  const scheduleTime = req.header('X-CloudScheduler-ScheduleTime');
  let t: Date;
  if (scheduleTime !== undefined && scheduleTime !== '') {
    const parsed = tryParseTimestamp(scheduleTime);
    if (!parsed)
      return failure(400, 'invalid X-CloudScheduler-ScheduleTime', [
        `"${scheduleTime.slice(0, 64)}" is not an RFC 3339 time`,
      ]);
    t = parsed;
  } else {
    t = new Date(deps.now());
  }
  return dispatchWindow(deps, hourlyWindow(t), 'hourly', { dryRun });
}

export async function create(config: ConfigFor<'dbtCloud' | 'runsTopic'>, logger: Logger): Promise<Handler> {
  const deps = dispatchDeps(config, logger);
  return (req) => handleDispatchHourly(deps, req);
}
