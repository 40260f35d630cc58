import { describe, expect, it } from 'vitest';
import { CoverageSummarySchema } from '../../../lib/core/coverage-summary.ts';
import { CoverageFiguresReader } from '../../../lib/facts/coverage-figures.ts';

/** A stored coverage summary read for its figures: what JSON.parse and the schema give, the tables skipped. */
const SUMMARY = {
  schema_version: 2,
  finished_at: '2026-11-01T05:30:00Z',
  job_name: 'Nightly',
  dbt_version: '1.10.4',
  manifest_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json',
  project_name: 'shop',
  generated_at: null,
  models: { total: 3, documented: 2, tested: 1, tests: 4, unit_tests: 0, unit_tested: 0 },
  doc: { covered: 5, total: 9, coverage: 5 / 9 },
  test: { covered: 3, total: 9, coverage: 3 / 9, hits: 4 },
  unit_test: null,
  tables: Array.from({ length: 500 }, (_, i) => ({
    name: `analytics.t${i}`,
    unique_id: `model.shop.t${i}`,
    resource_type: 'model',
    columns: 3,
    documented: 1,
    tested: 1,
    tests: 1,
  })),
  unmatched_tables: ['analytics.gone'],
  computed: true,
};

const read = (text: string, size = 97) => {
  const reader = new CoverageFiguresReader('coverage.json');
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) reader.write(bytes.subarray(i, i + size));
  return reader.finish();
};

describe('CoverageFiguresReader', () => {
  it('gives the figures JSON.parse and the schema give, with the per-table lists left out', () => {
    const expected = CoverageSummarySchema.parse({ ...SUMMARY, tables: [], unmatched_tables: [] });
    expect(read(JSON.stringify(SUMMARY))).toEqual(expected);
    // A repeated key keeps its last value, as JSON.parse does.
    const twice = JSON.stringify(SUMMARY).replace('"doc":', '"doc":{"covered":0,"total":1,"coverage":0},"doc":');
    expect(read(twice).doc).toEqual(SUMMARY.doc);
  });

  it('refuses what is not a summary, and a document of too many values besides the tables', () => {
    expect(() => read('{"schema_version": 7}')).toThrow(/not a coverage summary this version reads/);
    const padded = JSON.stringify({ ...SUMMARY, pad: Array.from({ length: 20_000 }, () => 1) });
    expect(() => read(padded)).toThrow(/more than 10000 values besides the tables/);
  });
});
