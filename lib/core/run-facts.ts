/**
 * What a run's own results say, as the history uses them: each node's result in run_results.json
 * (status, execution time, what the adapter reports of its cost) and each source's freshness in
 * sources.json; then, per step, a small summary stored beside the artifacts (summary.json), and the
 * counts the history's contract names.
 *
 * dbt's statuses (https://docs.getdbt.com/reference/artifacts/run-results-json and
 * .../sources-json): models, seeds and snapshots end `success`, `error` or `skipped`; tests and unit
 * tests `pass`, `fail`, `warn`, `error` or `skipped`; a source's freshness `pass`, `warn`, `error`
 * or `runtime error`. A `runtime error` counts as error; `no-op` (dbt 1.9, nothing to run) as skipped.
 * @module
 */
import { z } from 'zod';

/** One node's result in run_results.json. */
export interface NodeResult {
  id: string;
  status: string;
  seconds: number | null;
  /** BigQuery's adapter response: bytes processed and slot milliseconds, where reported. */
  bytesProcessed: number | null;
  slotMs: number | null;
  /** Kept for a result that is not a success (cut to MESSAGE_CHARS). */
  message: string | null;
}

export interface RunResultsFacts {
  generatedAt: string | null;
  elapsedSeconds: number | null;
  results: NodeResult[];
}

/** One source's freshness in sources.json. */
export interface SourceFreshness {
  id: string;
  status: string;
  /** max_loaded_at_time_ago_in_s. */
  lagSeconds: number | null;
  maxLoadedAt: string | null;
}

export interface SourcesFacts {
  generatedAt: string | null;
  results: SourceFreshness[];
}

export const MESSAGE_CHARS = 300;

export type ModelCounts = { success: number; error: number; skipped: number };
export type TestCounts = { pass: number; fail: number; warn: number; error: number; skipped: number };
export type FreshnessCounts = { pass: number; warn: number; error: number };

export const kindOf = (id: string): 'model' | 'test' | 'unit_test' | 'seed' | 'snapshot' | 'other' => {
  const type = id.slice(0, id.indexOf('.'));
  return type === 'model' || type === 'test' || type === 'unit_test' || type === 'seed' || type === 'snapshot'
    ? type
    : 'other';
};

export function modelOutcome(status: string): keyof ModelCounts {
  if (status === 'error' || status === 'runtime error' || status === 'fail') return 'error';
  if (status === 'skipped' || status === 'no-op') return 'skipped';
  return 'success';
}

export function testOutcome(status: string): keyof TestCounts {
  if (status === 'fail' || status === 'warn' || status === 'skipped' || status === 'pass') return status;
  if (status === 'error' || status === 'runtime error') return 'error';
  return status === 'success' ? 'pass' : 'skipped';
}

export function freshnessOutcome(status: string): keyof FreshnessCounts {
  return status === 'pass' ? 'pass' : status === 'warn' ? 'warn' : 'error';
}

const count = z.number().int().nonnegative();
const seconds = z.number().nonnegative().nullable();
export const ModelCountsSchema = z.object({ success: count, error: count, skipped: count });
export const TestCountsSchema = z.object({ pass: count, fail: count, warn: count, error: count, skipped: count });
export const FreshnessCountsSchema = z.object({ pass: count, warn: count, error: count });

const zeroModels = (): ModelCounts => ({ success: 0, error: 0, skipped: 0 });
const zeroTests = (): TestCounts => ({ pass: 0, fail: 0, warn: 0, error: 0, skipped: 0 });
const zeroFreshness = (): FreshnessCounts => ({ pass: 0, warn: 0, error: 0 });

/**
 * summary.json: one JSON line per dbt step with run results or freshness, beside its artifacts.
 * Every model's result (for timings), every test that did not pass, every source's freshness.
 */
export const StepSummarySchema = z.looseObject({
  schema_version: z.literal(1),
  /** The step's index (not `step`: that is a partition key of the BigQuery table over these files). */
  step_index: z.number().int().positive(),
  command: z.string().nullable(),
  generated_at: z.string().nullable(),
  elapsed_seconds: seconds,
  counts: z.object({
    models: ModelCountsSchema,
    tests: TestCountsSchema,
    unit_tests: TestCountsSchema,
    seeds: ModelCountsSchema,
    snapshots: ModelCountsSchema,
    freshness: FreshnessCountsSchema,
  }),
  models: z.array(
    z.object({
      id: z.string(),
      status: z.string(),
      seconds,
      bytes_processed: z.number().nonnegative().nullable(),
      slot_ms: z.number().nonnegative().nullable(),
    }),
  ),
  /** Tests and unit tests that did not pass, with dbt's message. */
  tests: z.array(z.object({ id: z.string(), status: z.string(), message: z.string().nullable() })),
  sources: z.array(
    z.object({
      id: z.string(),
      status: z.string(),
      lag_seconds: seconds,
      max_loaded_at: z.string().nullable(),
    }),
  ),
});
export type StepSummary = z.infer<typeof StepSummarySchema>;

export const STEP_SUMMARY_FILE = 'summary.json';

/** A step's summary from what its run_results.json and sources.json said (either may be absent). */
export function summarizeStep(
  step: { index: number; command: string | null },
  results: RunResultsFacts | null,
  sources: SourcesFacts | null,
): StepSummary {
  const counts = {
    models: zeroModels(),
    tests: zeroTests(),
    unit_tests: zeroTests(),
    seeds: zeroModels(),
    snapshots: zeroModels(),
    freshness: zeroFreshness(),
  };
  const models: StepSummary['models'] = [];
  const tests: StepSummary['tests'] = [];
  for (const r of results?.results ?? []) {
    const kind = kindOf(r.id);
    if (kind === 'model') {
      counts.models[modelOutcome(r.status)]++;
      models.push({
        id: r.id,
        status: r.status,
        seconds: r.seconds,
        bytes_processed: r.bytesProcessed,
        slot_ms: r.slotMs,
      });
    } else if (kind === 'seed' || kind === 'snapshot') counts[`${kind}s`][modelOutcome(r.status)]++;
    else if (kind === 'test' || kind === 'unit_test') {
      const outcome = testOutcome(r.status);
      counts[kind === 'test' ? 'tests' : 'unit_tests'][outcome]++;
      if (outcome !== 'pass') tests.push({ id: r.id, status: r.status, message: r.message });
    }
  }
  for (const s of sources?.results ?? []) counts.freshness[freshnessOutcome(s.status)]++;
  return {
    schema_version: 1,
    step_index: step.index,
    command: step.command,
    generated_at: results?.generatedAt ?? sources?.generatedAt ?? null,
    elapsed_seconds: results?.elapsedSeconds ?? null,
    counts,
    models,
    tests,
    sources: (sources?.results ?? []).map((s) => ({
      id: s.id,
      status: s.status,
      lag_seconds: s.lagSeconds,
      max_loaded_at: s.maxLoadedAt,
    })),
  };
}
