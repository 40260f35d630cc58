/**
 * The stored runs lineage reads (README "What is stored"): each whole run (its `_run.json` is
 * stored) of the destination's tree, one at a time in path order (so by day), with the files of each
 * step; and what lineage needs of its `_run.json`, checked with zod.
 * @module
 */
import { z } from 'zod';
import { zodIssues } from '../core/errors.ts';
import { RUN_MARKER } from '../core/paths.ts';
import { dbtId } from '../core/run-model.ts';
import { parseJsonBounded } from '../json/json-scan.ts';
import { readSmall, type ObjectReader } from '../storage/index.ts';
import { eventTime, type RunContext } from './mapping.ts';

const RUN_PATH =
  /^(?:(.*)\/)?date=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/job_id=(\d+)\/run_id=(\d+)\/(?:step=(\d+)\/)?([^/]+)$/;

export interface StoredRunFolder {
  folder: string;
  date: string;
  jobId: number;
  runId: number;
  /** Step -> its files. */
  steps: Map<number, Set<string>>;
}

export interface RunFilter {
  /** Runs finished on or after this day (UTC). */
  since?: Date | undefined;
  jobIds?: readonly number[] | undefined;
}

/** The whole runs of a tree that pass the filter, one at a time, in path order. */
export async function* storedRuns(reader: ObjectReader, filter: RunFilter = {}): AsyncGenerator<StoredRunFolder> {
  const since = filter.since ? filter.since.toISOString().slice(0, 10) : '';
  const jobs = filter.jobIds && filter.jobIds.length > 0 ? new Set(filter.jobIds) : null;
  let current = null as (StoredRunFolder & { complete: boolean }) | null;
  for await (const entry of reader.list('', { sizes: false })) {
    const m = RUN_PATH.exec(entry.path);
    if (!m) continue;
    const [, lead, date, hour, job, run, step, file] = m;
    if (date! < since || (jobs && !jobs.has(Number(job)))) continue;
    const folder = `${lead ? `${lead}/` : ''}date=${date}/hour=${hour}/job_id=${job}/run_id=${run}`;
    if (current?.folder !== folder) {
      if (current?.complete) yield current;
      current = { folder, date: date!, jobId: Number(job), runId: Number(run), steps: new Map(), complete: false };
    }
    if (step === undefined) {
      if (file === RUN_MARKER) current.complete = true;
      continue;
    }
    const files = current.steps.get(Number(step)) ?? new Set<string>();
    files.add(file!);
    current.steps.set(Number(step), files);
  }
  if (current?.complete) yield current;
}

const time = z.string().nullable().optional();

/** What lineage reads of `_run.json` (the dbt Cloud API's run, loosely). */
const StoredRunSchema = z.looseObject({
  id: dbtId,
  account_id: dbtId,
  project_id: dbtId.nullable().optional(),
  job_definition_id: dbtId,
  started_at: time,
  finished_at: z.string(),
  run_steps: z
    .array(z.looseObject({ index: z.number().int(), started_at: time, finished_at: time }))
    .nullable()
    .optional(),
});

export interface StoredRunMeta {
  run: RunContext;
  /** Each step's start and end, by index. */
  steps: Map<number, { startedAt: Date | null; finishedAt: Date | null }>;
}

const dateOf = (text: string | null | undefined): Date | null => {
  const iso = eventTime(text);
  return iso ? new Date(iso) : null;
};

/** A stored run's `_run.json`, read and checked; an error naming what is wrong otherwise. */
export async function readRunMeta(reader: ObjectReader, folder: string): Promise<StoredRunMeta> {
  const path = `${folder}/${RUN_MARKER}`;
  let json: unknown;
  try {
    json = parseJsonBounded(await readSmall(reader, path, 16 * 1024 * 1024));
  } catch (err) {
    throw new Error(`${path} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = StoredRunSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not a dbt Cloud run: ${zodIssues(parsed.error).join('; ')}`);
  const r = parsed.data;
  const finishedAt = dateOf(r.finished_at);
  if (!finishedAt) throw new Error(`${path}: finished_at ${JSON.stringify(r.finished_at)} is not a time`);
  return {
    run: {
      accountId: r.account_id,
      projectId: r.project_id ?? null,
      jobId: r.job_definition_id,
      runId: r.id,
      startedAt: dateOf(r.started_at),
      finishedAt,
    },
    steps: new Map(
      (r.run_steps ?? []).map((s) => [s.index, { startedAt: dateOf(s.started_at), finishedAt: dateOf(s.finished_at) }]),
    ),
  };
}
