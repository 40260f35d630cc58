/**
 * dispatchHourly: Cloud Scheduler's hourly call. The window is the previous full hour of the
 * *scheduled* time (`X-CloudScheduler-ScheduleTime`), so a late or retried call harvests the same
 * hour; without the header (a person with curl) the clock's.
 * @module
 */
import type { ConfigFor } from '../config/load.ts';
import { hourlyWindow, tryParseTimestamp } from '../core/time.ts';
import type { Logger } from '../log.ts';
import { dispatchDeps, dispatchWindow, type DispatchDeps } from './dispatch.ts';
import { failure, onlyPost, type CloudRequest, type Handler, type Reply } from './http.ts';

export async function handleDispatchHourly(deps: DispatchDeps, req: CloudRequest): Promise<Reply> {
  const refused = onlyPost(req, 'an optional X-CloudScheduler-ScheduleTime header, as Cloud Scheduler sends');
  if (refused) return refused;
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
  return dispatchWindow(deps, hourlyWindow(t), 'hourly');
}

export async function create(config: ConfigFor<'dbtCloud' | 'runsTopic'>, logger: Logger): Promise<Handler> {
  const deps = dispatchDeps(config, logger);
  return (req) => handleDispatchHourly(deps, req);
}
