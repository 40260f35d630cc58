import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { harvestRun, type HarvestContext } from '../../lib/harvest/run-harvest.ts';
import type { DbtCloudClient } from '../../lib/dbt-cloud/client.ts';
import { LocalFolder } from '../../lib/storage/local.ts';
import { DEFAULT_ARTIFACTS } from '../../lib/config/options.ts';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import type { FakeRun } from '../../harness/fake-dbt-cloud/model.ts';
import { clientFor, fakeCloud } from '../helpers.ts';
import { listFiles, runFolder } from '../expected.ts';

/** Hostile or broken dbt Cloud answers: a clear failure or a safe result, nothing outside the destination. */
let fake: FakeDbtCloud;
let root: string;
let ctx: HarvestContext & { client: DbtCloudClient };
const patched: FakeRun[] = [];

beforeAll(async () => {
  fake = await fakeCloud({ seed: 11 });
  root = await mkdtemp(join(tmpdir(), 'hostile-'));
  ctx = { client: clientFor(fake), store: new LocalFolder(join(root, 'dest')), artifacts: DEFAULT_ARTIFACTS };
});
afterEach(() => {
  for (const run of patched.splice(0)) run.patch = {};
  fake.clearFaults();
});
afterAll(async () => {
  ctx.client.close();
  await fake.stop();
  await rm(root, { recursive: true, force: true });
});

const pickRun = (n: number): FakeRun => {
  const run = fake.account.runs.filter((r) => r.outcome === 'success' && fake.account.expectedFiles(r.id).length >= 2)[
    n
  ]!;
  patched.push(run);
  return run;
};

describe('hostile or broken dbt Cloud answers', () => {
  it('keeps step names with .., / and NUL inside the run folder', async () => {
    const run = pickRun(0);
    const json = fake.account.runJson(run, new Set(['run_steps']));
    run.patch['run_steps'] = (json['run_steps'] as { name: string }[]).map((s, i) =>
      i >= 3
        ? {
            ...s,
            name: [
              'Invoke dbt with `dbt ../../../../tmp/evil`',
              'Invoke dbt with `dbt run/../../x`',
              'Invoke dbt with `dbt te\u0000st`',
            ][i % 3],
          }
        : s,
    );
    const outcome = await harvestRun(run.id, ctx);
    expect(outcome.status).toBe('stored');
    const everything = await listFiles(root);
    expect(
      everything.every(
        (f) =>
          f.startsWith(`dest/${runFolder(run)}/`) ||
          f.startsWith('dest/_history/rows/') ||
          !f.includes(`run_id=${run.id}`),
      ),
    ).toBe(true);
    const mine = everything.filter((f) => f.includes(`run_id=${run.id}/`));
    expect(mine.length).toBeGreaterThan(1);
    for (const f of mine)
      expect(f.slice(`dest/${runFolder(run)}/`.length)).toMatch(/^(_run\.json|step=\d+\/[a-z0-9_.]+)$/);
  });

  it('fails a run whose answer is not JSON, and stores nothing', async () => {
    const run = pickRun(1);
    fake.inject({ kind: 'run', runId: run.id, fault: { type: 'status', status: 200, body: 'html' } });
    const outcome = await harvestRun(run.id, ctx);
    expect(outcome).toMatchObject({ status: 'failed', error: expect.stringMatching(/not JSON/) });
    expect(await listFiles(join(root, 'dest', runFolder(run)))).toEqual([]);
  });

  it.each([
    ['an id that is a string', { id: 'abc' }],
    ['a finished_at that is not a time', { finished_at: '31/12/2022' }],
    ['run_steps that are not a list', { run_steps: 'none' }],
    ['a step index of 1e300', { run_steps: [{ id: 1, index: 1e300, name: 'Invoke dbt with `dbt run`' }] }],
    ['a negative step index', { run_steps: [{ id: 1, index: -4, name: 'Invoke dbt with `dbt run`' }] }],
    ['a finished_at in the year 50', { finished_at: '0050-06-01 09:10:00.000000+00:00' }],
    ['a finished_at past the year 9999', { finished_at: '9999-12-31 23:30:00.000000-05:00' }],
  ])('fails a run with %s, and stores nothing', async (_name, patch) => {
    const run = pickRun(2);
    Object.assign(run.patch, patch);
    const outcome = await harvestRun(run.id, ctx);
    expect(outcome.status).toBe('failed');
    expect(await listFiles(join(root, 'dest', runFolder(run)))).toEqual([]);
  });

  it('fails an artifact whose Content-Length is absurd for its body, and keeps nothing of it', async () => {
    const run = pickRun(3);
    fake.inject({ kind: 'artifact', runId: run.id, fault: { type: 'short', bytes: 10 } });
    const outcome = await harvestRun(run.id, { ...ctx, sleep: async () => {} });
    expect(outcome).toMatchObject({ status: 'failed', retriable: true });
    const files = await listFiles(join(root, 'dest', runFolder(run)));
    expect(files.filter((f) => f.endsWith('_run.json') || f.endsWith('.partial'))).toEqual([]);
  });

  it.each([
    [
      'a 200 HTML page',
      { contentType: 'text/html; charset=utf-8', text: '<!DOCTYPE html><html><body>Sign in</body></html>' },
    ],
    ['a 200 JSON-typed body that is not JSON', { contentType: 'application/json', text: '<html>proxy error</html>' }],
    ['a 200 empty body', { contentType: 'application/json', text: '' }],
    // Its Content-Length matches what is sent: only reading the JSON to its end tells it was cut.
    [
      'a JSON body cut short, with a Content-Length that matches',
      { contentType: 'application/json', text: '{"metadata": {"dbt_version": "1.9.0"}, "nodes": {"model.a.b": {' },
    ],
  ])('stores no artifact that is %s, and does not mark the run stored', async (_name, body) => {
    const run = pickRun(5);
    const file = fake.account.expectedFiles(run.id)[0]!;
    fake.inject({
      kind: 'artifact',
      runId: run.id,
      step: file.step,
      file: file.file,
      fault: { type: 'body', ...body },
    });
    const outcome = await harvestRun(run.id, { ...ctx, sleep: async () => {} });
    expect(outcome).toMatchObject({
      status: 'failed',
      retriable: true,
      error: expect.stringMatching(/is not JSON|is not a whole JSON document/),
    });
    // The files fetched beside it may be stored whole (write-once; a retry skips them), but not the
    // bad one, and not _run.json.
    const stored = await listFiles(join(root, 'dest', runFolder(run)));
    expect(
      stored.filter(
        (f) =>
          f.startsWith(`step=${file.step}/${file.file === 'run_results.json' ? '' : file.file}`) &&
          f.endsWith(file.file),
      ),
    ).toEqual([]);
    expect(stored.filter((f) => f === '_run.json' || f.endsWith('.partial'))).toEqual([]);
  });

  it('refuses a runs page of 12 MB of nested brackets at once, with bounded memory (20 MB is past the byte cap)', async () => {
    fake.inject({
      kind: 'runs',
      times: 1,
      fault: { type: 'body', contentType: 'application/json', text: '['.repeat(12 * 1024 * 1024) },
    });
    const before = process.memoryUsage().rss;
    const pages = ctx.client.listRuns({ order_by: '-finished_at' });
    const err = await (async () => {
      for await (const _ of pages) return null;
    })().catch((e: unknown) => e);
    expect(String(err), String(err)).toMatch(/nested deeper than 64 levels, past what is read whole; not read/);
    expect(process.memoryUsage().rss - before).toBeLessThan(300 * 1024 * 1024);
  });

  it('refuses run id 0, as every id must be positive', async () => {
    expect(await harvestRun(0, ctx)).toMatchObject({ status: 'failed', retriable: false });
  });

  it('stores artifacts as application/json, whatever dbt Cloud called them', async () => {
    const run = pickRun(6);
    const file = fake.account.expectedFiles(run.id)[0]!;
    fake.inject({
      kind: 'artifact',
      runId: run.id,
      step: file.step,
      file: file.file,
      fault: { type: 'body', contentType: 'text/plain', text: '{"metadata":{}}' },
    });
    const writes: string[] = [];
    const sink = new LocalFolder(join(root, 'typed'));
    const recording = {
      description: sink.description,
      exists: (p: string) => sink.exists(p),
      write: (p: string, b: Readable, o: { contentType: string; size?: number | null }) => {
        writes.push(o.contentType);
        return sink.write(p, b, o);
      },
    };
    expect((await harvestRun(run.id, { ...ctx, store: recording })).status).toBe('stored');
    expect(new Set(writes)).toEqual(new Set(['application/json']));
  });

  it('leaves what is already stored untouched', async () => {
    const run = pickRun(4);
    expect((await harvestRun(run.id, ctx)).status).toBe('stored');
    const before = await listFiles(join(root, 'dest', runFolder(run)));
    run.patch['run_steps'] = 'broken';
    expect((await harvestRun(run.id, ctx)).status).toBe('failed');
    expect(
      (
        await harvestRun(run.id, ctx, {
          jobId: run.jobId,
          finishedAt: new Date(String(fake.account.runJson(run, new Set())['finished_at'])),
        })
      ).status,
    ).toBe('skipped');
    expect(await listFiles(join(root, 'dest', runFolder(run)))).toEqual(before);
  });
});
