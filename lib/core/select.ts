/**
 * Selecting the runs of a window [start, end) from pages listed by `-finished_at`: terminal runs
 * (success, error; cancelled only when asked) whose finished_at is in the window, every filter
 * checked again here because the server's filtering is not trusted.
 * @module
 */
import { RunStatus, type RunRow } from './run.ts';
import { inWindow, parseTimestamp, type Window } from './time.ts';

export interface RunFilter {
  projectId?: number;
  environmentId?: number;
  jobIds?: readonly number[];
  includeCancelled?: boolean;
}

/** The configured scope of a harvest: project, environment, jobs and whether cancelled runs count. */
export function scopeOf(config: {
  projectId?: number;
  environmentId?: number;
  jobIds?: readonly number[];
  includeCancelled: boolean;
}): RunFilter {
  return {
    projectId: config.projectId,
    environmentId: config.environmentId,
    jobIds: config.jobIds,
    includeCancelled: config.includeCancelled,
  };
}

export function wantedStatuses(filter: RunFilter): number[] {
  return filter.includeCancelled
    ? [RunStatus.Success, RunStatus.Error, RunStatus.Cancelled]
    : [RunStatus.Success, RunStatus.Error];
}

/** The configured project, environment, jobs and statuses, whatever the time. */
export function inScope(run: RunRow, filter: RunFilter): boolean {
  if (!wantedStatuses(filter).includes(run.status)) return false;
  if (filter.projectId !== undefined && run.project_id !== filter.projectId) return false;
  if (filter.environmentId !== undefined && run.environment_id !== filter.environmentId) return false;
  if (filter.jobIds && filter.jobIds.length > 0 && !filter.jobIds.includes(run.job_definition_id)) return false;
  return true;
}

export function runMatches(run: RunRow, window: Window, filter: RunFilter): boolean {
  if (!run.finished_at || !inScope(run, filter)) return false;
  return inWindow(parseTimestamp(run.finished_at, 'finished_at'), window);
}

/**
 * Consumes pages ordered by finished_at descending and yields the window's runs as they come,
 * newest first, holding one page at a time. Stops paging once a page ends with a run that finished
 * before the start. (The pager drops rows listed twice.)
 */
export async function* selectRuns<T extends RunRow>(
  pages: AsyncIterable<T[]>,
  window: Window,
  filter: RunFilter,
): AsyncGenerator<T, void, undefined> {
  for await (const page of pages) {
    for (const run of page) if (runMatches(run, window, filter)) yield run;
    const last = page[page.length - 1];
    if (last?.finished_at && parseTimestamp(last.finished_at, 'finished_at').getTime() < window.start.getTime()) return;
  }
}
