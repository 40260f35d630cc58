import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { cli } from '../cli.ts';
import { listFiles } from '../expected.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';

/**
 * Runs with big manifests harvested at once read their facts one at a time (lib/harvest/facts-gate.ts):
 * a run that meets a big manifest while another run reads one stores it checked, then reads its
 * facts from a second download. What users see is unchanged: every file byte for byte, every
 * coverage.json as a one-at-a-time harvest writes it. (Memory: npm run bench -- --only concurrent.)
 */
let fake: FakeDbtCloud;
let dir: string;
const BIG = 17 * 1024 * 1024;
const big = new Set<number>();

beforeAll(async () => {
  fake = await fakeCloud({
    seed: 38,
    from: new Date('2022-06-01T00:00:00Z'),
    to: new Date('2022-06-01T01:00:00Z'),
    everyMinutes: 30,
    jobsPerEnvironment: 1,
    uniform: { executeSteps: ['dbt build', 'dbt docs generate'] },
    sizeOf: (runId, _step, file) => (file === 'manifest.json' && big.has(runId) ? BIG : undefined),
  });
  for (const run of fake.account.runs.slice(0, 3)) big.add(run.id);
  dir = await mkdtemp(join(tmpdir(), 'facts-gate-'));
});
afterAll(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

const harvest = async (out: string, concurrency: number) => {
  const res = await cli(
    [
      'retrieve-artifacts-time-interval',
      '--start-time',
      '2022-06-01T00:00:00Z',
      '--end-time',
      '2022-06-01T03:00:00Z',
      '--output-folder',
      out,
      '--concurrency',
      String(concurrency),
    ],
    { DBT_CLOUD_ACCOUNT_ID: String(fake.accountId), DBT_CLOUD_TOKEN: TOKEN, DBT_CLOUD_HOST: fake.url },
    dir,
  );
  expect(res.code, res.stderr).toBe(0);
};

describe('the facts of big manifests, one run at a time', () => {
  it('stores the same files and the same coverage at once as one run at a time, downloading again only what waited', async () => {
    const before = fake.requestsOf('artifact').length;
    await harvest(join(dir, 'one'), 1);
    const alone = fake.requestsOf('artifact').length - before;
    await harvest(join(dir, 'many'), 8);
    const together = fake.requestsOf('artifact').length - before - alone;
    const one = await listFiles(join(dir, 'one'));
    expect(await listFiles(join(dir, 'many'))).toEqual(one);
    const coverage = one.filter((f) => f.endsWith('coverage.json'));
    expect(coverage.length).toBeGreaterThanOrEqual(fake.account.runs.length);
    for (const f of one.filter((p) => !p.startsWith('_history/')))
      expect(await readFile(join(dir, 'many', f)), f).toEqual(await readFile(join(dir, 'one', f)));
    // At most one second download for each big manifest that had to wait (two steps of each run write one).
    expect(together - alone).toBeLessThanOrEqual(2 * (big.size - 1));
  }, 400_000);
});
