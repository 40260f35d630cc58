import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harvestRun, type HarvestContext } from '../../lib/harvest/run-harvest.ts';
import type { DbtCloudClient } from '../../lib/dbt-cloud/client.ts';
import { LocalFolder } from '../../lib/storage/local.ts';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { clientFor, fakeCloud } from '../helpers.ts';
import { expectedTree, listFiles, runFolder } from '../expected.ts';

let fake: FakeDbtCloud;
let dir: string;
let ctx: HarvestContext & { client: DbtCloudClient };

beforeAll(async () => {
  fake = await fakeCloud();
  dir = await mkdtemp(join(tmpdir(), 'harvest-run-'));
  ctx = { client: clientFor(fake), store: new LocalFolder(dir), artifacts: 'all' };
});
afterAll(async () => {
  ctx.client.close();
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('harvestRun and artifacts_saved', () => {
  it('waits for a fresh run whose artifacts are not saved yet, then stores it once they are', async () => {
    const run = fake.account.runs.find((r) => r.outcome === 'success' && fake.account.expectedFiles(r.id).length > 2)!;
    run.patch['artifacts_saved'] = false;
    const justAfter = () => run.finishedAt.getTime() + 10 * 60_000;
    const first = await harvestRun(run.id, { ...ctx, now: justAfter });
    expect(first).toMatchObject({ status: 'not-ready' });
    expect(await listFiles(join(dir, runFolder(run)))).toEqual([]);
    delete run.patch['artifacts_saved'];
    const second = await harvestRun(run.id, { ...ctx, now: justAfter });
    // Every artifact, and each step's summaries (not _run.json, not the history row).
    expect(second).toMatchObject({ status: 'stored', files: expectedTree(fake.account, [run]).size - 2 });
  });

  it('stores an old run whose artifacts were never saved as _run.json alone', async () => {
    const run = fake.account.runs.find((r) => r.outcome === 'error' && fake.account.expectedFiles(r.id).length > 0)!;
    run.patch['artifacts_saved'] = false;
    const outcome = await harvestRun(run.id, { ...ctx, now: () => run.finishedAt.getTime() + 2 * 3_600_000 });
    delete run.patch['artifacts_saved'];
    expect(outcome).toMatchObject({ status: 'stored', files: 0 });
    expect(await listFiles(join(dir, runFolder(run)))).toEqual(['_run.json']);
  });

  it('stores a run that failed before dbt at once: there is nothing to wait for', async () => {
    const run = fake.account.runs.find((r) => r.outcome === 'clone-failure')!;
    const outcome = await harvestRun(run.id, { ...ctx, now: () => run.finishedAt.getTime() + 60_000 });
    expect(outcome).toMatchObject({ status: 'stored', files: 0 });
    expect(fake.requestsOf('artifact', run.id)).toHaveLength(0);
  });

  it('reports a run still in progress as not ready', async () => {
    const live = await fakeCloud({ now: new Date('2022-06-01T12:00:00Z') });
    const c = clientFor(live);
    const run = live.account.runs.find((r) => !live.account.isComplete(r))!;
    expect(await harvestRun(run.id, { ...ctx, client: c })).toMatchObject({ status: 'not-ready' });
    c.close();
    await live.stop();
  });

  it('skips, without storing, a run outside the configured project', async () => {
    const run = [...fake.account.runs]
      .reverse()
      .find((r) => r.outcome === 'success' && r.projectId === fake.account.projects[1])!;
    const outcome = await harvestRun(run.id, {
      ...ctx,
      scope: { projectId: fake.account.projects[0], includeCancelled: false },
    });
    expect(outcome).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/outside/) });
    expect(await listFiles(join(dir, runFolder(run)))).toEqual([]);
  });

  it('fails, without retrying, a run dbt Cloud does not know', async () => {
    expect(await harvestRun(12345, ctx)).toMatchObject({
      status: 'failed',
      retriable: false,
      error: expect.stringMatching(/not found/),
    });
  });
});
