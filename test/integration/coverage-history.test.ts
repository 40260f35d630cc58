import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGcs, type FakeGcs } from '../../harness/fake-gcs/server.ts';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { cli } from '../cli.ts';
import { listFiles } from '../expected.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';

/**
 * coverage history over stored runs: summaries the harvest wrote, and summaries computed from the
 * stored manifests and catalogs of runs harvested before summaries existed (here, a real project's
 * artifacts, one run losing column descriptions), read alike from a folder and from a bucket.
 */
let dir: string;
let gcs: FakeGcs;
let fake: FakeDbtCloud;
const JOB = 7;
const fixture = (file: string): Record<string, unknown> =>
  JSON.parse(gunzipSync(readFileSync(`test/fixtures/coverage/jaffle-shop/${file}.gz`)).toString('utf8')) as Record<
    string,
    unknown
  >;

/** Writes a run as the harvester stores it (no coverage.json: harvested before summaries). */
async function storeRun(
  root: string,
  run: { id: number; day: string; manifest: object; catalog: object },
): Promise<string> {
  const folder = join(root, `date=${run.day}/hour=10/job_id=${JOB}/run_id=${run.id}`);
  await mkdir(join(folder, 'step=5'), { recursive: true });
  await writeFile(join(folder, 'step=5/manifest.json'), JSON.stringify(run.manifest));
  await writeFile(join(folder, 'step=5/catalog.json'), JSON.stringify(run.catalog));
  await writeFile(
    join(folder, '_run.json'),
    `${JSON.stringify({
      id: run.id,
      job_definition_id: JOB,
      status: 10,
      created_at: `${run.day} 10:00:00.000000+00:00`,
      started_at: `${run.day} 10:01:00.000000+00:00`,
      finished_at: `${run.day} 10:15:00.000000+00:00`,
      job: { name: 'Nightly docs' },
    })}\n`,
  );
  return folder;
}

beforeAll(async () => {
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  dir = await mkdtemp(join(tmpdir(), 'coverage-history-'));
  const manifest = fixture('manifest.json');
  const catalog = fixture('catalog.json');
  // The third run lost the descriptions of customers' columns.
  const poorer = structuredClone(manifest) as {
    nodes: Record<string, { columns: Record<string, { description: string }> }>;
  };
  for (const column of Object.values(poorer.nodes['model.jaffle_shop.customers']!.columns)) column.description = '';
  await storeRun(dir, { id: 1001, day: '2026-11-01', manifest, catalog });
  await storeRun(dir, { id: 1002, day: '2026-11-02', manifest, catalog });
  await storeRun(dir, { id: 1003, day: '2026-11-03', manifest: poorer, catalog });
  // Runs the harvest stored with their summaries, from the fake dbt Cloud.
  fake = await fakeCloud();
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
      '2022-06-01T10:00:00Z',
      '--output-folder',
      dir,
    ],
    env,
  );
  if (harvested.code !== 0) throw new Error(harvested.stderr);
  // The same objects in a bucket.
  gcs = await startFakeGcs();
  for (const path of await listFiles(dir))
    gcs.put('history', `dbt/${path}`, await readFile(join(dir, path)), 'application/json');
}, 180_000);

afterAll(async () => {
  await gcs?.stop();
  await fake?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Series {
  stats: { runs: number; stored: number; computed: number };
  points: {
    job_id: number;
    run_id: number;
    origin: string;
    doc_coverage: number | null;
    columns: number | null;
    models: number;
    step: number;
  }[];
  drops: {
    job_id: number;
    kind: string;
    from_run: number;
    to_run: number;
    change: number;
    tables: { name: string; lost: number; columns_before: number | null }[];
  }[];
}

const series = async (from: string, extra: string[] = []): Promise<Series> => {
  const res = await cli(['coverage', 'history', '--from', from, '--format', 'json', ...extra], {
    STORAGE_API_ENDPOINT: gcs.url,
  });
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as Series;
};

describe('coverage history', () => {
  it('reads stored summaries, and computes the missing ones from stored manifests and catalogs', async () => {
    const s = await series(dir);
    const mine = s.points.filter((p) => p.job_id === JOB);
    expect(mine.map((p) => [p.run_id, p.origin])).toEqual([
      [1001, 'computed'],
      [1002, 'computed'],
      [1003, 'computed'],
    ]);
    // dbt-coverage's doc figures for this project (test/fixtures/coverage/jaffle-shop/expected-doc.json).
    const expected = JSON.parse(readFileSync('test/fixtures/coverage/jaffle-shop/expected-doc.json', 'utf8')) as {
      coverage: number;
      total: number;
    };
    expect(mine[0]).toMatchObject({ doc_coverage: expected.coverage, columns: expected.total });
    const harvested = s.points.filter((p) => p.job_id !== JOB);
    expect(harvested.length).toBeGreaterThan(5);
    expect(harvested.every((p) => p.origin === 'stored')).toBe(true);
    expect(s.stats).toEqual({ runs: s.points.length, stored: harvested.length, computed: 3 });
  });

  it('names the drop between consecutive runs and the table that caused it', async () => {
    const s = await series(dir);
    const drop = s.drops.find((d) => d.job_id === JOB)!;
    expect(drop).toMatchObject({ kind: 'doc', from_run: 1002, to_run: 1003 });
    expect(drop.change).toBeLessThan(0);
    const { columns, documented } = customersColumns();
    expect(documented).toBeGreaterThan(0);
    expect(drop.tables).toEqual([
      {
        name: 'streamlit_test.customers',
        lost: documented,
        columns_before: columns,
        columns_after: columns,
        covered_before: documented,
        covered_after: 0,
      },
    ]);
    expect(s.drops.filter((d) => d.job_id === JOB)).toHaveLength(1);
  });

  it('reads a bucket as it reads a folder', async () => {
    const fromFolder = await series(dir);
    const fromBucket = await series('gs://history/dbt');
    expect(fromBucket.points).toEqual(fromFolder.points);
    expect(fromBucket.drops).toEqual(fromFolder.drops);
  });

  it('keeps to --since and --job-id, and writes CSV', async () => {
    expect((await series(dir, ['--since', '2026-11-02'])).points.map((p) => p.run_id)).toEqual([1002, 1003]);
    expect((await series(dir, ['--job-id', String(JOB)])).points).toHaveLength(3);
    const csv = await cli(['coverage', 'history', '--from', dir, '--format', 'csv', '--job-id', String(JOB)], {});
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'job_id,job_name,run_id,finished_at,step,origin,doc_coverage,doc_covered,columns,test_coverage,test_covered,column_tests,models,models_documented,models_tested,tests,unit_test_coverage',
    );
    expect(lines.slice(1).map((l) => l.split(',')[2])).toEqual(['1001', '1002', '1003']);
  });

  it('writes one self-contained HTML report of coverage alone', async () => {
    const out = join(dir, '..', `report-${Date.now()}.html`);
    const res = await cli(['coverage', 'history', '--from', dir, '--out', out], {});
    expect(res.code, res.stderr).toBe(0);
    const html = await readFile(out, 'utf8');
    await rm(out);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<title>dbt coverage history</title>');
    // Coverage and nothing else (history writes the whole report).
    expect([...html.matchAll(/<h2 id="(\w+)"/g)].map((m) => m[1])).toEqual(['coverage']);
    // No link to a model's view the coverage report does not hold.
    expect(html).not.toContain('href="#model-');
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('streamlit_test.customers');
    // Self-contained: nothing fetched (an inline script at most: the job filter).
    expect(html).not.toMatch(/<script[^>]*\ssrc=|<link |src="http|url\(/);
  });

  it('says so, and exits 1, when nothing is stored there', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'coverage-empty-'));
    const res = await cli(['coverage', 'history', '--from', empty, '--format', 'json'], {});
    await rm(empty, { recursive: true });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/no stored run in /);
  });
});

/** customers' catalog columns, and how many of them the real manifest documents. */
function customersColumns(): { columns: number; documented: number } {
  const m = fixture('manifest.json') as {
    nodes: Record<string, { columns: Record<string, { name: string; description: string }> }>;
  };
  const c = fixture('catalog.json') as { nodes: Record<string, { columns: Record<string, { name: string }> }> };
  const described = new Set(
    Object.values(m.nodes['model.jaffle_shop.customers']!.columns)
      .filter((col) => col.description)
      .map((col) => col.name.toLowerCase()),
  );
  const catalogColumns = Object.values(c.nodes['model.jaffle_shop.customers']!.columns);
  return {
    columns: catalogColumns.length,
    documented: catalogColumns.filter((col) => described.has(col.name.toLowerCase())).length,
  };
}
