/**
 * Selecting the runs of a window [start, end) from pages listed by `-finished_at`: terminal runs in
 * scope whose finished_at is in the window, every filter checked again here because the server's
 * filtering is not trusted.
 * @module
 */
import type { RunRow } from './run-model.ts';
import { runInScope, type Scope } from './scope.ts';
import { inWindow, type Window } from './time.ts';

export function runMatches(run: RunRow, window: Window, scope: Scope): boolean {
  return run.finished_at != null && runInScope(scope, run) && inWindow(run.finished_at.at, window);
}

/**
 * Consumes pages ordered by finished_at descending and yields the window's runs as they come,
 * newest first, holding one page at a time. Stops paging once a page ends with a run that finished
 * before the start. (The pager drops rows listed twice.)
 */
export async function* selectRuns<T extends RunRow>(
  pages: AsyncIterable<T[]>,
  window: Window,
  scope: Scope,
): AsyncGenerator<T, void, undefined> {
  for await (const page of pages) {
    for (const run of page) if (runMatches(run, window, scope)) yield run;
    const last = page[page.length - 1];
    if (last?.finished_at && last.finished_at.at.getTime() < window.start.getTime()) return;
  }
}
