import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { planTerraform, plannedResources } from '../../harness/terraform/plan.ts';
import { startStandIns } from '../../harness/terraform/server.ts';
import { cli } from '../cli.ts';
import { listFiles } from '../expected.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';

/**
 * BigQuery reads what the harvester writes: each external table of the plan, checked against
 * objects the harvester really stored. Every file is newline-delimited JSON; no field of a file is
 * also a Hive partition key of its table (BigQuery refuses the overlap); every column the table
 * declares has values of its type where the files have it.
 */
interface Field {
  name: string;
  type: string;
  mode?: string;
  fields?: Field[];
}
interface Table {
  id: string;
  /** Views, over the tables: their query. */
  view?: string;
  sourceUris: string[];
  schema: Field[];
  partitionKeys: string[];
  /** The Hive layout, `gs://…/{date:DATE}/…` (partitioned tables). */
  layout?: string;
  /** The object seeded so that BigQuery can create the table on an empty bucket, and what the table waits for. */
  seed?: { name: string; content: string };
  dependsOn: string[];
}

let fake: FakeDbtCloud;
let out: string;
let tables: Table[];
let views: { id: string; query: string }[];
let destination: string;
/** The objects the plan seeds, relative to the destination. */
let seeds: { path: string; content: string }[];

beforeAll(async () => {
  const standIns = await startStandIns();
  try {
    const run = await planTerraform({ standIns });
    if (!run.plan) throw new Error(run.output);
    const all = plannedResources(run.plan);
    const config = (
      run.plan.configuration as { root_module: { resources: { address: string; depends_on?: string[] }[] } }
    ).root_module.resources;
    const seedObjects = all.filter((r) => r.type === 'google_storage_bucket_object' && r.name === 'bigquery_seed');
    const harvestRun = all.find((r) => r.type === 'google_cloudfunctions2_function' && r.index === 'harvestRun')!;
    destination = (harvestRun.values['service_config'] as { environment_variables: Record<string, string> }[])[0]!
      .environment_variables['ARTIFACTS_DESTINATION']!;
    views = all
      .filter((r) => r.type === 'google_bigquery_table' && (r.values['view'] as unknown[] | undefined)?.length)
      .map((r) => ({ id: String(r.values['table_id']), query: (r.values['view'] as { query: string }[])[0]!.query }));
    tables = all
      .filter((r) => r.type === 'google_bigquery_table' && !(r.values['view'] as unknown[] | undefined)?.length)
      .map((r) => {
        const ext = (r.values['external_data_configuration'] as Record<string, unknown>[])[0]!;
        const hive = (ext['hive_partitioning_options'] as { source_uri_prefix: string }[] | undefined)?.[0];
        const seed = seedObjects.find((o) => o.index === r.index);
        return {
          id: String(r.values['table_id']),
          sourceUris: ext['source_uris'] as string[],
          schema: JSON.parse(String(ext['schema'])) as Field[],
          partitionKeys: [...(hive?.source_uri_prefix ?? '').matchAll(/\{(\w+):\w+\}/g)].map((m) => m[1]!),
          ...(hive ? { layout: hive.source_uri_prefix } : {}),
          ...(seed ? { seed: { name: String(seed.values['name']), content: String(seed.values['content']) } } : {}),
          dependsOn: config.find((c) => c.address === r.address.replace(/\[[^\]]+\]$/, ''))?.depends_on ?? [],
        };
      });
    const prefix = destination.replace(/^gs:\/\/[^/]+\/?/, '');
    seeds = seedObjects.map((o) => ({
      path: String(o.values['name']).slice(prefix ? prefix.length + 1 : 0),
      content: String(o.values['content']),
    }));
  } finally {
    await standIns.close();
  }
  fake = await fakeCloud();
  out = await mkdtemp(join(tmpdir(), 'bq-'));
  const env = {
    DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
    DBT_CLOUD_TOKEN: TOKEN,
    DBT_CLOUD_HOST: fake.url,
    DBT_CLOUD_REQUESTS_PER_MINUTE: '600000',
  };
  const harvested = await cli(
    [
      'retrieve-artifacts-time-interval',
      '--start-time',
      '2022-06-01T09:00:00Z',
      '--end-time',
      '2022-06-01T11:00:00Z',
      '--output-folder',
      out,
    ],
    env,
  );
  if (harvested.code !== 0) throw new Error(harvested.stderr);
}, 180_000);

afterAll(async () => {
  await fake?.stop();
  await rm(out, { recursive: true, force: true });
});

/** The stored files a source URI (gs://bucket/prefix/<pattern with *>) matches, relative to the destination. */
async function filesOf(uri: string): Promise<string[]> {
  const pattern = uri.slice(destination.length + 1);
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return (await listFiles(out)).filter((f) => re.test(f));
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?$/;

/** Where a value does not fit its column (BigQuery would fail the query). */
function misfits(value: unknown, field: Field, path: string): string[] {
  if (field.mode === 'REPEATED') {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) return [`${path}: not an array`];
    return value.flatMap((v, i) => misfits(v, { ...field, mode: 'NULLABLE' }, `${path}[${i}]`));
  }
  if (value === null || value === undefined) return [];
  switch (field.type) {
    case 'STRING':
      return typeof value === 'string' ? [] : [`${path}: ${JSON.stringify(value)} is not a string`];
    case 'INTEGER':
      return Number.isInteger(value) || (typeof value === 'string' && /^-?\d+$/.test(value))
        ? []
        : [`${path}: ${JSON.stringify(value)} is not an integer`];
    case 'FLOAT':
      return typeof value === 'number' ? [] : [`${path}: ${JSON.stringify(value)} is not a number`];
    case 'BOOLEAN':
      return typeof value === 'boolean' ? [] : [`${path}: ${JSON.stringify(value)} is not a boolean`];
    case 'TIMESTAMP':
      return typeof value === 'string' && TIMESTAMP.test(value)
        ? []
        : [`${path}: ${JSON.stringify(value)} is not a timestamp BigQuery reads`];
    case 'RECORD': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: not an object`];
      const record = value as Record<string, unknown>;
      return (field.fields ?? []).flatMap((f) => misfits(record[f.name], f, `${path}.${f.name}`));
    }
    default:
      return [`${path}: type ${field.type} not checked by this test`];
  }
}

/** The partition keys and values a Hive layout reads from an object's path, or null when the path does not fit it. */
function partitionsOf(layout: string, path: string): Record<string, string> | null {
  const steps = layout.slice(destination.length + 1).split('/');
  const parts = path.split('/');
  const out: Record<string, string> = {};
  for (let i = 0; i < steps.length; i++) {
    const key = /^\{(\w+):(\w+)\}$/.exec(steps[i]!);
    if (!key) {
      if (parts[i] !== steps[i]) return null;
      continue;
    }
    const m = new RegExp(`^${key[1]}=(.+)$`).exec(parts[i] ?? '');
    if (!m) return null;
    if (key[2] === 'INTEGER' && !/^\d+$/.test(m[1]!)) return null;
    if (key[2] === 'DATE' && !/^\d{4}-\d{2}-\d{2}$/.test(m[1]!)) return null;
    out[key[1]!] = m[1]!;
  }
  return parts.length > steps.length ? out : null;
}

describe('the seeds that let BigQuery create each partitioned table on an empty bucket', () => {
  it('gives every partitioned table an object its source and layout match, created before it, holding no value', () => {
    const partitioned = tables.filter((t) => t.layout);
    expect(partitioned.map((t) => t.id).sort()).toEqual(['coverage', 'run_history', 'run_results', 'step_summaries']);
    for (const t of partitioned) {
      expect(t.seed, t.id).toBeDefined();
      expect(t.dependsOn, t.id).toContain('google_storage_bucket_object.bigquery_seed');
      const path = seeds.find((s) => t.seed!.name.endsWith(s.path))!.path;
      const re = new RegExp(
        `^${t.sourceUris[0]!.slice(destination.length + 1)
          .split('*')
          .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
      expect(path, `${t.id}: ${path} matches ${t.sourceUris[0]}`).toMatch(re);
      const keys = partitionsOf(t.layout!, path);
      expect(keys, `${t.id}: ${path} fits ${t.layout}`).not.toBeNull();
      // In a partition no run has: job 0, run 0, 1970.
      expect(keys!['date']).toBe('1970-01-01');
      expect(keys!['job_id']).toBe('0');
      // One row of nulls: none of the table's columns has a value.
      const row = JSON.parse(t.seed!.content) as Record<string, unknown>;
      expect(t.schema.filter((f) => row[f.name] !== undefined)).toEqual([]);
    }
  });

  it('is never taken for a run: the history, its rows and coverage are the same with the seeds in the bucket', async () => {
    const env = { DBT_CLOUD_ACCOUNT_ID: String(fake.accountId) };
    const read = async (args: string[]) => {
      const r = await cli(args, env);
      expect(r.code, r.stderr).toBe(0);
      return r;
    };
    const historyOf = async (dir: string) => {
      const file = join(dir, '..', `${Math.random().toString(36).slice(2)}.json`);
      const r = await read(['history', '--from', dir, '--format', 'json', '--out', file]);
      // Not even an object left out: no reader looked at a seed as a run or a row.
      expect(r.stderr).not.toMatch(/left out|1970|seed/);
      const json = JSON.parse(await readFile(file, 'utf8')) as { runs: { runId: number }[] };
      await rm(file);
      return json.runs;
    };
    const without = await mkdtemp(join(tmpdir(), 'bq-seedless-'));
    const withSeeds = await mkdtemp(join(tmpdir(), 'bq-seeded-'));
    try {
      for (const dir of [without, withSeeds])
        for (const file of await listFiles(out)) {
          await mkdir(dirname(join(dir, file)), { recursive: true });
          await writeFile(join(dir, file), await readFile(join(out, file)));
        }
      expect(seeds.length).toBe(4);
      for (const seed of seeds) {
        await mkdir(dirname(join(withSeeds, seed.path)), { recursive: true });
        await writeFile(join(withSeeds, seed.path), seed.content);
      }
      const runs = await historyOf(without);
      expect(runs.length).toBeGreaterThan(10);
      expect(await historyOf(withSeeds)).toEqual(runs);
      // Read again without the rows the first read wrote: each run's row computed from its files.
      for (const dir of [without, withSeeds]) await rm(join(dir, '_history'), { recursive: true, force: true });
      for (const seed of seeds.filter((s) => s.path.startsWith('_history/'))) {
        await mkdir(dirname(join(withSeeds, seed.path)), { recursive: true });
        await writeFile(join(withSeeds, seed.path), seed.content);
      }
      const rebuilt = await historyOf(withSeeds);
      expect(rebuilt.map((r) => r.runId)).toEqual(runs.map((r) => r.runId));
      expect(rebuilt.some((r) => r.runId === 0)).toBe(false);
    } finally {
      await rm(without, { recursive: true, force: true });
      await rm(withSeeds, { recursive: true, force: true });
    }
  });
});

describe('the BigQuery external tables over what the harvester stores', () => {
  it('has views that flatten the step summaries, each reading a field the files have', async () => {
    expect(views.map((v) => v.id).sort()).toEqual(['model_timings', 'source_freshness', 'test_failures']);
    const summaries = tables.find((t) => t.id === 'step_summaries')!;
    for (const v of views) {
      expect(v.query).toContain('.step_summaries` AS s, UNNEST(s.');
      const list = /UNNEST\(s\.(\w+)\)/.exec(v.query)![1]!;
      const field = summaries.schema.find((f) => f.name === list)!;
      expect(field.mode).toBe('REPEATED');
      // Every field the view selects from the list is declared (a misspelt one would fail the query).
      const alias = /UNNEST\(s\.\w+\) AS (\w+)/.exec(v.query)![1]!;
      for (const [, name] of v.query.matchAll(new RegExp(`\\b${alias}\\.(\\w+)`, 'g')))
        expect(
          field.fields!.map((f) => f.name),
          `${v.id}: ${alias}.${name}`,
        ).toContain(name);
    }
  });

  it('has the tables, each over stored files', async () => {
    expect(tables.map((t) => t.id).sort()).toEqual([
      'coverage',
      'run_history',
      'run_results',
      'runs',
      'step_summaries',
    ]);
    for (const t of tables)
      for (const uri of t.sourceUris) expect((await filesOf(uri)).length, `${t.id}: ${uri}`).toBeGreaterThan(10);
  });

  it('reads every stored file: one JSON object a line, no field named like a partition key, every column of its type', async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const t of tables) {
      for (const uri of t.sourceUris) {
        for (const file of await filesOf(uri)) {
          const lines = (await readFile(join(out, file), 'utf8')).split('\n').filter((l) => l.trim() !== '');
          for (const line of lines) {
            let row: Record<string, unknown>;
            try {
              row = JSON.parse(line) as Record<string, unknown>;
            } catch {
              problems.push(`${file}: a line is not JSON (newline-delimited JSON has one object a line)`);
              continue;
            }
            checked++;
            for (const key of t.partitionKeys)
              if (Object.keys(row).some((k) => k.toLowerCase() === key.toLowerCase()))
                problems.push(`${t.id}: ${file} has a field "${key}", also a partition key`);
            for (const f of t.schema) problems.push(...misfits(row[f.name], f, `${t.id}:${file}:${f.name}`));
          }
        }
      }
      // The columns the table declares are found in the files (a renamed field would read as NULL).
      const first = (await filesOf(t.sourceUris[0]!))[0]!;
      const sample = JSON.parse((await readFile(join(out, first), 'utf8')).split('\n')[0]!) as Record<string, unknown>;
      const missing = t.schema.filter((f) => !(f.name in sample)).map((f) => f.name);
      expect(missing.length, `${t.id} declares columns its files lack: ${missing.join(', ')}`).toBeLessThanOrEqual(
        t.schema.length / 3,
      );
    }
    expect(problems.slice(0, 20)).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });
});

describe('telemetry_table = true (once Fusion runs with telemetry are stored)', () => {
  it("reads every telemetry file the harvester stored, as Parquet, partitioned like the step's files", async () => {
    const standIns = await startStandIns();
    let table: Record<string, unknown> | undefined;
    try {
      const run = await planTerraform({ standIns, vars: { telemetry_table: 'true' } });
      expect(run.ok, run.output).toBe(true);
      table = plannedResources(run.plan!).find(
        (r) => r.address === 'google_bigquery_table.fusion_telemetry[0]',
      )?.values;
    } finally {
      await standIns.close();
    }
    expect(table).toBeDefined();
    const ext = (table!['external_data_configuration'] as Record<string, unknown>[])[0]!;
    expect(ext['source_format']).toBe('PARQUET');
    expect(ext['autodetect']).toBe(true);
    const hive = (
      ext['hive_partitioning_options'] as { source_uri_prefix: string; require_partition_filter: boolean }[]
    )[0]!;
    expect(hive.require_partition_filter).toBe(true);
    const files = await filesOf((ext['source_uris'] as string[])[0]!);
    const telemetry = (await listFiles(out)).filter((f) => /\/metadata\/telemetry-\d+-otel\.parquet$/.test(f));
    expect(telemetry.length).toBeGreaterThan(3);
    expect(files).toEqual(telemetry);
    for (const f of files) {
      const keys = partitionsOf(hive.source_uri_prefix, f);
      expect(keys, f).not.toBeNull();
      expect(f).toContain(`/step=${keys!['step']}/metadata/telemetry-${keys!['step']}-otel.parquet`);
      expect((await readFile(join(out, f))).subarray(0, 4).toString('latin1')).toBe('PAR1');
    }
  }, 120_000);
});
