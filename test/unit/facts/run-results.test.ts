import { describe, expect, it } from 'vitest';
import { ArtifactJsonError, type FactsReader } from '../../../lib/facts/reader.ts';
import { RunResultsReader, SourcesReader } from '../../../lib/facts/run-results.ts';

/** run_results.json and sources.json as dbt writes them, read in any chunks. */
const feed = <T>(reader: FactsReader<T>, text: string, size: number): T => {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) reader.write(bytes.subarray(i, i + size));
  return reader.finish();
};

const RESULTS = JSON.stringify({
  metadata: {
    dbt_schema_version: 'https://schemas.getdbt.com/dbt/run-results/v6.json',
    generated_at: '2026-11-01T10:00:00Z',
  },
  results: [
    {
      status: 'success',
      timing: [{ name: 'execute', started_at: '2026-11-01T09:59:00Z' }],
      thread_id: 'Thread-1',
      execution_time: 12.5,
      adapter_response: {
        _message: 'CREATE TABLE (10.0 rows, 1.2 GiB processed)',
        bytes_processed: 1288490188,
        slot_ms: 4200,
      },
      message: 'CREATE TABLE (10.0 rows, 1.2 GiB processed)',
      failures: null,
      unique_id: 'model.shop.orders',
      compiled_code: 'select "unique_id", "status" from x',
    },
    {
      status: 'fail',
      execution_time: 0.4,
      adapter_response: {},
      message: `Got 3 results, configured to fail if != 0 ${'x'.repeat(500)}`,
      failures: 3,
      unique_id: 'test.shop.not_null_orders_id',
    },
  ],
  elapsed_time: 20.1,
  args: { which: 'build' },
});

const SOURCES = JSON.stringify({
  metadata: { generated_at: '2026-11-01T10:00:00Z' },
  results: [
    {
      unique_id: 'source.shop.raw.orders',
      max_loaded_at: '2026-11-01T08:00:00Z',
      max_loaded_at_time_ago_in_s: 7200.5,
      status: 'pass',
    },
    { unique_id: 'source.shop.raw.payments', status: 'runtime error', error: 'Database error' },
  ],
  elapsed_time: 3,
});

describe('run results and freshness as they stream', () => {
  it.each([1, 13, 4096])('keeps each node’s status, time, cost and message (chunks of %s bytes)', (size) => {
    const facts = feed(new RunResultsReader(), RESULTS, size);
    expect(facts).toEqual({
      generatedAt: '2026-11-01T10:00:00Z',
      schemaVersion: 'https://schemas.getdbt.com/dbt/run-results/v6.json',
      elapsedSeconds: 20.1,
      which: 'build',
      results: [
        {
          id: 'model.shop.orders',
          status: 'success',
          seconds: 12.5,
          bytesProcessed: 1288490188,
          slotMs: 4200,
          message: null,
        },
        {
          id: 'test.shop.not_null_orders_id',
          status: 'fail',
          seconds: 0.4,
          bytesProcessed: null,
          slotMs: null,
          message: `Got 3 results, configured to fail if != 0 ${'x'.repeat(258)}`,
        },
      ],
    });
    expect(feed(new SourcesReader(), SOURCES, size).results).toEqual([
      { id: 'source.shop.raw.orders', status: 'pass', lagSeconds: 7200.5, maxLoadedAt: '2026-11-01T08:00:00Z' },
      { id: 'source.shop.raw.payments', status: 'runtime error', lagSeconds: null, maxLoadedAt: null },
    ]);
  });

  it('refuses a file cut short, and bounds what it keeps', () => {
    expect(() => feed(new RunResultsReader(), RESULTS.slice(0, -10), 64)).toThrow(ArtifactJsonError);
    expect(() => feed(new RunResultsReader('run_results.json', { nodes: 1 }), RESULTS, 64)).toThrow(
      /more than 1 results/,
    );
  });
});
