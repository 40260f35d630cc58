import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { cli } from '../cli.ts';
import { expectedTree, listFiles, runFolder, storedProblem } from '../expected.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';

/**
 * The dbt platform of 2026 as the fake serves it: Fusion (dbt v2) runs, with a telemetry Parquet
 * file per dbt step, `dbt freshness` and its freshness.json, a v20 manifest, run results without
 * the fields Fusion leaves out and with reused nodes; dbt 1.10's no-op exposures; docs generate
 * listing compiled tests as successes. Each is harvested whole and counted as it should be.
 */
const WINDOW = [
  'retrieve-artifacts-time-interval',
  '--start-time',
  '2022-06-01T06:00:00Z',
  '--end-time',
  '2022-06-01T12:00:00Z',
];
const START = new Date('2022-06-01T06:00:00Z');
const END = new Date('2022-06-01T12:00:00Z');
let fake: FakeDbtCloud;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await fakeCloud();
  work = await mkdtemp(join(tmpdir(), 'fusion-'));
  env = {
    DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
    DBT_CLOUD_TOKEN: TOKEN,
    DBT_CLOUD_HOST: fake.url,
    DBT_CLOUD_REQUESTS_PER_MINUTE: '600000',
  };
});
afterAll(async () => {
  await fake.stop();
  await rm(work, { recursive: true, force: true });
});

const TELEMETRY = /\/step=(\d+)\/metadata\/telemetry-(\d+)-otel\.parquet$/;

describe('Fusion runs, dbt freshness, no-op and reused nodes', () => {
  it('stores every telemetry file byte for byte and every freshness.json, nothing extra, without blind requests', async () => {
    const truth = fake.account.runsFinishedIn(START, END);
    const fusion = truth.filter((r) => fake.account.job(r.jobId).fusion);
    const core = truth.filter((r) => !fake.account.job(r.jobId).fusion);
    expect(fusion.length).toBeGreaterThan(5);
    expect(fusion.some((r) => r.steps.some((s) => s.command === 'freshness' && s.files.length > 0))).toBe(true);
    const logged = fake.requests.length;
    const out = join(work, 'window');
    const r = await cli([...WINDOW, '--output-folder', out], env);
    expect(r.code, r.stderr).toBe(0);
    const expected = expectedTree(fake.account, truth);
    const stored = await listFiles(out);
    expect(stored).toEqual([...expected.keys()].sort());
    const telemetry = stored.filter((f) => TELEMETRY.test(f));
    expect(telemetry.length).toBeGreaterThan(fusion.length);
    for (const f of telemetry) {
      const [, step, named] = TELEMETRY.exec(f)!;
      expect(named, f).toBe(step);
      expect(await storedProblem(fake.account, expected.get(f)!, await readFile(join(out, f))), f).toBeNull();
    }
    expect(stored.some((f) => f.endsWith('/freshness.json'))).toBe(true);
    // Telemetry was asked of Fusion runs' dbt steps only, and each one asked for had it: no 404.
    const asked = fake.requests.slice(logged).filter((q) => q.kind === 'artifact' && q.path.endsWith('.parquet'));
    expect(asked.length).toBe(telemetry.length);
    expect(asked.filter((q) => q.status !== 200)).toEqual([]);
    expect(asked.some((q) => core.some((c) => c.id === q.runId))).toBe(false);
  });

  it('counts freshness.json, no-op and reused nodes apart, and no compiled test', async () => {
    const out = join(work, 'window');
    const file = join(work, 'history.json');
    const r = await cli(['history', '--from', out, '--format', 'json', '--out', file], env);
    expect(r.code, r.stderr).toBe(0);
    const runs = (JSON.parse(await readFile(file, 'utf8')) as { runs: Record<string, unknown>[] }).runs;
    const byId = new Map(runs.map((row) => [row['runId'] as number, row]));
    const truth = fake.account.runsFinishedIn(START, END);
    // A Fusion run with dbt freshness: its counts are freshness.json's, sources and models.
    const fresh = truth.find((run) => run.outcome === 'success' && run.steps.some((s) => s.command === 'freshness'))!;
    const step = fresh.steps.find((s) => s.command === 'freshness')!;
    const text = await readFile(join(out, runFolder(fresh), `step=${step.index}`, 'freshness.json'), 'utf8');
    const results = (JSON.parse(text) as { results: { unique_id: string; status: string }[] }).results;
    expect(results.some((x) => x.unique_id.startsWith('model.'))).toBe(true);
    const want = { pass: 0, warn: 0, error: 0 };
    for (const x of results) want[x.status.toLowerCase() as keyof typeof want]++;
    expect(byId.get(fresh.id)!['freshness']).toEqual(want);
    // Reused nodes (Fusion) and no-op nodes (dbt 1.10's exposures) count apart, and have no time.
    const reused = runs.filter((row) => (row['models'] as { reused: number }).reused > 0);
    expect(reused.length).toBeGreaterThan(0);
    for (const row of reused)
      for (const { status } of row['slowest'] as { status: string }[])
        expect(['reused', 'no-op', 'skipped']).not.toContain(status);
    // docs generate's compiled tests are not counted: a run whose only tests are compiled ones has none.
    const docsOnly = truth.find(
      (run) =>
        run.outcome === 'success' &&
        run.steps.some((s) => s.command === 'docs generate') &&
        !run.steps.some((s) => s.command === 'build' || s.command === 'test'),
    );
    expect(docsOnly).toBeDefined();
    const t = byId.get(docsOnly!.id)!['tests'] as Record<string, number>;
    expect(Object.values(t).reduce((a, b) => a + b, 0)).toBe(0);
    expect((byId.get(docsOnly!.id)!['models'] as Record<string, number>)['success']).toBe(0);
  });

  it('never stores a telemetry file that is not Parquet: a maintenance page answered 200, a cut body', async () => {
    const run = fake.account
      .runsFinishedIn(START, END)
      .find((r) => fake.account.job(r.jobId).fusion && r.outcome === 'success' && r.steps.at(-1)!.files.length > 0)!;
    const step = run.steps.find((s) => s.files.some((f) => f.endsWith('.parquet')))!;
    const file = `metadata/telemetry-${step.index}-otel.parquet`;
    const harvest = async (name: string) => {
      const out = join(work, name);
      const res = await cli(
        [
          'retrieve-artifacts-time-interval',
          '--start-time',
          run.finishedAt.toISOString(),
          '--end-time',
          new Date(run.finishedAt.getTime() + 1).toISOString(),
          '--output-folder',
          out,
        ],
        env,
      );
      return { res, out, path: join(out, runFolder(run), `step=${step.index}`, file) };
    };
    const page = '<html><body><h1>dbt is down for maintenance</h1></body></html>';
    for (const [name, fault] of [
      ['html', { type: 'body' as const, contentType: 'text/html', text: page }],
      ['typed-as-parquet', { type: 'body' as const, contentType: 'application/x-parquet', text: page }],
      ['cut', { type: 'short' as const, bytes: 900 }],
    ] as const) {
      // Once: retried, and the whole file stored.
      fake.inject({ kind: 'artifact', runId: run.id, file, times: 1, fault });
      const once = await harvest(`${name}-once`);
      expect(once.res.code, once.res.stderr).toBe(0);
      const bytes = await readFile(once.path);
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('PAR1');
      expect(bytes.length).toBe(fake.account.artifact(run.id, step.index, file).size);
      // Always: the run fails (exit 1, named), and nothing of the file, nor the run's _run.json, is stored.
      fake.inject({ kind: 'artifact', runId: run.id, file, fault });
      const always = await harvest(`${name}-always`);
      fake.clearFaults();
      expect(always.res.code).toBe(1);
      expect(always.res.stderr).toMatch(
        new RegExp(`${run.id}[\\s\\S]*(not Parquet|not a whole Parquet file|broke off)`),
      );
      const left = await listFiles(always.out);
      expect(left.filter((f) => f.endsWith('.parquet') || f.endsWith('_run.json') || f.endsWith('.partial'))).toEqual(
        [],
      );
    }
  });

  it('stores an artifact of a schema newer than it knows as it is, with one warning, never refusing it', async () => {
    const run = fake.account
      .runsFinishedIn(START, END)
      .find((r) => r.outcome === 'success' && r.steps.filter((s) => s.files.includes('manifest.json')).length >= 2)!;
    const future = JSON.stringify({
      metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v13.json', dbt_version: '2.3.0' },
      nodes: {},
      sources: {},
    });
    fake.inject({
      kind: 'artifact',
      runId: run.id,
      file: 'manifest.json',
      fault: { type: 'body', contentType: 'application/json', text: future },
    });
    const out = join(work, 'future');
    const res = await cli(
      [
        'retrieve-artifacts-time-interval',
        '--start-time',
        run.finishedAt.toISOString(),
        '--end-time',
        new Date(run.finishedAt.getTime() + 1).toISOString(),
        '--output-folder',
        out,
      ],
      env,
    );
    fake.clearFaults();
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr.match(/says schema manifest v13, newer than this version knows/g)).toHaveLength(1);
    const stored = (await listFiles(out)).filter((f) => f.endsWith('/manifest.json'));
    expect(stored.length).toBeGreaterThanOrEqual(2);
    for (const f of stored) expect(await readFile(join(out, f), 'utf8')).toBe(future);
  });
});
