/**
 * coverage.json: the coverage summary stored beside each dbt step's artifacts (one JSON line, a
 * fixed schema BigQuery reads), as the run model knows it: what the harvester writes, and what the
 * history reads back. The figures themselves are dbt-coverage's, computed in lib/coverage/.
 * @module
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();
const ratio = z.number().min(0).max(1);
const notMore = (c: { covered: number; total: number }): boolean => c.covered <= c.total;
const covering = z
  .object({ covered: count, total: count, coverage: ratio.nullable() })
  .refine(notMore, 'covered is more than total');
const hitting = z
  .object({ covered: count, total: count, coverage: ratio.nullable(), hits: count })
  .refine(notMore, 'covered is more than total');

/**
 * coverage.json: one JSON line per dbt step with a manifest, fixed schema (BigQuery reads it). The
 * one declaration of it: the harvester writes what it infers, and the history reads stored ones
 * through it, so a summary whose figures are out of range (a coverage of 7.5) is refused, not drawn.
 * Version 1 summaries (before unit tests were counted) read as well: their unit-test figures are
 * null.
 */
export const CoverageSummarySchema = z.looseObject({
  schema_version: z.union([z.literal(1), z.literal(2)]),
  /** The run's finished_at, and its job's name, for series over time. */
  finished_at: z.string().nullable(),
  job_name: z.string().nullable(),
  dbt_version: z.string().nullable(),
  manifest_schema_version: z.string().nullable(),
  project_name: z.string().nullable(),
  generated_at: z.string().nullable(),
  models: z.object({
    total: count,
    documented: count,
    tested: count,
    tests: count,
    unit_tests: count.optional(),
    unit_tested: count.optional(),
  }),
  /** Null when the step has no catalog. */
  doc: covering.nullable(),
  test: hitting.nullable(),
  unit_test: hitting.nullable().optional(),
  /** Per table, both coverages; empty without a catalog. */
  tables: z.array(
    z.object({
      name: z.string(),
      unique_id: z.string(),
      resource_type: z.enum(['source', 'model', 'seed', 'snapshot']),
      columns: count,
      documented: count,
      tested: count,
      tests: count,
      unit_tests: count.optional(),
    }),
  ),
  unmatched_tables: z.array(z.string()),
});
export type CoverageSummary = z.infer<typeof CoverageSummarySchema>;

export const COVERAGE_FILE = 'coverage.json';
