/**
 * A destination harvested before the history rollup existed, for the benchmark of its first read
 * (the upgrade path every existing user takes): `runs` runs spread evenly over `jobs` jobs and
 * `days` days, each a nightly `dbt build` + `dbt docs generate` run with its `_run.json` and its docs
 * step's coverage.json (a summary of `tables` tables), and no history row. The summary is written
 * once and hard-linked into every run (a hundred thousand copies of a 3.5 MB summary would fill a
 * disk); the reader cannot tell.
 * @module
 */
import { link, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  summarize,
  type CatalogFacts,
  type CatalogTable,
  type ManifestFacts,
  type ManifestTable,
} from '../lib/coverage/coverage.ts';
import { COVERAGE_FILE } from '../lib/core/coverage-summary.ts';
import { runDirectory } from '../lib/core/paths.ts';

export interface UpgradeShape {
  runs: number;
  jobs: number;
  days: number;
  /** Tables of the project whose coverage each run stored. */
  tables: number;
  end?: Date;
}

/** A project of `n` tables of 8 columns, about a third documented and a quarter tested. */
function project(n: number): { manifest: ManifestFacts; catalog: CatalogFacts } {
  const tables = new Map<string, ManifestTable>();
  const tests = new Map<string, Map<string, number>>();
  const catalog: CatalogTable[] = [];
  for (let t = 0; t < n; t++) {
    const uniqueId = `model.warehouse.model_${t}`;
    const columns = Array.from({ length: 8 }, (_, c) => `column_${c}`);
    tables.set(uniqueId, {
      uniqueId,
      resourceType: 'model',
      name: `analytics.model_${t}`,
      path: `models/area_${t % 40}/model_${t}.sql`,
      documented: new Set(columns.filter((_, c) => (c + t) % 3 === 0)),
    });
    tests.set(uniqueId, new Map(columns.filter((_, c) => (c + t) % 4 === 0).map((c) => [c, 1])));
    catalog.push({ uniqueId, columns });
  }
  const manifest: ManifestFacts = {
    dbtVersion: '1.10.4',
    schemaVersion: 'https://schemas.getdbt.com/dbt/manifest/v12.json',
    projectName: 'warehouse',
    generatedAt: null,
    tables,
    tests,
    unitTests: new Map(),
    models: { total: n, documented: Math.floor(n / 2), tested: n, tests: n * 2, unitTests: 0, unitTested: 0 },
  };
  return { manifest, catalog: { tables: catalog } };
}

export async function writeUpgradeHistory(root: string, shape: UpgradeShape): Promise<{ runs: number; bytes: number }> {
  const end = shape.end ?? new Date(Date.UTC(2026, 10, 29));
  const { manifest, catalog } = project(shape.tables);
  const summary = `${JSON.stringify(summarize(manifest, catalog, { finishedAt: null, jobName: 'Nightly build' }))}\n`;
  await mkdir(root, { recursive: true });
  // A file has at most 65,000 links on ext4: a copy per 50,000 runs.
  const master = (i: number) => join(root, `.coverage-master-${Math.floor(i / 50_000)}.json`);
  const perDay = Math.max(1, Math.ceil(shape.runs / shape.days));
  let runId = 500_000_000;
  for (let i = 0; i < shape.runs; i++) {
    const day = Math.floor(i / perDay);
    const jobId = 80_000 + (i % shape.jobs);
    const finished = new Date(end.getTime() - (shape.days - 1 - day) * 86_400_000 + (i % perDay) * 11_000);
    const id = runId++;
    const dir = join(root, runDirectory({ runId: id, jobId, finishedAt: finished }));
    await mkdir(join(dir, 'step=5'), { recursive: true });
    if (i % 50_000 === 0) await writeFile(master(i), summary);
    await link(master(i), join(dir, 'step=5', COVERAGE_FILE));
    const iso = (t: Date) => `${t.toISOString().slice(0, 10)} ${t.toISOString().slice(11, 23)}000+00:00`;
    const started = new Date(finished.getTime() - 1_800_000);
    await writeFile(
      join(dir, '_run.json'),
      `${JSON.stringify({
        id,
        account_id: 43_001,
        project_id: 270_001,
        environment_id: 218_001,
        job_definition_id: jobId,
        status: 10,
        status_humanized: 'Success',
        created_at: iso(new Date(started.getTime() - 20_000)),
        started_at: iso(started),
        finished_at: iso(finished),
        href: `https://cloud.getdbt.com/deploy/43001/projects/270001/runs/${id}/`,
        git_branch: 'main',
        trigger: { cause: 'Triggered by the schedule' },
        job: { id: jobId, name: `Nightly build ${i % shape.jobs}`, project_id: 270_001, environment_id: 218_001 },
        run_steps: [
          { index: 4, name: 'Invoke dbt with `dbt build`', status: 10 },
          { index: 5, name: 'Invoke dbt with `dbt docs generate`', status: 10 },
        ],
        artifacts_saved: true,
      })}\n`,
    );
  }
  return { runs: shape.runs, bytes: Buffer.byteLength(summary) };
}
