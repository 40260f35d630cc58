import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import type { FakeRun } from '../../harness/fake-dbt-cloud/model.ts';
import { startFakeGcs, type FakeGcs } from '../../harness/fake-gcs/server.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';
import { cli } from '../cli.ts';
import { expectedTree, listFiles, sha256File, runFolder, storedProblem, ofRun } from '../expected.ts';

const WINDOW = { start: new Date('2022-06-01T10:00:00Z'), end: new Date('2022-06-01T11:00:00Z') };
const ARGS = [
  'retrieve-artifacts-time-interval',
  '--start-time',
  '2022-06-01T10:00:00',
  '--end-time',
  '2022-06-01T11:00:00',
];

let fake: FakeDbtCloud;
let gcs: FakeGcs;
let env: Record<string, string>;
let work: string;
let atStart: FakeRun;
let atEnd: FakeRun;

beforeAll(async () => {
  // 16 jobs every 3 minutes: over 300 runs finish in the window; the fake's present is 11:30, so
  // the runs of the last half hour are still in progress at the top of the list.
  fake = await fakeCloud({
    from: new Date('2022-06-01T08:00:00Z'),
    to: new Date('2022-06-01T12:00:00Z'),
    now: new Date('2022-06-01T11:30:00Z'),
    everyMinutes: 3,
    jobsPerEnvironment: 4,
  });
  const job = fake.account.jobs.find((j) => j.runGenerateSources && j.generateDocs)!;
  atStart = fake.account.addRun(job.id, { finishedAt: WINDOW.start });
  atEnd = fake.account.addRun(job.id, { finishedAt: WINDOW.end });
  gcs = await startFakeGcs();
  // The fake is on loopback: lift the client-side rate limit (tested on its own) so tests run fast.
  env = {
    DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
    DBT_CLOUD_TOKEN: TOKEN,
    DBT_CLOUD_HOST: fake.url,
    STORAGE_API_ENDPOINT: gcs.url,
    DBT_CLOUD_REQUESTS_PER_MINUTE: '600000',
  };
  work = await mkdtemp(join(tmpdir(), 'harvest-cli-'));
});

afterAll(async () => {
  await fake.stop();
  await gcs.stop();
  await rm(work, { recursive: true, force: true });
});

describe('retrieve-artifacts-time-interval into a folder', () => {
  it("stores exactly the window's runs, byte for byte, with _run.json as one JSON line", async () => {
    const truth = fake.account.runsFinishedIn(WINDOW.start, WINDOW.end);
    const expected = expectedTree(fake.account, truth);
    // The window is as rich as the issue asks.
    expect(truth.length).toBeGreaterThan(250);
    expect(truth.some((r) => r.startedAt < WINDOW.start)).toBe(true);
    expect(truth.map((r) => r.id)).toContain(atStart.id);
    expect(truth.map((r) => r.id)).not.toContain(atEnd.id);
    expect(truth.some((r) => r.outcome === 'error')).toBe(true);
    expect(truth.some((r) => r.outcome === 'clone-failure')).toBe(true);
    expect(truth.some((r) => r.steps.some((s) => s.command === 'source freshness'))).toBe(true);
    expect(truth.some((r) => r.steps.some((s) => s.command === 'docs generate'))).toBe(true);
    expect(fake.account.runs.some((r) => !fake.account.isComplete(r))).toBe(true);
    const cancelledInWindow =
      fake.account.runsFinishedIn(WINDOW.start, WINDOW.end, { includeCancelled: true }).length - truth.length;
    expect(cancelledInWindow).toBeGreaterThan(0);

    const out = join(work, 'folder');
    const result = await cli([...ARGS, '--output-folder', out], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, number>;
    expect(summary).toMatchObject({ runs: truth.length, stored: truth.length, skipped: 0, failed: 0, notReady: 0 });

    const files = await listFiles(out);
    expect(files).toEqual([...expected.keys()].sort());
    for (const [path, obj] of expected)
      expect(await storedProblem(fake.account, obj, await readFile(join(out, path))), path).toBeNull();
    for (const run of truth) {
      const text = await readFile(join(out, runFolder(run), '_run.json'), 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(text.indexOf('\n')).toBe(text.length - 1);
      const stored = JSON.parse(text) as {
        id: number;
        run_steps: unknown[];
        job: { id: number };
        trigger: object;
        environment: object;
        href: string;
      };
      expect(stored.id).toBe(run.id);
      expect(stored.run_steps).toHaveLength(run.steps.length);
      expect(stored.job.id).toBe(run.jobId);
      expect(stored.trigger).toBeTruthy();
      expect(stored.environment).toBeTruthy();
      expect(stored.href).toContain(String(run.id));
    }
    const clone = truth.find((r) => r.outcome === 'clone-failure')!;
    expect(files.filter((f) => ofRun(f, clone.id))).toEqual([
      `_history/rows/date=${clone.finishedAt.toISOString().slice(0, 10)}/job_id=${clone.jobId}/run_id=${clone.id}.json`,
      `${runFolder(clone)}/_run.json`,
    ]);
  });

  it('stores nothing new the second time and reports every run as skipped', async () => {
    const out = join(work, 'folder');
    const before = await listFiles(out);
    const marker = join(out, runFolder(atStart), '_run.json');
    const mtime = (await stat(marker)).mtimeMs;
    const requestsBefore = fake.requests.length;
    const result = await cli([...ARGS, '--output-folder', out], env);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, number>;
    expect(summary.stored).toBe(0);
    expect(summary.skipped).toBe(summary.runs);
    // Stored runs are recognised from the listing alone: only list pages are requested.
    expect(fake.requests.slice(requestsBefore).map((r) => r.kind)).toEqual(Array(summary.requests).fill('runs'));
    expect(await listFiles(out)).toEqual(before);
    expect((await stat(marker)).mtimeMs).toBe(mtime);
  });

  it('stores cancelled runs when asked', async () => {
    const out = join(work, 'with-cancelled');
    const truth = fake.account.runsFinishedIn(WINDOW.start, WINDOW.end, { includeCancelled: true });
    const result = await cli([...ARGS, '--output-folder', out, '--include-cancelled', '--concurrency', '16'], env);
    expect(result.code).toBe(0);
    expect(await listFiles(out)).toEqual([...expectedTree(fake.account, truth).keys()].sort());
  });

  it('retries a body that breaks off, and names a run that keeps failing with exit 1', async () => {
    const out = join(work, 'faults');
    const runs = fake.account
      .runsFinishedIn(new Date('2022-06-01T09:00:00Z'), new Date('2022-06-01T09:10:00Z'))
      .filter((r) => fake.account.expectedFiles(r.id).length > 0);
    const [flaky, broken] = runs;
    fake.inject({ kind: 'artifact', runId: flaky!.id, times: 1, fault: { type: 'short', bytes: 100 } });
    fake.inject({ kind: 'artifact', runId: broken!.id, fault: { type: 'status', status: 403 } });
    const result = await cli(
      [
        'retrieve-artifacts-time-interval',
        '--start-time',
        '2022-06-01T09:00:00Z',
        '--end-time',
        '2022-06-01T09:10:00Z',
        '--output-folder',
        out,
      ],
      env,
    );
    fake.clearFaults();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`run ${broken!.id}`);
    expect(result.stderr).toContain('403');
    const files = await listFiles(out);
    expect(files.some((f) => f.includes(`run_id=${broken!.id}/`) && f.endsWith('_run.json'))).toBe(false);
    const expected = expectedTree(fake.account, [flaky!]);
    for (const [path, obj] of expected) {
      expect(files).toContain(path);
      expect(await storedProblem(fake.account, obj, await readFile(join(out, path))), path).toBeNull();
    }
    expect(files.every((f) => !f.includes('.partial'))).toBe(true);
  });
});

describe('retrieve-artifacts-time-interval into Cloud Storage', () => {
  it('stores the same objects through the real storage client, and skips them the second time', async () => {
    const truth = fake.account.runsFinishedIn(WINDOW.start, WINDOW.end);
    const expected = expectedTree(fake.account, truth, 'dbt/history');
    const result = await cli([...ARGS, '--gcs-bucket-name', 'harvest-bucket', '--output-folder', 'dbt/history'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const objects = gcs.list('harvest-bucket');
    expect(objects.map((o) => o.name)).toEqual([...expected.keys()].sort());
    for (const o of objects) {
      const want = expected.get(o.name)!;
      if (want.step === 0) {
        expect(JSON.parse(o.data!.toString('utf8')).id).toBe(want.runId);
        continue;
      }
      expect(await storedProblem(fake.account, want, o.data!), o.name).toBeNull();
      // Fusion's telemetry is Parquet, the rest JSON.
      expect(o.contentType).toContain(o.name.endsWith('.parquet') ? 'application/x-parquet' : 'application/json');
    }
    expect(objects.some((o) => /\/step=\d+\/metadata\/telemetry-\d+-otel\.parquet$/.test(o.name))).toBe(true);
    const generations = objects.map((o) => o.generation);
    const again = await cli([...ARGS, '--gcs-bucket-name', 'harvest-bucket', '--output-folder', 'dbt/history'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ stored: 0, skipped: truth.length });
    expect(gcs.list('harvest-bucket').map((o) => o.generation)).toEqual(generations);
    expect(
      gcs.requests
        .filter((r) => r.op === 'upload')
        .every((r) => r.method !== 'POST' || r.query['ifGenerationMatch'] === '0'),
    ).toBe(true);
  });
});

describe('retrieve-most-recent-artifact', () => {
  const successes = (jobId: number): FakeRun[] =>
    fake.account.runs
      .filter((r) => r.jobId === jobId && fake.account.isComplete(r) && fake.account.statusOf(r) === 10)
      .sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime());

  it("writes the newest successful run's manifest, byte for byte", async () => {
    const job = fake.account.jobs.find((j) => j.generateDocs)!;
    const newest = successes(job.id)[0]!;
    const out = join(work, 'state');
    const result = await cli(
      ['retrieve-most-recent-artifact', 'manifest', '--job-id', String(job.id), '--output-folder', out],
      env,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lastWithManifest = [...newest.steps].reverse().find((s) => s.files.includes('manifest.json'))!;
    expect(await sha256File(join(out, 'manifest.json'))).toBe(
      await fake.account.artifact(newest.id, lastWithManifest.index, 'manifest.json').sha256(),
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ runId: newest.id, step: lastWithManifest.index });
  });

  it('picks the newest successful run of a commit, and a given step', async () => {
    const job = fake.account.jobs.find((j) => j.executeSteps.length >= 3)!;
    const older = successes(job.id)[3]!;
    const firstWithManifest = older.steps.find((s) => s.files.includes('manifest.json'))!;
    const out = join(work, 'state-commit');
    const result = await cli(
      [
        'retrieve-most-recent-artifact',
        'manifest',
        '--job-id',
        String(job.id),
        '--output-folder',
        out,
        '--commit',
        older.gitSha,
        '--step',
        String(firstWithManifest.index),
      ],
      env,
    );
    expect(result.code).toBe(0);
    expect(await sha256File(join(out, 'manifest.json'))).toBe(
      await fake.account.artifact(older.id, firstWithManifest.index, 'manifest.json').sha256(),
    );
  });

  it('exits 1 when the job has no successful run at that commit', async () => {
    const out = join(work, 'none');
    const result = await cli(
      [
        'retrieve-most-recent-artifact',
        'manifest',
        '--job-id',
        String(fake.account.jobs[0]!.id),
        '--output-folder',
        out,
        '--commit',
        'deadbeefdeadbeef',
      ],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/No successful run/);
    expect(await listFiles(out)).toEqual([]);
  });
});

describe('retrieve-run-artifacts', () => {
  it("writes one run's artifacts under their own names, each from the last step that wrote it", async () => {
    const run = fake.account.runs.find(
      (r) =>
        fake.account.isComplete(r) &&
        fake.account.artifactsSaved(r) &&
        r.steps.some((s) => s.command === 'docs generate' && s.files.length > 0) &&
        r.steps.some((s) => s.files.includes('semantic_manifest.json')) &&
        r.steps.at(-1)!.files.length > 0,
    )!;
    const out = join(work, `run-${run.id}`);
    const result = await cli(['retrieve-run-artifacts', '--run-id', String(run.id), '--output-folder', out], env);
    expect(result.code, result.stderr).toBe(0);
    // Each top-level JSON artifact of the run, under dbt's own name, from the last step that has it,
    // and a Fusion run's telemetry under its own path.
    const names = [
      ...new Set(
        run.steps.flatMap((s) =>
          s.files.filter((f) => /^[^/]+\.json$/.test(f) || /^metadata\/telemetry-\d+-otel\.parquet$/.test(f)),
        ),
      ),
    ].sort();
    expect(await listFiles(out)).toEqual(names);
    for (const name of names) {
      const last = [...run.steps].reverse().find((s) => s.files.includes(name))!;
      expect(await sha256File(join(out, name)), name).toBe(
        await fake.account.artifact(run.id, last.index, name).sha256(),
      );
    }
    expect(JSON.parse(result.stdout)).toMatchObject({ runId: run.id, missing: [] });
  });

  it('takes one step and named artifacts; exits 1 for one the run lacks, 2 for a run that does not exist', async () => {
    const run = fake.account.runs.find(
      (r) =>
        fake.account.isComplete(r) &&
        fake.account.artifactsSaved(r) &&
        r.steps.filter((s) => s.files.includes('manifest.json')).length >= 2,
    )!;
    const first = run.steps.find((s) => s.files.includes('manifest.json'))!;
    const out = join(work, `run-step-${run.id}`);
    const one = await cli(
      [
        'retrieve-run-artifacts',
        '--run-id',
        String(run.id),
        '--output-folder',
        out,
        '--step',
        String(first.index),
        '--artifact',
        'manifest',
      ],
      env,
    );
    expect(one.code, one.stderr).toBe(0);
    expect(await sha256File(join(out, 'manifest.json'))).toBe(
      await fake.account.artifact(run.id, first.index, 'manifest.json').sha256(),
    );
    const lacking = await cli(
      [
        'retrieve-run-artifacts',
        '--run-id',
        String(run.id),
        '--output-folder',
        out,
        '--step',
        String(first.index),
        '--artifact',
        'catalog',
      ],
      env,
    );
    if (!first.files.includes('catalog.json')) {
      expect(lacking.code).toBe(1);
      expect(lacking.stderr).toContain(`Run ${run.id} has no catalog.json in step ${first.index}`);
    }
    const none = await cli(['retrieve-run-artifacts', '--run-id', '999', '--output-folder', out], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/run 999/i);
    const noStep = await cli(
      ['retrieve-run-artifacts', '--run-id', String(run.id), '--output-folder', out, '--step', '99'],
      env,
    );
    expect(noStep.code).toBe(2);
    expect(noStep.stderr).toContain(`run ${run.id} has no dbt step 99`);
  });

  it('refuses a body that is not JSON, and leaves the folder as it was', async () => {
    const run = fake.account.runs.find(
      (r) =>
        fake.account.isComplete(r) && fake.account.artifactsSaved(r) && r.steps.at(-1)!.files.includes('manifest.json'),
    )!;
    const out = join(work, `run-html-${run.id}`);
    const handle = fake.inject({
      kind: 'artifact',
      runId: run.id,
      file: 'manifest.json',
      fault: { type: 'body', contentType: 'application/json', text: '{"nodes": {"model.a": <html>Sign in</html>' },
    });
    const result = await cli(
      ['retrieve-run-artifacts', '--run-id', String(run.id), '--output-folder', out, '--artifact', 'manifest'],
      env,
    );
    fake.clearFaults();
    expect(handle.hits).toBeGreaterThan(0);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/manifest.json is not a whole JSON document/);
    expect(await listFiles(out)).toEqual([]);
  });
});

describe('bad usage', () => {
  const cases: [string, string[], Record<string, string | undefined>, RegExp][] = [
    [
      'an unknown artifact name',
      ['retrieve-most-recent-artifact', 'graph', '--job-id', '1', '--output-folder', 'OUT'],
      {},
      /ARTIFACT must be manifest, catalog, run_results or sources, not "graph"/,
    ],
    [
      'start after end',
      [
        'retrieve-artifacts-time-interval',
        '--start-time',
        '2022-06-02T00:00:00',
        '--end-time',
        '2022-06-01T00:00:00',
        '--output-folder',
        'OUT',
      ],
      {},
      /must be before --end-time/,
    ],
    [
      'a malformed time',
      [
        'retrieve-artifacts-time-interval',
        '--start-time',
        'yesterday',
        '--end-time',
        '2022-06-01T00:00:00',
        '--output-folder',
        'OUT',
      ],
      {},
      /--start-time "yesterday" is not an ISO-8601 time/,
    ],
    [
      'a missing token',
      [
        'retrieve-artifacts-time-interval',
        '--start-time',
        '2022-06-01T00:00:00',
        '--end-time',
        '2022-06-01T01:00:00',
        '--output-folder',
        'OUT',
      ],
      { DBT_CLOUD_TOKEN: undefined },
      /DBT_CLOUD_TOKEN \(--token\) is required/,
    ],
    ['a missing job', ['trigger-job'], { DBT_CLOUD_JOB_ID: undefined }, /DBT_CLOUD_JOB_ID \(--job-id\) is required/],
    [
      'a missing job for the latest artifact',
      ['retrieve-most-recent-artifact', 'manifest', '--output-folder', 'OUT'],
      { DBT_CLOUD_JOB_ID: undefined },
      /DBT_CLOUD_JOB_ID \(--job-id\) is required/,
    ],
    [
      'an unknown option',
      ['retrieve-artifacts-time-interval', '--start', 'x', '--output-folder', 'OUT'],
      {},
      /Unknown option --start; did you mean --start-time\?/,
    ],
    [
      'no destination',
      ['retrieve-artifacts-time-interval', '--start-time', '2022-06-01T00:00:00', '--end-time', '2022-06-01T01:00:00'],
      {},
      /--output-folder DIR, or --gcs-bucket-name/,
    ],
    ['an unknown command', ['harvest'], {}, /Unknown command "harvest"/],
  ];

  it.each(cases)('exits 2 for %s, says what to fix, and writes nothing', async (_name, argv, overrides, message) => {
    const out = join(work, `bad-${Math.random().toString(36).slice(2)}`);
    const requestsBefore = fake.requests.length;
    const result = await cli(
      argv.map((a) => (a === 'OUT' ? out : a)),
      { ...env, ...overrides },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(await listFiles(out)).toEqual([]);
    expect(fake.requests.length).toBe(requestsBefore);
  });

  it('prints help for every command', async () => {
    for (const command of ['retrieve-artifacts-time-interval', 'retrieve-most-recent-artifact', 'trigger-job']) {
      const result = await cli([command, '--help'], {});
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: dbt-harvester ${command}`);
    }
  });
});

describe('trigger-job', () => {
  it('waits for the run and exits 0 on success, 1 on error', async () => {
    const job = fake.account.jobs[0]!;
    const ok = await cli(
      [
        'trigger-job',
        '--job-id',
        String(job.id),
        '--cause',
        'nightly from CI',
        '--steps-override',
        'dbt seed',
        '--steps-override',
        'dbt build',
        '--wait',
        '--poll-interval',
        '1',
      ],
      env,
    );
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ jobId: job.id, status: 'Success' });
    fake.nextTriggeredOutcome = 'error';
    const bad = await cli(
      ['trigger-job', '--job-id', String(job.id), '--cause', 'will fail', '--wait', '--poll-interval', '1'],
      env,
    );
    fake.nextTriggeredOutcome = 'success';
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/ended Error/);
  });
});

describe('the installed command', () => {
  it('runs as its own process from source (node lib/cli/main.ts) with exit status 2 on bad configuration', async () => {
    const run = promisify(execFile);
    const err = await run(
      process.execPath,
      [
        'lib/cli/main.ts',
        'retrieve-artifacts-time-interval',
        '--start-time',
        '2022-06-01T00:00:00',
        '--end-time',
        '2022-06-01T01:00:00',
        '--output-folder',
        join(work, 'x'),
      ],
      { env: { PATH: process.env['PATH'] } },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toMatch(/DBT_CLOUD_ACCOUNT_ID \(--account-id\) is required/);
  });
});
