import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { historyRow, runForRow, type HistoryRow } from '../lib/core/history-row.ts';
import { historyRowPath, runDirectory } from '../lib/core/paths.ts';
import { summarizeStep, type NodeResult, type SourceFreshness } from '../lib/core/run-facts.ts';

/**
 * Histories made for the alert rules: a job's runs, each with the node results and freshness a
 * test chooses, as the harvester stores them (the row under _history/rows/, each step's
 * summary.json, `_run.json`).
 */
export interface MadeRun {
  id: number;
  jobId?: number;
  finishedAt: string;
  status?: 10 | 20;
  nodes?: [id: string, status: string, seconds?: number | null, message?: string | null][];
  sources?: [id: string, status: string, lagSeconds: number][];
}

const node = ([id, status, seconds, message]: NonNullable<MadeRun['nodes']>[number]): NodeResult => ({
  id,
  status,
  seconds: seconds ?? 1,
  bytesProcessed: null,
  slotMs: null,
  message: message ?? null,
});

export function madeRun(r: MadeRun): {
  run: Record<string, unknown>;
  row: HistoryRow;
  steps: ReturnType<typeof summarizeStep>[];
} {
  const status = r.status ?? 10;
  const finished = new Date(r.finishedAt);
  const run = {
    id: r.id,
    job_definition_id: r.jobId ?? 7,
    project_id: 1,
    environment_id: 2,
    status,
    created_at: new Date(finished.getTime() - 600_000).toISOString(),
    started_at: new Date(finished.getTime() - 500_000).toISOString(),
    finished_at: finished.toISOString(),
    href: `https://ab123.us1.dbt.com/deploy/1/projects/1/runs/${r.id}/`,
    job: { name: 'Nightly' },
    trigger: { cause: 'schedule' },
    run_steps: [{ index: 4, name: 'Invoke dbt with `dbt build`', status }],
  };
  const results = { generatedAt: null, elapsedSeconds: 10, results: (r.nodes ?? []).map(node) };
  const sources = r.sources
    ? {
        generatedAt: null,
        results: r.sources.map(
          ([id, s, lag]): SourceFreshness => ({ id, status: s, lagSeconds: lag, maxLoadedAt: null }),
        ),
      }
    : null;
  const row = historyRow(runForRow(run), [
    { index: 4, command: 'build', results, sources, coverage: null, catalog: false },
  ]);
  return { run, row, steps: [summarizeStep({ index: 4, command: 'build' }, results, sources)] };
}

/** Writes the runs into a folder as the harvester would have stored them. */
export async function writeMadeHistory(folder: string, runs: readonly MadeRun[]): Promise<HistoryRow[]> {
  const rows: HistoryRow[] = [];
  const put = async (path: string, text: string) => {
    await mkdir(dirname(join(folder, path)), { recursive: true });
    await writeFile(join(folder, path), text);
  };
  for (const r of runs) {
    const { run, row, steps } = madeRun(r);
    const place = { runId: row.runId, jobId: row.jobId, finishedAt: new Date(row.finishedAt) };
    const dir = runDirectory(place);
    for (const s of steps) await put(`${dir}/step=${s.step_index}/summary.json`, `${JSON.stringify(s)}\n`);
    await put(historyRowPath(place), `${JSON.stringify(row)}\n`);
    await put(`${dir}/_run.json`, `${JSON.stringify(run)}\n`);
    rows.push(row);
  }
  return rows;
}
