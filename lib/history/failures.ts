/**
 * Why a run failed, in dbt's words: the results of its nodes that did not succeed, read from its
 * stored files (each step's summary.json, then the failed step's run results, streamed). Read by
 * the report for the failed runs it lists, and by the alerts for the runs they tell of.
 * @module
 */
import type { HistoryRow } from '../core/history-row.ts';
import { runDirectory } from '../core/paths.ts';
import { STEP_SUMMARY_FILE, StepSummarySchema, modelOutcome } from '../core/run-facts.ts';
import { readFacts } from '../facts/reader.ts';
import { RunResultsReader } from '../facts/run-results.ts';
import { parseJsonBounded } from '../json/json-scan.ts';
import { readSmall, type ObjectReader } from '../storage/index.ts';

const MAX_SUMMARY_BYTES = 32 * 1024 * 1024;

/** A node's result that was not a success, with dbt's message. */
export interface NodeFailure {
  id: string;
  status: string;
  message: string | null;
}

/**
 * The results of a run's nodes that did not succeed: every step's summary (tests, and models in
 * error), then dbt's messages from the failed step's run results. Read only for a run that failed
 * or has failing tests.
 */
export async function nodeFailures(reader: ObjectReader, row: HistoryRow): Promise<NodeFailure[]> {
  if (row.status !== 'error' && row.failingTests.length === 0) return [];
  const dir = runDirectory({ runId: row.runId, jobId: row.jobId, finishedAt: new Date(row.finishedAt) });
  const byId = new Map<string, NodeFailure>();
  const files: string[] = [];
  for await (const entry of reader.list(`${dir}/`, { sizes: false })) files.push(entry.path);
  const steps = (name: (file: string) => boolean) =>
    files
      .map((path) => ({ path, m: /\/step=(\d+)\/([^/]+)$/.exec(path) }))
      .filter((f) => f.m !== null && name(f.m[2]!))
      .sort((a, b) => Number(a.m![1]) - Number(b.m![1]));
  for (const { path } of steps((f) => f === STEP_SUMMARY_FILE)) {
    const summary = StepSummarySchema.safeParse(parseJsonBounded(await readSmall(reader, path, MAX_SUMMARY_BYTES)));
    if (!summary.success) continue;
    for (const t of summary.data.tests) byId.set(t.id, { id: t.id, status: t.status, message: t.message });
    for (const m of summary.data.models)
      if (modelOutcome(m.status) === 'error') byId.set(m.id, { id: m.id, status: m.status, message: null });
  }
  const failed = row.failedStep?.index;
  const results = steps((f) => f.endsWith('run_results.json')).filter((f) => Number(f.m![1]) === failed);
  for (const { path } of results) {
    const facts = await readFacts(await reader.read(path), new RunResultsReader(path));
    for (const r of facts.results) {
      if (r.message === null && byId.has(r.id)) continue;
      const status = r.status.toLowerCase();
      if (status === 'error' || status === 'fail' || status === 'runtime error' || status === 'warn')
        byId.set(r.id, { id: r.id, status: r.status, message: r.message });
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
