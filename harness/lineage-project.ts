/**
 * A small dbt project on BigQuery whose artifacts have what lineage reads (database, schema, alias,
 * depends_on, compiled SQL, columns; run results with timing and BigQuery's adapter response; a
 * catalog), served by the fake dbt Cloud in place of its generated bodies (`bodyOf`), so that a
 * harvested window can be exported and checked against what the project is. Two sources, a seed,
 * five models (one aliased, one failing in a failing step, one downstream of it skipped), a
 * snapshot and three tests (one relationships test without attached_node, as before dbt 1.5).
 * @module
 */
import { Readable } from 'node:stream';

export const PROJECT = 'acme-analytics';

interface Table {
  id: string;
  schema: string;
  alias: string;
  dependsOn: string[];
  columns: [string, string][];
}

export const SOURCES: Table[] = [
  { id: 'source.shop.raw.customers', schema: 'raw', alias: 'raw_customers', dependsOn: [], columns: [] },
  { id: 'source.shop.raw.orders', schema: 'raw', alias: 'raw_orders', dependsOn: [], columns: [] },
];
export const SEEDS: Table[] = [
  {
    id: 'seed.shop.country_codes',
    schema: 'shop',
    alias: 'country_codes',
    dependsOn: [],
    columns: [['code', 'STRING']],
  },
];
export const MODELS: Table[] = [
  {
    id: 'model.shop.stg_customers',
    schema: 'staging',
    alias: 'stg_customers',
    dependsOn: ['source.shop.raw.customers'],
    columns: [
      ['customer_id', 'INT64'],
      ['name', 'STRING'],
    ],
  },
  {
    id: 'model.shop.stg_orders',
    schema: 'staging',
    alias: 'stg_orders',
    dependsOn: ['source.shop.raw.orders'],
    columns: [
      ['order_id', 'INT64'],
      ['customer_id', 'INT64'],
      ['amount', 'NUMERIC'],
    ],
  },
  {
    id: 'model.shop.customers',
    schema: 'marts',
    alias: 'dim_customers',
    dependsOn: ['model.shop.stg_customers', 'model.shop.stg_orders', 'seed.shop.country_codes', 'macro.shop.cents'],
    columns: [
      ['customer_id', 'INT64'],
      ['name', 'STRING'],
      ['lifetime_value', 'NUMERIC'],
    ],
  },
  {
    id: 'model.shop.orders',
    schema: 'marts',
    alias: 'orders',
    dependsOn: ['model.shop.stg_orders'],
    columns: [
      ['order_id', 'INT64'],
      ['customer_id', 'INT64'],
    ],
  },
  {
    id: 'model.shop.order_summary',
    schema: 'marts',
    alias: 'order_summary',
    dependsOn: ['model.shop.orders'],
    columns: [
      ['day', 'DATE'],
      ['orders', 'INT64'],
    ],
  },
];
export const SNAPSHOTS: Table[] = [
  {
    id: 'snapshot.shop.customers_snapshot',
    schema: 'snapshots',
    alias: 'customers_snapshot',
    dependsOn: ['model.shop.stg_customers'],
    columns: [],
  },
];
export const TESTS = [
  {
    id: 'test.shop.not_null_customers_customer_id.1a',
    kind: 'not_null',
    column: 'customer_id',
    attached: 'model.shop.customers',
    dependsOn: ['model.shop.customers'],
  },
  {
    id: 'test.shop.unique_orders_order_id.2b',
    kind: 'unique',
    column: 'order_id',
    attached: 'model.shop.orders',
    dependsOn: ['model.shop.orders'],
  },
  {
    id: 'test.shop.relationships_orders_customer_id.3c',
    kind: 'relationships',
    column: 'customer_id',
    attached: null,
    dependsOn: ['model.shop.customers', 'model.shop.orders'],
  },
];

/** The model that fails in a failing step, and the one skipped because of it. */
export const FAILING_MODEL = 'model.shop.orders';
export const SKIPPED_MODEL = 'model.shop.order_summary';

const typeOf = (id: string): string => id.split('.')[0]!;

/** The table name a dataset of this project has in BigQuery's namespace. */
export const tableName = (t: Table): string => `${PROJECT}.${t.schema}.${t.alias}`;
export const byId = new Map([...SOURCES, ...SEEDS, ...MODELS, ...SNAPSHOTS].map((t) => [t.id, t]));

function manifestNode(t: Table): Record<string, unknown> {
  const type = typeOf(t.id);
  const name = t.id.split('.').pop()!;
  return {
    database: PROJECT,
    schema: t.schema,
    name: type === 'source' ? name : name,
    resource_type: type,
    package_name: 'shop',
    unique_id: t.id,
    ...(type === 'source' ? { identifier: t.alias, source_name: 'raw' } : { alias: t.alias }),
    fqn: ['shop', name],
    description: `The ${name} table.`,
    columns: Object.fromEntries(
      t.columns.map(([c]) => [c, { name: c, description: `${c} of ${name}`, data_type: null }]),
    ),
    raw_code: type === 'model' ? `select * from {{ ref('x') }} -- ${'x'.repeat(200)}` : '',
    depends_on: { macros: [], nodes: t.dependsOn },
    ...(type === 'model' || type === 'snapshot'
      ? { compiled: true, compiled_code: `select * from \`${PROJECT}\`.${t.schema}.src_${name}` }
      : {}),
  };
}

export function manifestJson(): string {
  const nodes: Record<string, unknown> = {};
  for (const t of [...SEEDS, ...MODELS, ...SNAPSHOTS]) nodes[t.id] = manifestNode(t);
  for (const t of TESTS)
    nodes[t.id] = {
      database: PROJECT,
      schema: 'dbt_test__audit',
      name: t.id.split('.')[2],
      resource_type: 'test',
      unique_id: t.id,
      config: { severity: 'ERROR' },
      test_metadata: { name: t.kind, kwargs: { column_name: t.column, model: "{{ get_where_subquery(ref('x')) }}" } },
      column_name: t.column,
      ...(t.attached ? { attached_node: t.attached } : {}),
      depends_on: { macros: [], nodes: t.dependsOn },
      compiled_code: 'select 1',
    };
  return JSON.stringify({
    metadata: {
      dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json',
      dbt_version: '1.10.7',
      adapter_type: 'bigquery',
    },
    nodes,
    sources: Object.fromEntries(SOURCES.map((t) => [t.id, manifestNode(t)])),
    macros: { 'macro.shop.cents': { macro_sql: 'x'.repeat(1000) } },
    parent_map: {},
  });
}

/** What a step of this command runs, and how each ends (in a failing step, FAILING_MODEL errors). */
export function stepResults(command: string, failing: boolean): { id: string; status: string }[] {
  const which = command.split(' ')[0]!;
  const models = MODELS.map((m) => ({
    id: m.id,
    status: failing && m.id === FAILING_MODEL ? 'error' : failing && m.id === SKIPPED_MODEL ? 'skipped' : 'success',
  }));
  const seeds = SEEDS.map((s) => ({ id: s.id, status: 'success' }));
  const snapshots = SNAPSHOTS.map((s) => ({ id: s.id, status: 'success' }));
  const tests = TESTS.map((t, i) => ({ id: t.id, status: failing && i === 0 ? 'fail' : 'pass' }));
  if (which === 'seed') return seeds;
  if (which === 'run') return models;
  if (which === 'snapshot') return snapshots;
  if (which === 'test') return tests;
  if (which === 'build') return [...seeds, ...models, ...snapshots, ...tests];
  return [];
}

const micro = (at: Date): string => at.toISOString().replace('Z', '123Z');

export function runResultsJson(command: string, failing: boolean, startedAt: Date): string {
  const which = command === 'docs generate' ? 'generate' : command.split(' ')[0]!;
  const results = stepResults(command, failing).map((r, i) => {
    const start = new Date(startedAt.getTime() + i * 2000);
    const end = new Date(start.getTime() + 1500);
    const ran = r.status !== 'skipped';
    return {
      status: r.status,
      timing: ran
        ? [
            { name: 'compile', started_at: micro(start), completed_at: micro(start) },
            { name: 'execute', started_at: micro(start), completed_at: micro(end) },
          ]
        : [],
      thread_id: 'Thread-1',
      execution_time: 1.5,
      adapter_response: ran
        ? {
            _message: 'CREATE TABLE (10.0 rows, 1.2 KiB processed)',
            code: 'CREATE TABLE',
            rows_affected: 10 + i,
            bytes_processed: 1234,
            location: 'EU',
            project_id: PROJECT,
            job_id: `job_${i}_${startedAt.getTime()}`,
          }
        : {},
      message: r.status === 'error' ? 'Database Error in model orders: Syntax error at [1:8]' : null,
      failures: typeOf(r.id) === 'test' ? (r.status === 'fail' ? 3 : 0) : null,
      unique_id: r.id,
    };
  });
  return JSON.stringify({
    metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/run-results/v6.json', dbt_version: '1.10.7' },
    results,
    elapsed_time: 12.5,
    args: { which },
  });
}

export function catalogJson(): string {
  const table = (t: Table) => ({
    metadata: { type: 'table', schema: t.schema, name: t.alias, database: PROJECT },
    columns: Object.fromEntries(t.columns.map(([c, type], i) => [c, { type, index: i + 1, name: c, comment: null }])),
    stats: { num_rows: { id: 'num_rows', value: 10 } },
    unique_id: t.id,
  });
  return JSON.stringify({
    metadata: { dbt_version: '1.10.7' },
    nodes: Object.fromEntries([...SEEDS, ...MODELS, ...SNAPSHOTS].map((t) => [t.id, table(t)])),
    sources: Object.fromEntries(SOURCES.map((t) => [t.id, table(t)])),
  });
}

/** A step as the fake has it. */
export interface StepOf {
  command: string | null;
  failing: boolean;
  startedAt: Date;
}

/** The fake's `bodyOf`: this project's manifest, run results and catalog for every step of every run. */
export function lineageBodies(stepOf: (runId: number, step: number) => StepOf | undefined) {
  return (runId: number, step: number, file: string): { size: number; open: () => Readable } | undefined => {
    const s = stepOf(runId, step);
    if (!s?.command) return undefined;
    const text =
      file === 'manifest.json'
        ? manifestJson()
        : file === 'run_results.json'
          ? runResultsJson(s.command, s.failing, s.startedAt)
          : file === 'catalog.json'
            ? catalogJson()
            : null;
    if (text === null) return undefined;
    const bytes = Buffer.from(text);
    return { size: bytes.length, open: () => Readable.from([bytes]) };
  };
}
