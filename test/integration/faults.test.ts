import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAccount, FakeRun } from '../../harness/fake-dbt-cloud/model.ts';
import type { FakeDbtCloud, FaultRule } from '../../harness/fake-dbt-cloud/server.ts';
import { startFakeGcs, type FakeGcs } from '../../harness/fake-gcs/server.ts';
import { TOKEN, fakeCloud, until } from '../helpers.ts';
import { cli } from '../cli.ts';
import {
  expectedTree,
  listFiles,
  markersWithoutArtifacts,
  objectMismatches,
  runFolder,
  storedByAnotherWriter,
  storedProblem,
  runIdOf,
} from '../expected.ts';

/**
 * The CLI path under faults: for each fault, harvest a window while the fake injects it (and, where
 * the harvest reports failures, once more after the fault is gone, as the next hour would), then
 * compare the destination with the fake's truth. Prints a table at the end.
 */
const START = '2022-06-01T06:00:00Z';
const END = '2022-06-01T08:00:00Z';
const ARGS = ['retrieve-artifacts-time-interval', '--start-time', START, '--end-time', END];

let fake: FakeDbtCloud;
let gcs: FakeGcs;
let work: string;
let env: Record<string, string>;
const table: { fault: string; expected: number; stored: number; mismatches: number; retries: number }[] = [];

beforeAll(async () => {
  fake = await fakeCloud({ seed: 7 });
  gcs = await startFakeGcs();
  work = await mkdtemp(join(tmpdir(), 'faults-'));
  env = {
    DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
    DBT_CLOUD_TOKEN: TOKEN,
    DBT_CLOUD_HOST: fake.url,
    DBT_CLOUD_REQUESTS_PER_MINUTE: '600000',
    DBT_CLOUD_TIMEOUT_SECONDS: '1',
    STORAGE_API_ENDPOINT: gcs.url,
  };
});

afterAll(async () => {
  await fake.stop();
  await gcs.stop();
  await rm(work, { recursive: true, force: true });
  const lines = [
    '| fault | runs expected | runs stored | mismatches | retries made |',
    '| --- | --- | --- | --- | --- |',
    ...table.map((r) => `| ${r.fault} | ${r.expected} | ${r.stored} | ${r.mismatches} | ${r.retries} |`),
  ];
  process.stdout.write(`\nFault-injection suite (CLI path):\n${lines.join('\n')}\n`);
});

afterEach(() => {
  // A failed case must not leave its fault on for the next one.
  fake.clearFaults();
  fake.latencyMs = 0;
});

const truth = () => fake.account.runsFinishedIn(new Date(START), new Date(END));

/** Mismatches between a folder and the truth: missing, extra, or different files. */
async function compareFolder(
  out: string,
  account: FakeAccount = fake.account,
  runs: readonly FakeRun[] = truth(),
): Promise<{ stored: number; mismatches: string[] }> {
  const expected = expectedTree(account, runs);
  const files = await listFiles(out);
  const mismatches: string[] = [];
  for (const f of files) if (!expected.has(f)) mismatches.push(`extra ${f}`);
  for (const [path, obj] of expected) {
    if (!files.includes(path)) {
      mismatches.push(`missing ${path}`);
      continue;
    }
    const problem = await storedProblem(account, obj, await readFile(join(out, path)));
    if (problem) mismatches.push(`${problem} in ${path}`);
  }
  return { stored: files.filter((f) => f.endsWith('_run.json')).length, mismatches };
}

async function underFault(name: string, rules: FaultRule[], options: { expectFailures?: boolean } = {}): Promise<void> {
  const out = join(work, name.replace(/\W+/g, '-'));
  fake.clearFaults();
  const handles = rules.map((r) => fake.inject(r));
  const first = await cli([...ARGS, '--output-folder', out], env);
  const hits = handles.reduce((n, h) => n + h.hits, 0);
  fake.clearFaults();
  let retries = 0;
  try {
    const summary = JSON.parse(first.stdout) as { retries: number; fileRetries: number };
    retries = summary.retries + summary.fileRetries;
  } catch {
    /* the summary is missing only if the command failed early */
  }
  expect(hits, 'the fault was injected').toBeGreaterThan(0);
  if (options.expectFailures) {
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/run \d+ .*failed/);
    const again = await cli([...ARGS, '--output-folder', out], env);
    expect(again.code, again.stderr).toBe(0);
  } else {
    expect(first.code, first.stderr).toBe(0);
  }
  const { stored, mismatches } = await compareFolder(out);
  table.push({ fault: name, expected: truth().length, stored, mismatches: mismatches.length, retries });
  expect(mismatches).toEqual([]);
  expect(stored).toBe(truth().length);
}

describe('the CLI harvest under faults', () => {
  it(
    '429 storm without Retry-After',
    () =>
      underFault('429 storm, no Retry-After', [
        { kind: 'any', skip: 20, times: 30, fault: { type: 'status', status: 429 } },
      ]),
    180_000,
  );
  it('429 storm with Retry-After', () =>
    underFault('429 storm, Retry-After: 1', [
      { kind: 'any', skip: 20, times: 10, fault: { type: 'status', status: 429, retryAfter: '1' } },
    ]));
  it('500/502/503 with HTML bodies', () =>
    underFault('500/502/503 HTML', [
      { kind: 'run', times: 8, fault: { type: 'status', status: 500 } },
      { kind: 'artifact', times: 8, fault: { type: 'status', status: 502 } },
      { kind: 'runs', times: 2, fault: { type: 'status', status: 503 } },
    ]));
  it('connection resets in the middle of artifacts', () =>
    underFault('reset mid-artifact', [{ kind: 'artifact', times: 20, fault: { type: 'reset', afterBytes: 3000 } }]));
  it('bodies shorter than their Content-Length', () =>
    underFault('short bodies', [{ kind: 'artifact', times: 20, fault: { type: 'short', bytes: 1500 } }]));
  it('answers slower than the timeout', () =>
    underFault('slower than the timeout', [{ kind: 'run', times: 6, fault: { type: 'delay', ms: 1_600 } }]));
  it('a token revoked in the middle of the window: reported, then harvested on the next try', () =>
    underFault(
      'token revoked (401) mid-window',
      [{ kind: 'any', skip: 150, fault: { type: 'status', status: 401, body: 'json' } }],
      { expectFailures: true },
    ));

  it('artifacts_saved false for fresh runs: reported as not harvested yet, stored by the next harvest once true', async () => {
    // "Fresh" is measured against the real clock, so this fake's present is now.
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    const live = await fakeCloud({
      seed: 7,
      from: new Date(now - 6 * 3_600_000),
      to: new Date(now),
      now: new Date(now),
    });
    try {
      const start = new Date(now - 45 * 60_000);
      const runs = live.account.runsFinishedIn(start, new Date(now));
      const fresh = runs
        .filter((r) => r.outcome === 'success' && live.account.expectedFiles(r.id).length > 0)
        .slice(0, 3);
      expect(fresh.length).toBeGreaterThan(0);
      for (const r of fresh) r.patch['artifacts_saved'] = false;
      const out = join(work, 'fresh');
      const args = [
        'retrieve-artifacts-time-interval',
        '--start-time',
        start.toISOString(),
        '--end-time',
        new Date(now).toISOString(),
        '--output-folder',
        out,
      ];
      const liveEnv = { ...env, DBT_CLOUD_ACCOUNT_ID: String(live.accountId), DBT_CLOUD_HOST: live.url };
      const first = await cli(args, liveEnv);
      expect(first.code).toBe(1);
      for (const r of fresh) {
        expect(first.stderr).toContain(`run ${r.id} not harvested yet`);
        expect(await listFiles(join(out, runFolder(r)))).toEqual([]);
      }
      expect((await listFiles(out)).filter((f) => f.endsWith('_run.json'))).toHaveLength(runs.length - fresh.length);
      for (const r of fresh) delete r.patch['artifacts_saved'];
      const again = await cli(args, liveEnv);
      expect(again.code, again.stderr).toBe(0);
      const { stored, mismatches } = await compareFolder(out, live.account, runs);
      table.push({
        fault: `artifacts_saved false for ${fresh.length} fresh runs, then true (reported, stored next time)`,
        expected: runs.length,
        stored,
        mismatches: mismatches.length,
        retries: 0,
      });
      expect(mismatches).toEqual([]);
      expect(stored).toBe(runs.length);
    } finally {
      await live.stop();
    }
  });

  it('two harvests of the same window at once leave one complete copy', async () => {
    const out = join(work, 'concurrent');
    const [a, b] = await Promise.all([
      cli([...ARGS, '--output-folder', out], env),
      cli([...ARGS, '--output-folder', out], env),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const { stored, mismatches } = await compareFolder(out);
    table.push({
      fault: 'two concurrent harvests',
      expected: truth().length,
      stored,
      mismatches: mismatches.length,
      retries: 0,
    });
    expect(mismatches).toEqual([]);
  });

  it('a harvest killed with SIGKILL mid-run is redone with no partial file left', async () => {
    const out = join(work, 'killed');
    fake.latencyMs = 5;
    // One artifact stalls half-way, so the kill always finds a file half written.
    const STALL_AFTER = 1000;
    const logged = fake.requests.length;
    const stall = fake.inject({
      kind: 'artifact',
      // A manifest: always larger than the bytes sent before the stall.
      file: 'manifest.json',
      skip: 10,
      times: 1,
      fault: { type: 'stall', afterBytes: STALL_AFTER },
    });
    const child = spawn(process.execPath, ['lib/cli/main.ts', ...ARGS, '--output-folder', out, '--concurrency', '4'], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: 'ignore',
    });
    const exited = once(child, 'exit');
    const running = (): true => {
      if (child.exitCode !== null)
        throw new Error(`the harvest ended (exit ${child.exitCode}) before it could be killed mid-run`);
      return true;
    };
    // Kill at a state seen on disk, not at a moment hoped for: the stalled artifact's temporary file
    // holds exactly the bytes sent before the stall, and other runs are complete.
    let stalledFile = '';
    let complete = 0;
    try {
      stalledFile = await until('the stalled artifact half written in a temporary file', async () => {
        running();
        const request = fake.requests.slice(logged).find((r) => r.fault === 'stall');
        const run = request?.runId !== undefined ? fake.account.run(request.runId) : undefined;
        if (!request || !run) return undefined;
        const folder = join(out, runFolder(run), `step=${request.step}`);
        for (const name of (await readdir(folder).catch(() => [])).filter((n) => n.endsWith('.partial'))) {
          if ((await stat(join(folder, name)).catch(() => undefined))?.size === STALL_AFTER) return join(folder, name);
        }
        return undefined;
      });
      await until(
        () => `5 runs stored before the kill (${complete} so far)`,
        async () => {
          complete = (await listFiles(out)).filter((f) => f.endsWith('_run.json')).length;
          return running() && complete >= 5;
        },
      );
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    fake.latencyMs = 0;
    fake.clearFaults();
    expect(stall.hits).toBe(1);
    const partial = (await listFiles(out)).filter((f) => f.endsWith('.partial'));
    expect(partial).toContain(relative(out, stalledFile).split(sep).join('/'));
    // What the kill left: no _run.json without every artifact of its run (the marker is written last).
    expect(markersWithoutArtifacts(expectedTree(fake.account, truth()), new Set(await listFiles(out)))).toEqual([]);
    const again = await cli([...ARGS, '--output-folder', out], env);
    expect(again.code, again.stderr).toBe(0);
    const { stored, mismatches } = await compareFolder(out);
    table.push({
      fault: `SIGKILL mid-harvest (${partial.length} partial files left by the kill)`,
      expected: truth().length,
      stored,
      mismatches: mismatches.length,
      retries: 0,
    });
    expect(mismatches).toEqual([]);
  });

  it('Cloud Storage failing with 5xx, and objects another writer stored first (412)', async () => {
    const expected = expectedTree(fake.account, truth(), 'faults');
    // Another harvester already stored some artifacts (same bytes): our writes meet 412.
    await storedByAnotherWriter(
      gcs,
      'fault-bucket',
      fake.account,
      [...expected].filter(([, o]) => o.step > 0).slice(0, 10),
    );
    const rule = gcs.fail({ op: 'upload', status: 503, times: 15 });
    const result = await cli([...ARGS, '--gcs-bucket-name', 'fault-bucket', '--output-folder', 'faults'], env);
    expect(rule.hits).toBeGreaterThan(0);
    expect(result.code, result.stderr).toBe(0);
    const objects = gcs.list('fault-bucket');
    const ids = new Set(truth().map((r) => r.id));
    const strays = objects.filter((o) => !ids.has(runIdOf(o.name))).map((o) => `stray ${o.name}`);
    const mismatches = [...strays, ...(await objectMismatches(fake.account, truth(), objects, 'faults'))].length;
    table.push({
      fault: 'GCS 503 on uploads + 412 races',
      expected: truth().length,
      stored: objects.filter((o) => o.name.endsWith('_run.json')).length,
      mismatches,
      retries: rule.hits ?? 0,
    });
    expect(mismatches).toBe(0);
  });
});
