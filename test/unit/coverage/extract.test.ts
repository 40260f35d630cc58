import { describe, expect, it } from 'vitest';
import { computeCoverage, summarize } from '../../../lib/core/coverage.ts';
import {
  CoverageInputError,
  catalogCollector,
  manifestCollector,
  type Collector,
} from '../../../lib/coverage/extract.ts';

/** The streaming read of manifests and catalogs: any chunking, dbt-docs' test rule, and what it refuses. */
const feed = <T>(collector: Collector<T>, text: string, size = text.length): T => {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) collector.write(bytes.subarray(i, i + size));
  return collector.finish();
};

const node = (id: string, extra: Record<string, unknown> = {}) => ({
  unique_id: id,
  resource_type: id.split('.')[0],
  schema: 'Analytics',
  name: id.split('.').pop(),
  original_file_path: `models/${id.split('.').pop()}.sql`,
  ...extra,
});
const test = (id: string, dependsOn: string[], metadata?: Record<string, unknown>, column?: string) => ({
  unique_id: id,
  resource_type: 'test',
  depends_on: { nodes: dependsOn },
  ...(metadata ? { test_metadata: metadata } : {}),
  ...(column !== undefined ? { column_name: column } : {}),
});

const MANIFEST = JSON.stringify({
  metadata: {
    dbt_version: '1.8.7',
    dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json',
    project_name: 'shop',
    generated_at: '2026-11-01T00:00:00Z',
  },
  nodes: {
    'model.shop.orders': node('model.shop.orders', {
      description: 'Orders',
      columns: {
        id: { name: 'ID', description: 'The key' },
        amount: { name: 'amount', description: '' },
        note: { name: 'note', description: ' ' },
      },
    }),
    'model.shop.customers': node('model.shop.customers', {
      description: '',
      columns: { id: { name: 'id', description: null } },
    }),
    'test.shop.unique_orders_id': test(
      'test.shop.unique_orders_id',
      ['model.shop.orders'],
      { name: 'unique', kwargs: { column_name: 'id' } },
      'id',
    ),
    'test.shop.not_null': test('test.shop.not_null', ['model.shop.orders'], {
      name: 'not_null',
      kwargs: { column_name: 'AMOUNT' },
    }),
    'test.shop.accepted': test('test.shop.accepted', ['model.shop.orders'], {
      name: 'accepted_values',
      kwargs: { arg: 'note' },
    }),
    // relationships attaches to the last node it depends on: customers here, not orders.
    'test.shop.rel': test('test.shop.rel', ['model.shop.orders', 'model.shop.customers'], {
      name: 'relationships',
      kwargs: { column_name: 'id', to: "ref('orders')" },
    }),
    'test.shop.singular': test('test.shop.singular', ['model.shop.customers']),
    'test.shop.nothing': test('test.shop.nothing', [], { name: 'unique', kwargs: { column_name: 'id' } }),
  },
  sources: { 'source.shop.raw.payments': node('source.shop.raw.payments', { schema: 'RAW', columns: {} }) },
  macros: { 'macro.x': { text: '{"nodes": "not these"}' } },
});
const CATALOG = JSON.stringify({
  nodes: {
    'model.shop.orders': {
      unique_id: 'model.shop.orders',
      columns: { ID: { name: 'ID' }, AMOUNT: { name: 'AMOUNT' }, NOTE: { name: 'NOTE' }, EXTRA: { name: 'EXTRA' } },
    },
    'model.shop.customers': { unique_id: 'model.shop.customers', columns: { ID: { name: 'ID' } } },
    'test.shop.failures': { unique_id: 'test.shop.failures', columns: { X: { name: 'X' } } },
    'model.shop.ghost': { unique_id: 'model.shop.ghost', columns: { A: { name: 'A' } } },
  },
  sources: { 'source.shop.raw.payments': { unique_id: 'source.shop.raw.payments', columns: { ID: { name: 'id' } } } },
});

describe('reading a manifest and a catalog as they stream', () => {
  it.each([1, 7, 4096, Infinity])('gives the same facts whatever the chunks (%s bytes)', (size) => {
    const manifest = feed(manifestCollector({ tables: true }), MANIFEST, size);
    const catalog = feed(catalogCollector(), CATALOG, size);
    expect(manifest.models).toEqual({ total: 2, documented: 1, tested: 2, tests: 6 });
    expect([manifest.dbtVersion, manifest.projectName]).toEqual(['1.8.7', 'shop']);
    expect(catalog.tables.map((t) => t.uniqueId)).toEqual([
      'source.shop.raw.payments',
      'model.shop.orders',
      'model.shop.customers',
      'model.shop.ghost',
    ]);
    const doc = computeCoverage(manifest, catalog, 'doc');
    // id and note are documented (a description of one space counts, as in dbt-coverage); amount is not.
    expect(doc.tables.map((t) => [t.name, t.covered, t.total])).toEqual([
      ['raw.payments', 0, 1],
      ['analytics.orders', 2, 4],
      ['analytics.customers', 0, 1],
    ]);
    const tested = computeCoverage(manifest, catalog, 'test');
    expect(tested.tables.map((t) => [t.name, t.hits, t.covered])).toEqual([
      ['raw.payments', 0, 0],
      ['analytics.orders', 3, 3],
      ['analytics.customers', 1, 1],
    ]);
    expect(doc.unmatched).toEqual(['model.shop.ghost']);
  });

  it('refuses what is not a whole JSON document, naming the file', () => {
    expect(() => feed(manifestCollector({ tables: false }), MANIFEST.slice(0, 200))).toThrow(CoverageInputError);
    expect(() => feed(manifestCollector({ tables: false }), MANIFEST.slice(0, 200))).toThrow(
      /manifest.json ended before its JSON document did/,
    );
    expect(() => feed(catalogCollector(), '<html>Sign in</html>')).toThrow(
      /catalog.json cannot be read for coverage: it is not a JSON object/,
    );
    expect(() => feed(catalogCollector(), `${CATALOG}\n{"x":1}`)).toThrow(/catalog.json cannot be read for coverage/);
    expect(feed(catalogCollector(), `\n  ${CATALOG}\n\n`).tables).toHaveLength(4);
  });

  it('keeps no table beyond its limit, so memory stays bounded, and then reports no column coverage', () => {
    const manifest = feed(manifestCollector({ tables: true, maxTables: 2 }), MANIFEST);
    expect([manifest.tablesKept, manifest.tables.size]).toEqual([false, 0]);
    const summary = summarize(manifest, feed(catalogCollector(), CATALOG), { finishedAt: null, jobName: null });
    expect([summary.doc, summary.test, summary.models.total]).toEqual([null, null, 2]);
  });

  it('summarizes a step without a catalog from the manifest alone', () => {
    const summary = summarize(feed(manifestCollector({ tables: false }), MANIFEST), null, {
      finishedAt: '2026-11-01 10:00:00+00:00',
      jobName: 'Nightly',
    });
    expect(summary).toMatchObject({
      schema_version: 1,
      finished_at: '2026-11-01 10:00:00+00:00',
      job_name: 'Nightly',
      dbt_version: '1.8.7',
      doc: null,
      test: null,
      tables: [],
      models: { total: 2, documented: 1, tested: 2, tests: 6 },
    });
    // One JSON line, no field named like a partition key of the BigQuery table.
    for (const key of ['date', 'hour', 'job_id', 'run_id', 'step']) expect(Object.keys(summary)).not.toContain(key);
  });
});
