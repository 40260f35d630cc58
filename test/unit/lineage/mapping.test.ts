import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAILING_MODEL,
  MODELS,
  SKIPPED_MODEL,
  TESTS,
  byId,
  catalogJson,
  manifestJson,
  runResultsJson,
  tableName,
} from '../../../harness/lineage-project.ts';
import { exportLineage } from '../../../lib/lineage/lineage-export.ts';
import { LineageManifestReader } from '../../../lib/lineage/lineage-manifest.ts';
import { JsonLinesFile } from '../../../lib/lineage/lineage-sink.ts';
import { eventTime } from '../../../lib/lineage/mapping.ts';
import { eventProblems, type RunEvent } from '../../../lib/lineage/openlineage.ts';
import { jobRunId, uuidV5 } from '../../../lib/lineage/run-ids.ts';
import { LocalFolder } from '../../../lib/storage/local.ts';

const PRODUCER = 'https://www.npmjs.com/package/dbt-cloud-harvester/v/0.1.0';
const ACCOUNT = 43210;
let dir: string;

/** One stored run: a build step (failing), a docs generate step with the catalog. */
async function storeRun(root: string, runId: number, failing: boolean): Promise<string> {
  const folder = `date=2026-10-01/hour=10/job_id=77/run_id=${runId}`;
  const started = new Date('2026-10-01T10:00:00Z');
  const step = async (index: number, files: Record<string, string>) => {
    await mkdir(join(root, folder, `step=${index}`), { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(root, folder, `step=${index}`, name), text);
  };
  await step(4, {
    'manifest.json': manifestJson(),
    'build_run_results.json': runResultsJson('build', failing, started),
  });
  await step(5, {
    'manifest.json': manifestJson(),
    'docs_generate_run_results.json': runResultsJson('docs generate', false, started),
    'catalog.json': catalogJson(),
  });
  const run = {
    id: runId,
    account_id: ACCOUNT,
    project_id: 270542,
    job_definition_id: 77,
    status: failing ? 20 : 10,
    started_at: '2026-10-01 10:00:00.000000+00:00',
    finished_at: '2026-10-01 10:05:00.000000+00:00',
    run_steps: [
      {
        index: 4,
        name: 'Invoke dbt with `dbt build`',
        started_at: '2026-10-01 10:00:01+00:00',
        finished_at: '2026-10-01 10:03:00+00:00',
      },
      {
        index: 5,
        name: 'Invoke dbt with `dbt docs generate`',
        started_at: '2026-10-01 10:03:00+00:00',
        finished_at: '2026-10-01 10:05:00+00:00',
      },
    ],
  };
  await writeFile(join(root, folder, '_run.json'), `${JSON.stringify(run)}\n`);
  return folder;
}

async function exported(root: string, file: string): Promise<RunEvent[]> {
  const sink = new JsonLinesFile(file);
  await exportLineage(new LocalFolder(root), sink, { producer: PRODUCER });
  await sink.close();
  return (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lineage-unit-'));
  await storeRun(join(dir, 'store'), 9001, true);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('run ids', () => {
  it('are RFC 9562 version 5 UUIDs (its example: www.example.com in the DNS namespace)', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    expect(jobRunId(1, 2)).toBe(jobRunId(1, 2));
    expect(jobRunId(1, 2)).not.toBe(jobRunId(1, 3));
  });

  it('reads dbt times, with microseconds and without an offset, as UTC', () => {
    expect(eventTime('2026-10-01T10:00:00.123456Z')).toBe('2026-10-01T10:00:00.123Z');
    expect(eventTime('2026-10-01 10:00:00')).toBe('2026-10-01T10:00:00.000Z');
    expect(eventTime('2026-10-01T12:00:00+02:00')).toBe('2026-10-01T10:00:00.000Z');
    expect(eventTime('yesterday')).toBeNull();
  });
});

describe('a stored build step as OpenLineage events', () => {
  let events: RunEvent[];
  beforeAll(async () => {
    events = await exported(join(dir, 'store'), join(dir, 'out.jsonl'));
  });

  it('validates every event against the spec 2-0-2 schemas, each with a parent naming the dbt Cloud run', () => {
    expect(events.length).toBeGreaterThan(10);
    for (const e of events) {
      expect(eventProblems(e), JSON.stringify(e)).toEqual([]);
      expect(e.run.facets['parent']).toMatchObject({
        run: { runId: jobRunId(ACCOUNT, 9001) },
        job: { namespace: 'dbt-cloud://account/43210/project/270542', name: 'job_77' },
      });
    }
  });

  it('gives every model, seed and snapshot that ran its START and COMPLETE or FAIL, output table and parents', () => {
    for (const m of MODELS) {
      const mine = events.filter((e) => e.outputs[0]?.name === tableName(m));
      if (m.id === SKIPPED_MODEL) {
        expect(mine).toEqual([]);
        continue;
      }
      expect(mine.map((e) => e.eventType)).toEqual(['START', m.id === FAILING_MODEL ? 'FAIL' : 'COMPLETE']);
      const end = mine[1]!;
      expect(end.outputs[0]!.namespace).toBe('bigquery');
      expect(end.job.name).toBe(`acme-analytics.${m.schema}.${m.id.slice('model.'.length)}.build.run`);
      const parents = m.dependsOn.filter((d) => byId.has(d)).map((d) => tableName(byId.get(d)!));
      expect(end.inputs.map((i) => i.name).sort()).toEqual(parents.sort());
      expect(new Set(mine.map((e) => e.run.runId)).size).toBe(1);
    }
    const seed = events.filter((e) => e.job.name === 'acme-analytics.shop.shop.country_codes.build.seed');
    expect(seed.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    const snapshot = events.filter((e) => e.job.name.endsWith('.build.snapshot'));
    expect(snapshot[1]!.outputs[0]!.name).toBe('acme-analytics.snapshots.customers_snapshot');
  });

  it('carries the facts the artifacts have: times, SQL, schema, documentation, rows, BigQuery job, dbt version, error', () => {
    const customers = events.filter((e) => e.job.name.endsWith('.customers.build.run'));
    const [start, end] = customers as [RunEvent, RunEvent];
    expect(start.eventTime < end.eventTime).toBe(true);
    expect(start.eventTime.startsWith('2026-10-01T10:00:')).toBe(true);
    expect(end.job.facets['sql']).toMatchObject({ query: expect.stringContaining('select'), dialect: 'bigquery' });
    expect(end.outputs[0]!.facets?.['schema']).toMatchObject({
      fields: [
        { name: 'customer_id', type: 'INT64', description: 'customer_id of customers', ordinal_position: 1 },
        { name: 'name', type: 'STRING' },
        { name: 'lifetime_value', type: 'NUMERIC' },
      ],
    });
    expect(end.outputs[0]!.facets?.['documentation']).toMatchObject({ description: 'The customers table.' });
    expect(end.outputs[0]!.outputFacets?.['outputStatistics']).toMatchObject({ rowCount: expect.any(Number) });
    expect(end.run.facets['externalQuery']).toMatchObject({
      externalQueryId: expect.stringMatching(/^acme-analytics:EU\.job_/),
      source: 'bigquery',
    });
    expect(end.run.facets['processing_engine']).toMatchObject({ name: 'dbt', version: '1.10.7' });
    const failed = events.find((e) => e.eventType === 'FAIL')!;
    expect(failed.run.facets['errorMessage']).toMatchObject({ message: expect.stringContaining('Syntax error') });
  });

  it('reports the tests of a table as data quality assertions on it, a failing test as not a success', () => {
    const tests = events.filter((e) => e.job.facets['jobType']?.['jobType'] === 'TEST' && e.eventType === 'COMPLETE');
    const byTable = new Map(
      tests.map((e) => [e.inputs[0]!.name, e.inputs[0]!.inputFacets!['dataQualityAssertions']!['assertions']]),
    );
    expect(byTable.get('acme-analytics.marts.dim_customers')).toEqual([
      {
        assertion: 'not_null',
        success: false,
        name: 'not_null_customers_customer_id',
        column: 'customer_id',
        severity: 'error',
        actual: '3',
      },
    ]);
    // The relationships test without attached_node is on its last parent, as dbt-docs reads it.
    expect(byTable.get('acme-analytics.marts.orders')).toHaveLength(TESTS.length - 1);
  });

  it('gives the same run ids, and the same events, when exported again', async () => {
    const again = await exported(join(dir, 'store'), join(dir, 'again.jsonl'));
    expect(again.map((e) => e.run.runId)).toEqual(events.map((e) => e.run.runId));
    expect(again).toEqual(events);
  });
});

describe('the lineage manifest reader', () => {
  it('keeps details only of the nodes the step ran, and every relation', () => {
    const reader = new LineageManifestReader(new Set(['model.shop.orders']));
    reader.write(Buffer.from(manifestJson()));
    const facts = reader.finish();
    expect([...facts.nodes.keys()]).toEqual(['model.shop.orders']);
    expect(facts.relations.get('source.shop.raw.customers')).toEqual({
      database: 'acme-analytics',
      schema: 'raw',
      table: 'raw_customers',
    });
    expect(facts.relations.size).toBe(9);
  });

  it('stops at the bounds, as the facts readers do', () => {
    const reader = new LineageManifestReader(new Set(), 'manifest.json', { tables: 3 });
    reader.write(Buffer.from(manifestJson()));
    expect(() => reader.finish()).toThrow(/more than 3 tables/);
  });
});
