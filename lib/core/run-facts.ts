/**
 * What a run's own results say, as the history uses them: each node's result in run_results.json
 * (status, execution time, what the adapter reports of its cost) and each source's (and model's)
 * freshness in sources.json or freshness.json; then, per step, a small summary stored beside the
 * artifacts (summary.json), and the counts the history's contract names.
 *
 * dbt's statuses (https://docs.getdbt.com/reference/artifacts/run-results-json and
 * .../sources-json, .../freshness-json): models, seeds and snapshots end `success`, `error` or
 * `skipped`; tests and unit tests `pass`, `fail`, `warn`, `error` or `skipped`; a freshness check
 * `pass`, `warn`, `error` or `runtime error` (Fusion writes `Pass`, `Warn`, `Error`). A
 * `runtime error` counts as error.
 *
 * Nodes that did no work are neither successes with a time of zero nor failures, and count on
 * their own, out of every timing: `no-op` (dbt 1.10's exposures and saved queries in `dbt build`)
 * and `reused` (dbt State's state-aware orchestration, which reuses a model, or a test that passed
 * on the same data: Fusion writes `reused` for both, dbt 1.12 has the status for plugins).
 *
 * Only what was executed counts: `dbt compile`, `docs generate`, `show` and the like list every
 * node they compiled in run_results.json with status `success`; and a test listed with `success`
 * (a test compiled, not run: `failures` and `message` null, `adapter_response` {}) was not executed
 * (OpenMetadata #26785; dbt's own run-results docs show executed tests as `pass`).
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
  /** metadata.dbt_schema_version, where read. */
  schemaVersion?: string | null;
  elapsedSeconds: number | null;
  /** `args.which`: the command dbt says wrote the file (`run`, `compile`, `generate`, ...), where it says. */
  which?: string | null;
  results: NodeResult[];
}

/** One source's (or, from freshness.json, model's) freshness. */
export interface SourceFreshness {
  id: string;
  status: string;
  /** max_loaded_at_time_ago_in_s. */
  lagSeconds: number | null;
  maxLoadedAt: string | null;
}

export interface SourcesFacts {
  generatedAt: string | null;
  /** metadata.dbt_schema_version, where read. */
  schemaVersion?: string | null;
  results: SourceFreshness[];
}

export const MESSAGE_CHARS = 300;

export type ModelCounts = { success: number; error: number; skipped: number; noop: number; reused: number };
export type TestCounts = { pass: number; fail: number; warn: number; error: number; skipped: number; reused: number };
export type FreshnessCounts = { pass: number; warn: number; error: number };

export const kindOf = (id: string): 'model' | 'test' | 'unit_test' | 'seed' | 'snapshot' | 'other' => {
  const type = id.slice(0, id.indexOf('.'));
  return type === 'model' || type === 'test' || type === 'unit_test' || type === 'seed' || type === 'snapshot'
    ? type
    : 'other';
};

export function modelOutcome(status: string): keyof ModelCounts {
  if (status === 'error' || status === 'runtime error' || status === 'fail') return 'error';
  if (status === 'no-op') return 'noop';
  if (status === 'reused') return 'reused';
  if (status === 'skipped') return 'skipped';
  return 'success';
}

/** A test's outcome, or null for a test that was listed but not executed (status `success`). */
export function testOutcome(status: string): keyof TestCounts | null {
  if (status === 'fail' || status === 'warn' || status === 'skipped' || status === 'pass' || status === 'reused')
    return status;
  if (status === 'error' || status === 'runtime error') return 'error';
  if (status === 'success') return null;
  return status === 'no-op' ? 'skipped' : 'error';
}

/** Whether a model's time is a time it worked: not for nodes that did no work or failed to start. */
export const timed = (status: string): boolean => {
  const outcome = modelOutcome(status);
  return outcome === 'success' || outcome === 'error';
};

export function freshnessOutcome(status: string): keyof FreshnessCounts {
  const s = status.toLowerCase();
  return s === 'pass' ? 'pass' : s === 'warn' ? 'warn' : 'error';
}

/** Commands whose run_results.json lists nodes compiled or catalogued, not executed, by sub-command or its token. */
const NOT_EXECUTING = new Set(['compile', 'docs generate', 'docs_generate', 'generate', 'show', 'parse', 'list', 'ls']);

/** Whether a step's results are executions: by its command, and by the `args.which` of its run_results. */
export const executed = (command: string | null | undefined, which?: string | null): boolean =>
  !(command && NOT_EXECUTING.has(command)) && !(which && NOT_EXECUTING.has(which.replace(/-/g, ' ')));

const count = z.number().int().nonnegative();
const seconds = z.number().nonnegative().nullable();
/** Counts stored before no-op and reused nodes counted apart read as zero of them. */
const since = count.default(0);
export const ModelCountsSchema = z.object({ success: count, error: count, skipped: count, noop: since, reused: since });
export const TestCountsSchema = z.object({
  pass: count,
  fail: count,
  warn: count,
  error: count,
  skipped: count,
  reused: since,
});
export const FreshnessCountsSchema = z.object({ pass: count, warn: count, error: count });

export const zeroModels = (): ModelCounts => ({ success: 0, error: 0, skipped: 0, noop: 0, reused: 0 });
export const zeroTests = (): TestCounts => ({ pass: 0, fail: 0, warn: 0, error: 0, skipped: 0, reused: 0 });
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

/**
 * A step's summary from what its run_results.json and its freshness (freshness.json, else
 * sources.json) said (either may be absent). The results of a step that executed nothing (compile,
 * docs generate) are not counted, nor listed.
 */
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
  const ran = executed(step.command, results?.which);
  for (const r of ran ? (results?.results ?? []) : []) {
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
      if (outcome === null) continue;
      counts[kind === 'test' ? 'tests' : 'unit_tests'][outcome]++;
      if (outcome !== 'pass' && outcome !== 'reused') tests.push({ id: r.id, status: r.status, message: r.message });
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
