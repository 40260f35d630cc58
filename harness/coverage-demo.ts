/**
 * A coverage history to look at: two jobs over 30 days of a real project (jaffle-shop's artifacts,
 * test/fixtures/coverage), documentation and tests growing day by day, and one refactor that adds
 * an undocumented table. Written as the harvester stores it (summaries), for the README screenshot,
 * the browser test and trying `coverage history`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { summarize, type CatalogFacts, type ManifestFacts } from '../lib/core/coverage.ts';
import { CatalogReader } from '../lib/facts/catalog.ts';
import { ManifestReader } from '../lib/facts/manifest.ts';
import { readFacts } from '../lib/facts/reader.ts';

const fixture = (file: string): Readable =>
  Readable.from([gunzipSync(readFileSync(`test/fixtures/coverage/jaffle-shop/${file}.gz`))]);

export async function writeCoverageDemo(
  root: string,
  options: { days?: number; start?: Date; jobs?: number } = {},
): Promise<{ runs: number }> {
  const days = options.days ?? 30;
  const start = options.start ?? new Date(Date.UTC(2026, 9, 1));
  const manifest = await readFacts(fixture('manifest.json'), new ManifestReader());
  const catalog = await readFacts(fixture('catalog.json'), new CatalogReader());
  const columns = catalog.tables.flatMap((t) => t.columns.map((c) => ({ table: t.uniqueId, column: c })));
  const jobs = [
    { id: 640120, name: 'Nightly build (Production)', docsPerDay: 3, testsPerDay: 2, refactorDay: 20 },
    { id: 640123, name: 'Hourly build (Production)', docsPerDay: 1, testsPerDay: 3, refactorDay: -1 },
  ];
  // More jobs (benchmarks): slower growers, some with a refactor.
  for (let j = jobs.length; j < (options.jobs ?? 2); j++)
    jobs.push({
      id: 650000 + j,
      name: `Job ${j + 1}`,
      docsPerDay: 1 + (j % 3),
      testsPerDay: 1 + (j % 2),
      refactorDay: j % 4 === 0 ? Math.floor(days / 2) : -1,
    });
  let runId = 2_147_600_000;
  let runs = 0;
  for (const job of jobs) {
    for (let day = 0; day < days; day++) {
      const tables = new Map([...manifest.tables].map(([id, t]) => [id, { ...t, documented: new Set(t.documented) }]));
      const tests = new Map<string, Map<string, number>>();
      const m: ManifestFacts = { ...manifest, tables, tests };
      const c: CatalogFacts = { tables: [...catalog.tables] };
      columns.forEach(({ table, column }, i) => {
        if (i < 10 + ((job.docsPerDay * day) % columns.length)) tables.get(table)?.documented.add(column);
        if (i < 5 + ((job.testsPerDay * day) % columns.length)) {
          const perColumn = tests.get(table) ?? new Map<string, number>();
          tests.set(table, perColumn);
          perColumn.set(column, 1 + (i % 2));
        }
      });
      if (job.refactorDay >= 0 && day >= job.refactorDay) {
        // The refactor: a wide new mart, undocumented and untested.
        const base = manifest.tables.get('model.jaffle_shop.orders')!;
        tables.set('model.jaffle_shop.orders_enriched', {
          ...base,
          uniqueId: 'model.jaffle_shop.orders_enriched',
          name: base.name.replace('orders', 'orders_enriched'),
          documented: new Set(),
        });
        (c.tables as CatalogFacts['tables'][number][]).push({
          uniqueId: 'model.jaffle_shop.orders_enriched',
          columns: Array.from({ length: 24 }, (_, k) => `attribute_${k + 1}`),
        });
      }
      const finished = new Date(start.getTime() + day * 86_400_000 + (job.id % 2 ? 6 : 5) * 3_600_000 + 17 * 60_000);
      const iso = finished.toISOString();
      const id = runId++;
      const folder = join(root, `date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/job_id=${job.id}/run_id=${id}`);
      await mkdir(join(folder, 'step=6'), { recursive: true });
      const finishedAt = `${iso.slice(0, 10)} ${iso.slice(11, 19)}.000000+00:00`;
      await writeFile(
        join(folder, 'step=6/coverage.json'),
        `${JSON.stringify(summarize(m, c, { finishedAt, jobName: job.name }))}\n`,
      );
      await writeFile(
        join(folder, '_run.json'),
        `${JSON.stringify({ id, job_definition_id: job.id, finished_at: finishedAt, job: { name: job.name } })}\n`,
      );
      runs++;
    }
  }
  return { runs };
}
