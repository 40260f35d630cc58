import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { TOKEN, results, rows, log } from './shared.ts';

/**
 * The command line harvesting a window that holds several nightly `docs generate` runs of a large
 * project of real shape (harness/big-project.ts: a public project copied `copies` times; 300: a
 * 390 MB manifest and a 41 MB catalog) among smaller runs, at its default concurrency, in its own
 * process: its peak RSS, which must not grow with the big runs harvested at once.
 */
export async function concurrentPart(copies = 300, bigRuns = [1, 3]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-concurrent-'));
  try {
    const { writeBigProject } = await import('../../harness/big-project.ts');
    const project = join(dir, 'project');
    await writeBigProject(project, copies);
    const size = async (f: string) => (await stat(join(project, f))).size;
    const sizes = { manifest: await size('manifest.json'), catalog: await size('catalog.json') };
    const figures: Record<string, unknown> = { sizes };
    for (const big of bigRuns) {
      const fake = await startFakeDbtCloud({
        from: new Date('2022-06-01T00:00:00Z'),
        to: new Date('2022-06-01T01:00:00Z'),
        token: TOKEN,
        everyMinutes: 20,
        jobsPerEnvironment: 4,
        uniform: { executeSteps: ['dbt build', 'dbt docs generate'] },
        extraArtifacts: () => false,
        bodyOf: (runId, _step, file) => {
          const nightly = fake.account.runs.slice(0, big).some((r) => r.id === runId);
          if (!nightly || (file !== 'manifest.json' && file !== 'catalog.json')) return undefined;
          return {
            size: file === 'manifest.json' ? sizes.manifest : sizes.catalog,
            open: () => createReadStream(join(project, file)),
          };
        },
      });
      try {
        const out = join(dir, `out-${big}`);
        const { stdout } = await promisify(execFile)(
          process.execPath,
          [
            'scripts/bench-cli-child.ts',
            '--',
            'retrieve-artifacts-time-interval',
            '--start-time',
            '2022-06-01T00:00:00Z',
            '--end-time',
            '2022-06-01T03:00:00Z',
            '--output-folder',
            out,
          ],
          {
            maxBuffer: 1 << 22,
            env: {
              PATH: process.env['PATH'] ?? '',
              DBT_CLOUD_HOST: fake.url,
              DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
              DBT_CLOUD_TOKEN: TOKEN,
            },
          },
        );
        const r = JSON.parse(stdout) as { code: number; stderr: string; seconds: number; maxRssMb: number };
        if (r.code !== 0) throw new Error(`the harvest exited ${r.code}: ${r.stderr.slice(-2000)}`);
        const runs = fake.account.runs.length;
        log(`concurrent: ${runs} runs, ${big} of them the big project's, ${r.seconds.toFixed(1)} s`);
        figures[`big${big}`] = { runs, seconds: Number(r.seconds.toFixed(1)), maxRssMb: Number(r.maxRssMb.toFixed(1)) };
        rows.push([
          'concurrent',
          `CLI window of ${runs} runs, ${big} with the ${(sizes.manifest / 1e6).toFixed(0)} MB manifest, default concurrency`,
          `${r.seconds.toFixed(1)} s, peak RSS ${r.maxRssMb.toFixed(0)} MB`,
          `<= 300 MB: ${r.maxRssMb <= 300 ? 'yes' : 'NO'}`,
        ]);
      } finally {
        await fake.stop();
      }
    }
    results['concurrent'] = figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
