import { describe, expect, it } from 'vitest';
import { jsonOf } from '../../json-oracle.ts';
import { computeCoverage, summarize, type CoverageType, type ManifestFacts } from '../../../lib/coverage/coverage.ts';
import { reportJson } from '../../../lib/coverage/coverage-report.ts';
import { CatalogReader } from '../../../lib/facts/catalog.ts';
import { ManifestReader } from '../../../lib/facts/manifest.ts';
import { ArtifactJsonError, FactsBoundError, type FactsReader } from '../../../lib/facts/reader.ts';
import { seededRandom as random } from '../../../harness/fake-dbt-cloud/prng.ts';

/** The streaming read of manifests and catalogs: any chunking, dbt-coverage's rules, bounds, and what it refuses. */
const feed = <T>(reader: FactsReader<T>, text: string | Buffer, size = text.length): T => {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  for (let i = 0; i < bytes.length; i += size) reader.write(bytes.subarray(i, i + size));
  return reader.finish();
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
      raw_code: 'select "columns", {"nodes": 1} from x -- a manifest is mostly SQL',
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
  unit_tests: {
    'unit_test.shop.orders.t1': { resource_type: 'unit_test', depends_on: { nodes: ['model.shop.orders'] } },
    'unit_test.shop.orders.t2': { resource_type: 'unit_test', depends_on: { nodes: ['model.shop.orders'] } },
  },
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
  it.each([1, 7, 4096, Number.POSITIVE_INFINITY])('gives the same facts whatever the chunks (%s bytes)', (size) => {
    const manifest = feed(new ManifestReader(), MANIFEST, size);
    const catalog = feed(new CatalogReader(), CATALOG, size);
    expect(manifest.models).toEqual({ total: 2, documented: 1, tested: 2, tests: 6, unitTests: 2, unitTested: 1 });
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
    const unit = computeCoverage(manifest, catalog, 'unit-test');
    expect(unit.tables.map((t) => [t.name, t.hits, t.covered, t.total])).toEqual([
      ['analytics.orders', 2, 1, 1],
      ['analytics.customers', 0, 0, 1],
    ]);
    expect(doc.unmatched).toEqual(['model.shop.ghost']);
  });

  it('refuses what is not one whole JSON document, naming the file and the byte', () => {
    expect(() => feed(new ManifestReader(), MANIFEST.slice(0, 200))).toThrow(ArtifactJsonError);
    expect(() => feed(new ManifestReader(), MANIFEST.slice(0, 200))).toThrow(
      /manifest.json is not a whole JSON document: the document ended before its JSON value did/,
    );
    expect(() => feed(new CatalogReader(), '<html>Sign in</html>')).toThrow(
      /catalog.json is not a whole JSON document: not JSON: expected a JSON value, found "<" \(at byte 0\)/,
    );
    expect(() => feed(new CatalogReader(), `${CATALOG}\n{"x":1}`)).toThrow(/nothing after the end of the document/);
    expect(feed(new CatalogReader(), `\n  ${CATALOG}\n\n`).tables).toHaveLength(4);
  });

  it('stops keeping facts past its bounds and says which, while the document is still checked whole', () => {
    expect(() => feed(new CatalogReader('catalog.json', { tables: 3 }), CATALOG)).toThrow(
      /catalog.json: facts not read, more than 3 tables/,
    );
    expect(() => feed(new ManifestReader('manifest.json', { nodes: 5 }), MANIFEST)).toThrow(FactsBoundError);
    expect(() => feed(new CatalogReader('catalog.json', { columns: 4 }), CATALOG)).toThrow(/more than 4 columns/);
    // A 20 MiB number where a name is read: a bound, not a document error; a 20 MiB one nobody reads: nothing.
    const big = '9'.repeat(20 * 1024 * 1024);
    const read = MANIFEST.replace('"schema":"RAW"', `"schema":${big}`);
    expect(() => feed(new ManifestReader(), read, 1 << 20)).toThrow(/longer than 65536 bytes/);
    const skipped = MANIFEST.replace('"text":"{\\"nodes\\": \\"not these\\"}"', `"text":${big}`);
    expect(feed(new ManifestReader(), skipped, 1 << 20).models.total).toBe(2);
  });

  it('reads for one measure only what it needs: the same report, the other measures’ nodes passed by', () => {
    const catalog = feed(new CatalogReader(), CATALOG);
    const whole = feed(new ManifestReader(), MANIFEST);
    const same = (a: ManifestFacts, b: ManifestFacts, covType: CoverageType) =>
      reportJson(computeCoverage(a, catalog, covType)) === reportJson(computeCoverage(b, catalog, covType));
    for (const covType of ['doc', 'test', 'unit-test'] as const) {
      const one = feed(new ManifestReader('manifest.json', {}, { measure: covType }), MANIFEST, 7);
      expect(same(one, whole, covType)).toBe(true);
    }
    // A test's argument too long to read stops every measure that reads tests, and no other.
    const big = '9'.repeat(20 * 1024 * 1024);
    const heavy = MANIFEST.replace('"kwargs":{"arg":"note"}', `"kwargs":{"arg":${big}}`);
    expect(() => feed(new ManifestReader(), heavy, 1 << 20)).toThrow(/longer than 65536 bytes/);
    expect(() => feed(new ManifestReader('manifest.json', {}, { measure: 'test' }), heavy, 1 << 20)).toThrow(
      /longer than 65536 bytes/,
    );
    for (const covType of ['doc', 'unit-test'] as const) {
      const one = feed(new ManifestReader('manifest.json', {}, { measure: covType }), heavy, 1 << 20);
      expect(same(one, whole, covType)).toBe(true);
    }
  });

  it('summarizes a step without a catalog from the manifest alone', () => {
    const summary = summarize(feed(new ManifestReader(), MANIFEST), null, {
      finishedAt: '2026-11-01 10:00:00+00:00',
      jobName: 'Nightly',
    });
    expect(summary).toMatchObject({
      schema_version: 2,
      finished_at: '2026-11-01 10:00:00+00:00',
      job_name: 'Nightly',
      dbt_version: '1.8.7',
      doc: null,
      test: null,
      unit_test: null,
      tables: [],
      models: { total: 2, documented: 1, tested: 2, tests: 6, unit_tests: 2, unit_tested: 1 },
    });
    // One JSON line, no field named like a partition key of the BigQuery table.
    for (const key of ['date', 'hour', 'job_id', 'run_id', 'step']) expect(Object.keys(summary)).not.toContain(key);
  });

  it('without a catalog to come, keeps no table or column and gives the same summary', () => {
    const lean = feed(new ManifestReader('manifest.json', {}, { tables: false }), MANIFEST);
    const full = feed(new ManifestReader(), MANIFEST);
    expect(lean.tables.size).toBe(0);
    expect(lean.tests.size).toBe(0);
    expect(full.tables.size).toBeGreaterThan(0);
    const meta = { finishedAt: null, jobName: null };
    expect(summarize(lean, null, meta)).toEqual(summarize(full, null, meta));
  });
});

// ---- against a reference: dbt-coverage's rules applied to what JSON.parse builds ----------------

type Json = Record<string, unknown>;

/**
 * dbt-coverage 0.4.2's figures, written from its documented rules over whole parsed documents:
 * per table name, [hits, covered, total] for each coverage type.
 */
function reference(manifest: Json, catalog: Json, covType: CoverageType): [string, number, number, number][] {
  const nodes = {
    ...(manifest.sources as Json),
    ...(manifest.nodes as Json),
    ...((manifest.unit_tests as Json) ?? {}),
  };
  const tables = new Map<string, { name: string; documented: Map<string, boolean> }>();
  const tests = new Map<string, Map<string, number>>();
  const units = new Map<string, number>();
  for (const n of Object.values(nodes) as Json[]) {
    const type = n.resource_type as string;
    if (['source', 'model', 'seed', 'snapshot'].includes(type)) {
      const documented = new Map<string, boolean>();
      for (const c of Object.values(n.columns as Json) as Json[])
        documented.set((c.name as string).toLowerCase(), c.description != null && c.description !== '');
      tables.set(n.unique_id as string, { name: `${n.schema}.${n.name}`.toLowerCase(), documented });
    } else if (type === 'test' && 'test_metadata' in n) {
      const deps = (n.depends_on as Json).nodes as string[];
      if (deps.length === 0) continue;
      const meta = n.test_metadata as Json;
      const table = meta.name === 'relationships' ? deps[deps.length - 1]! : deps[0]!;
      const kwargs = meta.kwargs as Json;
      const column = (n.column_name || kwargs.column_name || kwargs.arg) as string | undefined;
      if (!column) continue;
      const per = tests.get(table) ?? new Map<string, number>();
      tests.set(table, per);
      per.set(column.toLowerCase(), (per.get(column.toLowerCase()) ?? 0) + 1);
    } else if (type === 'unit_test') {
      const deps = (n.depends_on as Json).nodes as string[];
      if (deps.length === 1) units.set(deps[0]!, (units.get(deps[0]!) ?? 0) + 1);
    }
  }
  const catalogNodes = Object.entries({ ...(catalog.sources as Json), ...(catalog.nodes as Json) }).filter(
    ([k]) => !k.startsWith('test.'),
  );
  const buckets = new Map<string, Map<string, string[]>>(
    ['source', 'model', 'seed', 'snapshot'].map((t) => [t, new Map()]),
  );
  for (const [, t] of catalogNodes as [string, Json][]) {
    const id = t.unique_id as string;
    const columns = new Map<string, true>();
    for (const c of Object.values(t.columns as Json) as Json[]) columns.set((c.name as string).toLowerCase(), true);
    buckets.get(id.split('.')[0]!)!.set(id, [...columns.keys()]);
  }
  const out = new Map<string, [string, number, number, number]>();
  for (const [type, bucket] of buckets) {
    if (covType === 'unit-test' && type !== 'model') continue;
    for (const [id, columns] of bucket) {
      const t = tables.get(id)!;
      if (covType === 'unit-test') {
        const hits = units.get(id) ?? 0;
        out.set(t.name, [t.name, hits, hits > 0 ? 1 : 0, 1]);
        continue;
      }
      let hits = 0;
      let covered = 0;
      for (const c of columns) {
        const h = covType === 'doc' ? (t.documented.get(c) ? 1 : 0) : (tests.get(id)?.get(c) ?? 0);
        hits += h;
        if (h > 0) covered++;
      }
      out.set(t.name, [t.name, hits, covered, columns.length]);
    }
  }
  return [...out.values()];
}

/** A random project dbt-coverage reads without stopping: tables, columns in mixed case, tests of every shape. */
function randomProject(r: () => number): { manifest: Json; catalog: Json } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const columnNames = ['id', 'ID', 'Id', 'name', 'amount', 'é_col', 'a"b', 'x\\y', 'créé', 'sku'];
  const descriptions = [null, '', ' ', 'documented', 0, false, {}, [], 'x'.repeat(50)];
  const types = ['model', 'model', 'seed', 'snapshot', 'source'] as const;
  const tables: Json[] = Array.from({ length: 1 + Math.floor(r() * 6) }, (_, i) => {
    const type = pick(types);
    const columns: Json = {};
    for (let c = Math.floor(r() * 5); c > 0; c--) {
      const name = pick(columnNames);
      columns[`${name}${c}`] = { name, ...(r() < 0.8 ? { description: pick(descriptions) } : {}), data_type: null };
    }
    return {
      unique_id: `${type}.p.t${i}`,
      resource_type: type,
      schema: pick(['Main', 'raw', 'STAGING']),
      name: pick([`t${i}`, `T${i}`, 'same']),
      original_file_path: pick(['models/a.sql', './models/b/c.sql', 'seeds//d.csv', 'x.sql']),
      config: { enabled: true, tags: ['a', { b: [1, 2.5e3, null] }] },
      raw_code: 'select 1 -- "columns": {"name": "not a column"}',
      columns,
    };
  });
  const ids = tables.map((t) => t.unique_id as string);
  const candidate = () => pick([undefined, null, '', 'id', 'ID', 'amount', 'Name', 'zzz']);
  const nodes: Json = {};
  const sources: Json = {};
  for (const t of tables) (t.resource_type === 'source' ? sources : nodes)[t.unique_id as string] = t;
  for (let i = Math.floor(r() * 8); i > 0; i--) {
    const deps = Array.from({ length: Math.floor(r() * 3) }, () => pick(ids));
    const kwargs: Json = {};
    const kc = candidate();
    if (kc !== undefined) kwargs.column_name = kc;
    const ka = candidate();
    if (ka !== undefined) kwargs.arg = ka;
    const column = candidate();
    nodes[`test.p.t${i}`] = {
      unique_id: `test.p.t${i}`,
      resource_type: 'test',
      depends_on: { macros: ['macro.x'], nodes: deps },
      ...(r() < 0.8 ? { test_metadata: { name: pick(['unique', 'relationships', 'not_null']), kwargs } } : {}),
      ...(column !== undefined ? { column_name: column } : {}),
    };
  }
  const unitTests: Json = {};
  const models = ids.filter((id) => id.startsWith('model.'));
  for (let i = Math.floor(r() * 4); i > 0 && models.length > 0; i--)
    unitTests[`unit_test.p.u${i}`] = { resource_type: 'unit_test', depends_on: { nodes: [pick(models)] } };
  const catalogNodes: Json = {};
  const catalogSources: Json = {};
  for (const t of tables) {
    if (r() < 0.2) continue;
    const columns: Json = {};
    for (let c = Math.floor(r() * 6); c > 0; c--) {
      const name = pick(columnNames);
      columns[name] = { type: 'TEXT', index: c, name, comment: null };
    }
    (t.resource_type === 'source' ? catalogSources : catalogNodes)[t.unique_id as string] = {
      metadata: { type: 'BASE TABLE' },
      unique_id: t.unique_id,
      columns,
      stats: {},
    };
  }
  catalogNodes['test.p.failures'] = { unique_id: 'test.p.failures', columns: { X: { name: 'X' } } };
  return {
    manifest: { metadata: { dbt_version: '1.9.0' }, nodes, sources, unit_tests: unitTests, macros: {} },
    catalog: { nodes: catalogNodes, sources: catalogSources },
  };
}

describe('the readers against dbt-coverage’s rules on JSON.parse', () => {
  it('give dbt-coverage’s figures on 2,000 random projects, in random chunks and layouts', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const r = random(seed);
      const { manifest, catalog } = randomProject(r);
      const indent = [0, 0, 1, 2][Math.floor(r() * 4)];
      const chunk = 1 + Math.floor(r() * 300);
      const m = feed(new ManifestReader(), JSON.stringify(manifest, null, indent), chunk);
      const c = feed(new CatalogReader(), JSON.stringify(catalog, null, indent), chunk);
      for (const covType of ['doc', 'test', 'unit-test'] as const) {
        const ours = computeCoverage(m, c, covType).tables.map((t) => [t.name, t.hits, t.covered, t.total]);
        expect(ours, `seed ${seed} ${covType}`).toEqual(reference(manifest, catalog, covType));
      }
    }
  });

  it('refuse exactly the corrupted documents JSON.parse refuses, with ArtifactJsonError', () => {
    let refused = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const r = random(seed);
      const bytes = Buffer.from(JSON.stringify(randomProject(r).manifest));
      const at = Math.floor(r() * bytes.length);
      const corrupted =
        r() < 0.5
          ? bytes.subarray(0, at)
          : Buffer.concat([
              bytes.subarray(0, at),
              Buffer.from([[0x22, 0x7b, 0x5d, 0x2c, 0x5c, 0x01][seed % 6]!]),
              bytes.subarray(at),
            ]);
      let valid = true;
      try {
        jsonOf(corrupted);
      } catch {
        valid = false;
      }
      const read = () => feed(new ManifestReader(), corrupted, 1 + Math.floor(r() * 64));
      if (valid) expect(read, `seed ${seed}`).not.toThrow(ArtifactJsonError);
      else {
        refused++;
        expect(read, `seed ${seed}`).toThrow(ArtifactJsonError);
      }
    }
    expect(refused).toBeGreaterThan(2000);
  });
});

describe('fields read by type', () => {
  it('passes by what the node type does not need, and refuses the facts of a node that changes type', () => {
    // A test's schema, name and path are not read; a model's dependencies are not.
    const fine = `{"nodes": {"test.p.t": {"resource_type": "test", "schema": 7, "name": [], "unique_id": "test.p.t", "depends_on": {"nodes": ["model.p.a"]}}, "model.p.a": {"resource_type": "model", "depends_on": 3, "unique_id": "model.p.a", "schema": "S", "name": "A", "description": "x"}}}`;
    expect(feed(new ManifestReader(), fine).models).toMatchObject({ total: 1, documented: 1, tests: 1, tested: 1 });
    // resource_type given twice (JSON keeps the later): a model whose schema was passed by as a test's.
    const twice = `{"nodes": {"x": {"resource_type": "test", "schema": "s", "resource_type": "model", "unique_id": "model.p.x"}}}`;
    expect(() => feed(new ManifestReader(), twice)).toThrow(FactsBoundError);
    expect(() => feed(new ManifestReader(), twice)).toThrow(/resource_type twice/);
    // Given twice but nothing passed by: read as JSON.parse reads it.
    const harmless = `{"nodes": {"x": {"resource_type": "test", "resource_type": "model", "unique_id": "model.p.x", "schema": "s"}}}`;
    expect(feed(new ManifestReader(), harmless).tables.get('model.p.x')?.name).toBe('s.none');
    // For doc coverage alone, the rest of a test node is passed whole once its type is read; a
    // second resource_type is still seen, and a type that needs what was passed refuses the facts.
    const doc = (text: string) => feed(new ManifestReader('manifest.json', {}, { measure: 'doc' }), text, 5);
    const testThenModel = `{"nodes": {"x": {"resource_type": "test", "resource_type": "model", "unique_id": "model.p.x"}}}`;
    expect(() => doc(testThenModel)).toThrow(/resource_type twice/);
    expect(feed(new ManifestReader(), testThenModel).tables.has('model.p.x')).toBe(true);
    const testTwice = `{"nodes": {"t": {"resource_type": "test", "unique_id": 1, "depends_on": [], "resource_type": "test"}, "model.p.m": {"unique_id": "model.p.m", "resource_type": "model", "schema": "s", "name": "m"}}}`;
    expect([...doc(testTwice).tables.keys()]).toEqual(['model.p.m']);
  });
});

describe('a key given twice (JSON keeps its last value)', () => {
  it('takes a table given twice as JSON.parse keeps it (the later); refuses a test given twice, whose first attachment is counted', () => {
    const model = `"model.p.a": {"unique_id": "model.p.a", "resource_type": "model", "description": ""}, "model.p.a": {"unique_id": "model.p.a", "resource_type": "model", "description": "x"}`;
    expect(feed(new ManifestReader(), `{"nodes": {${model}}}`).models).toMatchObject({ total: 1, documented: 1 });
    const test = `"test.p.t": {"unique_id": "test.p.t", "resource_type": "test", "depends_on": {"nodes": ["model.p.a"]}}`;
    expect(() => feed(new ManifestReader(), `{"nodes": {${model}, ${test}, ${test}}}`)).toThrow(
      /repeats the key "test\.p\.t": JSON keeps its last value, and the facts of the first are already counted, so none are read/,
    );
  });

  it("reads a node's repeated fields as JSON.parse does: each field's last value, never the two merged", () => {
    // The issue's case: a model whose "columns" key appears twice, the second time {}.
    const text = `{"nodes": {"model.p.a": {"unique_id": "model.p.a", "resource_type": "model", "schema": "s", "name": "a", "description": "d", "columns": {"id": {"name": "id", "description": "the id"}, "x": {"name": "x", "description": "an x"}}, "columns": {}}}}`;
    const tables = feed(new ManifestReader(), text).tables;
    expect([...tables.get('model.p.a')!.documented]).toEqual([]);
    const parsed = JSON.parse(text) as { nodes: Record<string, { columns: object }> };
    expect(parsed.nodes['model.p.a']!.columns).toEqual({});
    // A test's metadata and dependencies given twice: the later.
    const twice = `{"nodes": {"model.p.a": {"unique_id": "model.p.a", "resource_type": "model", "schema": "s", "name": "a", "columns": {"id": {"name": "id"}}}, "model.p.b": {"unique_id": "model.p.b", "resource_type": "model", "schema": "s", "name": "b", "columns": {"id": {"name": "id"}}}, "test.p.t": {"unique_id": "test.p.t", "resource_type": "test", "test_metadata": {"name": "not_null", "kwargs": {"column_name": "id"}}, "depends_on": {"nodes": ["model.p.a"]}, "test_metadata": {"name": "unique", "kwargs": {"arg": "x"}}, "depends_on": {"nodes": ["model.p.b"]}}}}`;
    const facts = feed(new ManifestReader(), twice);
    expect([...facts.tests.keys()]).toEqual(['model.p.b']);
    expect([...facts.tests.get('model.p.b')!]).toEqual([['x', 1]]);
  });

  it('refuses a manifest or catalog whose root repeats a section, which cannot be taken back once counted', () => {
    const node = `{"unique_id": "model.p.a", "resource_type": "model", "schema": "s", "name": "a"}`;
    expect(() => feed(new ManifestReader(), `{"nodes": {"model.p.a": ${node}}, "nodes": {}}`)).toThrow(
      /the manifest repeats the key "nodes"/,
    );
    const table = `{"unique_id": "model.p.a", "columns": {"ID": {"name": "ID"}}}`;
    expect(() => feed(new CatalogReader(), `{"nodes": {"model.p.a": ${table}}, "nodes": {}}`)).toThrow(
      /the catalog repeats the key "nodes"/,
    );
    // A table's columns given twice: the later.
    const columns = `{"nodes": {"model.p.a": {"unique_id": "model.p.a", "columns": {"ID": {"name": "ID"}}, "columns": {"NAME": {"name": "NAME"}}}}}`;
    expect(feed(new CatalogReader(), columns).tables[0]!.columns).toEqual(['name']);
  });
});

describe('bounds counted as the facts are read', () => {
  it('stops one table at its column bound, and the distinct names at theirs, with the bound named', () => {
    const columns = (n: number, prefix = 'c') =>
      Array.from({ length: n }, (_, i) => `"${prefix}${i}": {"name": "${prefix}${i}"}`).join(', ');
    const oneTable = `{"nodes": {"model.p.a": {"unique_id": "model.p.a", "columns": {${columns(50)}}}}}`;
    expect(() => feed(new CatalogReader('catalog.json', { tableColumns: 40 }), oneTable, 64)).toThrow(FactsBoundError);
    expect(() => feed(new CatalogReader('catalog.json', { tableColumns: 40 }), oneTable)).toThrow(
      /more than 40 columns in one table/,
    );
    const tables = `{"nodes": {${[0, 1, 2]
      .map((t) => `"model.p.t${t}": {"unique_id": "model.p.t${t}", "columns": {${columns(10, `t${t}_`)}}}`)
      .join(', ')}}}`;
    expect(() => feed(new CatalogReader('catalog.json', { names: 25 }), tables)).toThrow(
      /more than 25 distinct column names/,
    );
    expect(feed(new CatalogReader('catalog.json', { names: 30 }), tables).tables).toHaveLength(3);
  });
});
