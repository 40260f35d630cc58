import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGcs, type FakeGcs } from '../../harness/fake-gcs/server.ts';
import { writeHistoryDemo } from '../../harness/history-demo.ts';
import { HistoryRowSchema, type HistoryRow } from '../../lib/core/history-row.ts';
import { runV2 } from '../../lib/history/export.ts';
import { FAILED_RUNS_EXPLAINED } from '../../lib/history/history.ts';
import { cli } from '../cli.ts';
import { listFiles } from '../expected.ts';

/**
 * dbt-harvester history over a month of a realistic project's runs (harness/history-demo.ts): the
 * JSON contract a user scripts against, CSV, the rollup that makes the second read cost a request
 * per day rather than per run (from a folder and from a bucket), and bad files reported and left
 * out, never fatal.
 */
let dir: string;
let demo: string;
let runs: number;
let gcs: FakeGcs;

beforeAll(async () => {
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  dir = await mkdtemp(join(tmpdir(), 'history-'));
  demo = join(dir, 'demo');
  ({ runs } = await writeHistoryDemo(demo));
  gcs = await startFakeGcs();
  for (const path of await listFiles(demo))
    gcs.put('runs', `dbt/${path}`, await readFile(join(demo, path)), 'application/json');
}, 120_000);

afterAll(async () => {
  await gcs?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Output {
  schemaVersion: number;
  runs: Record<string, unknown>[];
  coverage: { latest: Record<string, unknown>[]; drops: Record<string, unknown>[] };
  jobs: { jobId: number; runs: number }[];
  tests: { failingNow: { test: string }[]; flaky: { test: string }[] };
  models: { regressions: { model: string }[] };
  freshness: { now: { source: string; status: string }[] };
  stats: { reads: number; fromDays: number; fromRows: number; written: { days: number } };
}

const history = async (from: string, extra: string[] = []) => {
  const res = await cli(['history', '--from', from, '--format', 'json', ...extra], { STORAGE_API_ENDPOINT: gcs.url });
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as Output;
};

describe('history', () => {
  it('writes every run with the fields of its contract', async () => {
    const out = await history(demo, ['--read-only']);
    expect(out.runs).toHaveLength(runs);
    const counts = (o: unknown, keys: string[]) => {
      expect(Object.keys(o as object).sort()).toEqual([...keys].sort());
      for (const k of keys) expect(Number.isInteger((o as Record<string, number>)[k])).toBe(true);
    };
    for (const r of out.runs) {
      expect(typeof r['runId']).toBe('number');
      expect(typeof r['jobId']).toBe('number');
      expect(r['finishedAt']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(['success', 'error', 'cancelled']).toContain(r['status']);
      expect(r['durationSeconds'] === null || (r['durationSeconds'] as number) >= 0).toBe(true);
      expect(r['queuedSeconds'] === null || (r['queuedSeconds'] as number) >= 0).toBe(true);
      // The contract's counts, and nodes that did no work counted apart (no-op, reused).
      counts(r['tests'], ['pass', 'fail', 'warn', 'error', 'skipped', 'reused']);
      counts(r['models'], ['success', 'error', 'skipped', 'noop', 'reused']);
      counts(r['freshness'], ['pass', 'warn', 'error']);
    }
    // In time order, and each the row the harvester stored for it.
    const times = out.runs.map((r) => r['finishedAt'] as string);
    expect(times).toEqual([...times].sort());
    const first = out.runs[0] as unknown as HistoryRow;
    const stored = await readFile(
      join(
        demo,
        `_history/rows/date=${first.finishedAt.slice(0, 10)}/job_id=${first.jobId}/run_id=${first.runId}.json`,
      ),
      'utf8',
    );
    expect(first).toEqual(runV2(HistoryRowSchema.parse(JSON.parse(stored))));
    // Version 2: a schemaVersion; objects, never tuples; camelCase keys; no float noise.
    expect(out.schemaVersion).toBe(2);
    const slow = out.runs.find((r) => (r['slowest'] as unknown[]).length > 0)!;
    expect((slow['slowest'] as unknown[])[0]).toEqual({
      model: expect.any(String),
      seconds: expect.any(Number),
      status: expect.any(String),
    });
    const text = JSON.stringify(out);
    expect(text).not.toMatch(/"[a-z]+_[a-z_]+":/);
    expect(text).not.toMatch(/\d\.\d{5,}/);
    expect(Object.keys(out.coverage.latest[0]!)).toEqual(
      expect.arrayContaining(['jobId', 'jobName', 'runId', 'finishedAt', 'tables', 'tablesTotal']),
    );
    // What the demo put in it: a model that got slower, a test failing now, a flaky test, a stale source.
    expect(out.models.regressions.map((r) => r.model)).toContain('model.jaffle_shop.fct_orders');
    expect(out.tests.failingNow.map((t) => t.test)).toContain('test.jaffle_shop.unique_fct_payments_payment_id');
    expect(out.tests.flaky.map((t) => t.test)).toContain(
      'test.jaffle_shop.accepted_values_stg_payments_payment_method',
    );
    expect(out.freshness.now).toContainEqual(
      expect.objectContaining({ source: 'source.jaffle_shop.stripe.payments', status: 'error' }),
    );
    // --read-only wrote nothing.
    expect((await listFiles(demo)).filter((f) => f.startsWith('_history/days/'))).toEqual([]);
  });

  it('compacts past days once, so the next read costs a request per day, not per run', async () => {
    const copy = join(dir, 'compacting');
    for (const path of await listFiles(demo)) {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(copy, path, '..'), { recursive: true });
      await writeFile(join(copy, path), await readFile(join(demo, path)));
    }
    const first = await history(copy);
    expect(first.stats.fromRows).toBe(runs);
    expect(first.stats.written.days).toBeGreaterThan(25);
    const second = await history(copy);
    expect(second.runs).toEqual(first.runs);
    expect(second.stats.fromDays).toBeGreaterThan(runs * 0.9);
    expect(second.stats.reads).toBeLessThan(runs / 5);
  });

  it('reads a bucket as a folder, and its second read lists and reads a few hundred objects, not a run each', async () => {
    const before = gcs.requests.length;
    const first = await history('gs://runs/dbt');
    const firstRequests = gcs.requests.length - before;
    const mark = gcs.requests.length;
    const second = await history('gs://runs/dbt');
    const secondRequests = gcs.requests.slice(mark);
    expect(second.runs).toEqual(first.runs);
    expect(first.runs).toHaveLength(runs);
    expect(firstRequests).toBeGreaterThan(runs);
    expect(secondRequests.filter((r) => r.op === 'get').length).toBeLessThan(runs / 5);
    // Plus, for the failed runs the report explains, their summaries (a listing and a few reads each).
    expect(secondRequests.length).toBeLessThan(runs / 4 + 4 * FAILED_RUNS_EXPLAINED);
  });

  it('writes CSV, never handing a spreadsheet a formula', async () => {
    const csvDir = join(dir, 'csv');
    const row = JSON.parse(
      await readFile(join(demo, (await listFiles(demo)).find((f) => f.startsWith('_history/rows/'))!), 'utf8'),
    ) as HistoryRow;
    const evil = { ...row, runId: 1, jobName: '=HYPERLINK("https://evil.example","x")' };
    const path = `_history/rows/date=${row.finishedAt.slice(0, 10)}/job_id=${row.jobId}/run_id=1.json`;
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(csvDir, path, '..'), { recursive: true });
    await writeFile(join(csvDir, path), JSON.stringify(evil));
    await mkdir(join(csvDir, '_history/built'), { recursive: true });
    await writeFile(join(csvDir, '_history/built/at=x.json'), '{}');
    const res = await cli(['history', '--from', csvDir, '--format', 'csv', '--read-only'], {});
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]!.split(',').slice(0, 7)).toEqual([
      'runId',
      'jobId',
      'jobName',
      'finishedAt',
      'status',
      'durationSeconds',
      'queuedSeconds',
    ]);
    expect(lines[1]).toContain(`"'=HYPERLINK(""https://evil.example"",""x"")"`);
    // Every field of a run, the later ones after the first columns.
    expect(lines[0]!.split(',')).toEqual(
      expect.arrayContaining([
        'unitTests.pass',
        'slotMs',
        'trigger',
        'gitBranch',
        'projectId',
        'environmentId',
        'models.noop',
        'tests.reused',
      ]),
    );
  });

  it('never links a stored row whose run link is not https (a javascript: link is shown as the bare id)', async () => {
    const linkDir = join(dir, 'links');
    const row = JSON.parse(
      await readFile(join(demo, (await listFiles(demo)).find((f) => f.startsWith('_history/rows/'))!), 'utf8'),
    ) as HistoryRow;
    const { mkdir } = await import('node:fs/promises');
    for (const [runId, href] of [
      [1, 'javascript:alert(document.domain)'],
      [2, 'JaVaScRiPt:alert(1)'],
      [3, 'http://cloud.example/runs/3'],
    ] as const) {
      const path = `_history/rows/date=${row.finishedAt.slice(0, 10)}/job_id=${row.jobId}/run_id=${runId}.json`;
      await mkdir(join(linkDir, path, '..'), { recursive: true });
      await writeFile(join(linkDir, path), JSON.stringify({ ...row, runId, href }));
    }
    const out = join(linkDir, 'report.html');
    const res = await cli(['history', '--from', linkDir, '--out', out, '--read-only'], {});
    expect(res.code, res.stderr).toBe(0);
    const html = await readFile(out, 'utf8');
    expect(html.toLowerCase()).not.toContain('javascript:');
    expect(html).not.toContain('http://cloud.example');
    const json = await cli(['history', '--from', linkDir, '--format', 'json', '--read-only'], {});
    expect((JSON.parse(json.stdout) as Output).runs.map((r) => r.href)).toEqual([null, null, null]);
  });

  it('reports a bad or truncated stored file and leaves it out, never failing the report', async () => {
    const bad = join(dir, 'bad');
    const files = (await listFiles(demo)).filter((f) => f.startsWith('_history/'));
    const { mkdir } = await import('node:fs/promises');
    for (const path of files) {
      await mkdir(join(bad, path, '..'), { recursive: true });
      await writeFile(join(bad, path), await readFile(join(demo, path)));
    }
    const rows = files.filter((f) => f.startsWith('_history/rows/'));
    const text = await readFile(join(bad, rows[3]!), 'utf8');
    await writeFile(join(bad, rows[3]!), text.slice(0, text.length / 2));
    await writeFile(join(bad, rows[7]!), '{"v":1,"runId":"not a number"}');
    // Nested 100,000 deep within a row's bytes: parsed without recursion, then refused as a row.
    await writeFile(join(bad, rows[9]!), `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    const res = await cli(['history', '--from', bad, '--format', 'json', '--read-only'], {});
    expect(res.code, res.stderr).toBe(0);
    expect((JSON.parse(res.stdout) as Output).runs).toHaveLength(rows.length - 3);
    expect(res.stderr).toContain(`${rows[9]} left out: ${rows[9]} is not a history row this version reads`);
    expect(res.stderr).toContain(`${rows[3]} left out: ${rows[3]} is not JSON`);
    expect(res.stderr).toContain(`${rows[7]} left out: ${rows[7]} is not a history row this version reads`);
  });

  it('draws a window of hours an hour at a time, a month a day at a time, test failures on a scale of their own, many jobs a row each', async () => {
    const bars = (html: string, heading: string) => {
      const at = html.indexOf(`>${heading}</h3>`);
      expect(at, heading).toBeGreaterThan(0);
      const svg = html.slice(at, html.indexOf('</svg>', at));
      return { count: (svg.match(/aria-roledescription="bar"/g) ?? []).length, svg };
    };
    const read = await cli(['history', '--from', demo, '--out', join(dir, 'month.html'), '--read-only'], {});
    expect(read.code, read.stderr).toBe(0);
    const month = await readFile(join(dir, 'month.html'), 'utf8');
    expect(bars(month, 'Runs per day, by outcome').svg).toContain('day (UTC)');
    // Failures apart: its bars are warnings, failures and errors only, its axis scaled to them.
    const failures = bars(month, 'Tests that did not pass, per day');
    expect(failures.count).toBeGreaterThan(0);
    expect(failures.svg).not.toMatch(/result: (pass|skipped)/);
    const hours = await mkdtemp(join(tmpdir(), 'history-hours-'));
    try {
      // More than six jobs: the duration chart draws a row a job rather than their lines over one another.
      await writeHistoryDemo(hours, { days: 1, extraJobs: 4 });
      const res = await cli(['history', '--from', hours, '--out', join(hours, 'r.html'), '--read-only'], {});
      expect(res.code, res.stderr).toBe(0);
      const html = await readFile(join(hours, 'r.html'), 'utf8');
      const runs = bars(html, 'Runs per hour, by outcome');
      expect(runs.svg).toContain('hour (UTC)');
      // The hourly job alone ran in most of the day's hours: a bar each, not one giant bar.
      expect(runs.count).toBeGreaterThanOrEqual(12);
      expect(bars(html, 'Test results per hour').count).toBeGreaterThanOrEqual(12);
      const duration = bars(html, 'Duration').svg;
      expect(duration.match(/>minutes<\/text>/g)!.length).toBeGreaterThan(6);
      expect(duration).toMatch(/>[A-Z][a-z]{2} \d{2} \d{2}:\d{2}<\/text>/);
    } finally {
      await rm(hours, { recursive: true, force: true });
    }
  });

  it('writes one self-contained HTML report, and says so when nothing is stored', async () => {
    const out = join(dir, 'report.html');
    const res = await cli(['history', '--from', demo, '--out', out, '--read-only'], {});
    expect(res.code, res.stderr).toBe(0);
    const html = await readFile(out, 'utf8');
    for (const heading of [
      'Run health',
      'Runs that failed',
      'Slowest models now',
      'Regressions',
      'Failing now',
      'Flaky tests',
      'Past their threshold now',
      'Largest drops between consecutive runs',
    ])
      expect(html).toContain(`>${heading}</h`);
    // Self-contained: nothing fetched (the job filter's script is inline, and the only one).
    expect(html).not.toMatch(/<script[^>]*\ssrc=|<link |src="http|url\(/);
    expect(html.match(/<script>/g)).toHaveLength(1);
    const empty = await mkdtemp(join(tmpdir(), 'history-empty-'));
    const none = await cli(['history', '--from', empty, '--format', 'json'], {});
    await rm(empty, { recursive: true });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no stored run in /);
    // The old command works as it did.
    const coverage = await cli(['coverage', 'history', '--from', demo, '--format', 'json', '--read-only'], {});
    expect(coverage.code).toBe(0);
    expect((JSON.parse(coverage.stdout) as { points: unknown[] }).points.length).toBeGreaterThanOrEqual(20);
  });
});
