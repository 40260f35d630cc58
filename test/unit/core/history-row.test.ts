import { describe, expect, it } from 'vitest';
import { HistoryRowSchema, historyRow, runForRow, safeRunLink, type StepFacts } from '../../../lib/core/history-row.ts';
import { seededRandom as random } from '../../../harness/fake-dbt-cloud/prng.ts';
import type { NodeResult } from '../../../lib/core/run-facts.ts';

/** A run's row: the contract of `history --format json`'s runs, counted as the issue defines. */
const node = (id: string, status: string, seconds: number | null = 1, extra: Partial<NodeResult> = {}): NodeResult => ({
  id,
  status,
  seconds,
  bytesProcessed: null,
  slotMs: null,
  message: null,
  ...extra,
});

const RUN = {
  id: 9001,
  account_id: 1,
  project_id: 2,
  environment_id: 3,
  job_definition_id: 40,
  status: 20,
  created_at: '2026-11-01 10:00:00.000000+00:00',
  started_at: '2026-11-01 10:00:30.500000+00:00',
  finished_at: '2026-11-01 10:05:00.000000+00:00',
  href: 'https://cloud.getdbt.com/deploy/1/projects/2/runs/9001/',
  job: { name: 'Nightly' },
  trigger: { cause: 'Triggered by the schedule' },
  run_steps: [
    { index: 4, name: 'Invoke dbt with `dbt build`', status: 10 },
    { index: 5, name: 'Invoke dbt with `dbt test`', status: 20 },
  ],
};

const steps: StepFacts[] = [
  {
    index: 4,
    results: {
      generatedAt: null,
      elapsedSeconds: 10,
      results: [
        node('model.p.a', 'success', 12, { bytesProcessed: 1000, slotMs: 20 }),
        node('model.p.b', 'error', 3, { bytesProcessed: 500, slotMs: 10 }),
        node('model.p.c', 'skipped', null),
        node('test.p.t1', 'fail'),
        node('test.p.t2', 'pass'),
        node('unit_test.p.a.u1', 'pass'),
        node('seed.p.s', 'success'),
      ],
    },
    sources: {
      generatedAt: null,
      results: [{ id: 'source.p.old', status: 'pass', lagSeconds: 10, maxLoadedAt: null }],
    },
    coverage: null,
    catalog: false,
  },
  {
    index: 5,
    // The same test again: counted once, with this later result.
    results: {
      generatedAt: null,
      elapsedSeconds: 5,
      results: [node('test.p.t1', 'pass'), node('test.p.t3', 'runtime error')],
    },
    sources: {
      generatedAt: null,
      results: [
        { id: 'source.p.fresh', status: 'pass', lagSeconds: 60, maxLoadedAt: null },
        { id: 'source.p.late', status: 'warn', lagSeconds: 50_000, maxLoadedAt: null },
        { id: 'source.p.broken', status: 'runtime error', lagSeconds: null, maxLoadedAt: null },
      ],
    },
    coverage: null,
    catalog: false,
  },
];

describe('a run’s history row', () => {
  it('counts each node once, with its result in the last step that ran it; sources from the last sources.json', () => {
    const row = HistoryRowSchema.parse(historyRow(runForRow(RUN), steps));
    expect(row).toMatchObject({
      runId: 9001,
      jobId: 40,
      jobName: 'Nightly',
      finishedAt: '2026-11-01T10:05:00.000Z',
      status: 'error',
      durationSeconds: 269.5,
      queuedSeconds: 30.5,
      href: RUN.href,
      failedStep: { index: 5, name: 'Invoke dbt with `dbt test`' },
      tests: { pass: 2, fail: 0, warn: 0, error: 1, skipped: 0, reused: 0 },
      unitTests: { pass: 1, fail: 0, warn: 0, error: 0, skipped: 0, reused: 0 },
      models: { success: 1, error: 1, skipped: 1, noop: 0, reused: 0 },
      // A runtime error counts as error; the earlier step's sources.json is not the run's.
      freshness: { pass: 1, warn: 1, error: 1 },
      cost: { bytesProcessed: 1500, slotMs: 30 },
      modelCount: 3,
    });
    expect(row.slowest).toEqual([
      ['model.p.a', 12, 'success'],
      ['model.p.b', 3, 'error'],
    ]);
    expect(row.failingTests).toEqual([['test.p.t3', 'runtime error']]);
    // Worst first.
    expect(row.sources.map(([id]) => id)).toEqual(['source.p.broken', 'source.p.late', 'source.p.fresh']);
  });

  it('reads dbt Cloud’s statuses and says what is wrong with a stored run it cannot read', () => {
    expect(historyRow(runForRow({ ...RUN, status: 10 }), []).status).toBe('success');
    expect(historyRow(runForRow({ ...RUN, status: 30, started_at: null }), []).durationSeconds).toBeNull();
    expect(historyRow(runForRow({ ...RUN, href: 'javascript:alert(1)' }), []).href).toBeNull();
    expect(() => runForRow({ ...RUN, job_definition_id: 'x' })).toThrow(/_run.json.job_definition_id/);
    expect(() => runForRow({ ...RUN, finished_at: 'yesterday' })).toThrow(/finished_at "yesterday" is not a time/);
  });

  it('counts no-op and reused nodes apart and out of the timings, and only what was executed', () => {
    const run = runForRow({ ...RUN, status: 10 });
    const row = historyRow(run, [
      {
        index: 4,
        command: 'build',
        results: {
          generatedAt: null,
          elapsedSeconds: 10,
          which: 'build',
          results: [
            node('model.p.a', 'success', 12),
            node('model.p.reused', 'reused', 30, { message: 'No new changes on any upstreams' }),
            node('model.p.noop', 'no-op', 0),
            node('test.p.ran', 'pass'),
            node('test.p.cached', 'reused'),
            // Compiled, not run: failures and message null, listed as a success.
            node('test.p.compiled', 'success', 0.01),
            node('model.p.failed', 'error', 3),
          ],
        },
        sources: null,
        coverage: null,
        catalog: false,
      },
      // docs generate lists every node it compiled, each a success: not executions.
      {
        index: 5,
        command: 'docs generate',
        results: {
          generatedAt: null,
          elapsedSeconds: 4,
          which: 'generate',
          results: [node('model.p.failed', 'success', 0.2), node('test.p.never', 'success', 0.01)],
        },
        sources: null,
        coverage: null,
        catalog: false,
      },
    ]);
    expect(row.models).toEqual({ success: 1, error: 1, skipped: 0, noop: 1, reused: 1 });
    expect(row.tests).toEqual({ pass: 1, fail: 0, warn: 0, error: 0, skipped: 0, reused: 1 });
    expect(row.slowest).toEqual([
      ['model.p.a', 12, 'success'],
      ['model.p.failed', 3, 'error'],
    ]);
    expect(row.modelCount).toBe(4);
    // The same results read back from stored files, the command known only from args.which.
    const fromFiles = historyRow(run, [
      {
        index: 5,
        results: { generatedAt: null, elapsedSeconds: 1, which: 'compile', results: [node('model.p.x', 'success')] },
        sources: null,
        coverage: null,
        catalog: false,
      },
    ]);
    expect(fromFiles.models.success).toBe(0);
  });

  it("counts freshness from the run's last step that checked it: freshness.json's sources and models, any capitalisation", () => {
    const row = historyRow(runForRow({ ...RUN, status: 10 }), [
      {
        index: 4,
        command: 'freshness',
        results: null,
        sources: {
          generatedAt: null,
          results: [
            { id: 'model.p.orders', status: 'pass', lagSeconds: 7200, maxLoadedAt: null },
            { id: 'source.p.raw.orders', status: 'warn', lagSeconds: 90_000, maxLoadedAt: null },
            { id: 'model.p.payments', status: 'Error', lagSeconds: 400_000, maxLoadedAt: null },
          ],
        },
        coverage: null,
        catalog: false,
      },
    ]);
    expect(row.freshness).toEqual({ pass: 1, warn: 1, error: 1 });
    expect(row.sources.map(([id]) => id)).toEqual(['model.p.payments', 'source.p.raw.orders', 'model.p.orders']);
  });

  it('reads rows stored before no-op and reused nodes counted apart', () => {
    const old = { ...historyRow(runForRow(RUN), steps) } as Record<string, unknown>;
    old['models'] = { success: 1, error: 1, skipped: 1 };
    old['tests'] = { pass: 2, fail: 0, warn: 0, error: 1, skipped: 0 };
    const parsed = HistoryRowSchema.parse(old);
    expect(parsed.models).toEqual({ success: 1, error: 1, skipped: 1, noop: 0, reused: 0 });
    expect(parsed.tests.reused).toBe(0);
  });
});

describe('a stored row’s lists', () => {
  it('accept their triples and pairs and refuse any other shape, naming it', () => {
    const row = historyRow(runForRow(RUN), steps);
    const check = (patch: object) => HistoryRowSchema.safeParse({ ...row, ...patch });
    expect(check({ slowest: [['model.p.a', 1.5, 'success']], sources: [['source.p.s.t', 'pass', null]] }).success).toBe(
      true,
    );
    for (const bad of [
      { slowest: [['model.p.a', -1, 'success']] },
      { slowest: [['model.p.a', 1, 'success', 'extra']] },
      { slowest: [[1, 2, 3]] },
      { slowest: [['model.p.a', Number.POSITIVE_INFINITY, 'success']] },
      { failingTests: [['test.p.t']] },
      { failingTests: ['test.p.t'] },
      { sources: [['source.p.s.t', 'pass', 'late']] },
    ]) {
      const parsed = check(bad);
      expect(parsed.success, JSON.stringify(bad)).toBe(false);
      expect(parsed.error!.issues[0]!.message).toMatch(/^not an? \[/);
    }
  });
});

describe('a run’s link as it may be shown', () => {
  // The URL parser's answer, which the fast path for plain links must give too.
  const parsed = (text: string): string | null => {
    try {
      const { protocol, username, password } = new URL(text);
      return protocol === 'https:' && !username && !password ? text : null;
    } catch {
      return null;
    }
  };

  it('answers as the URL parser does, on 200,000 generated links (plain, with credentials, odd hosts, ports, other schemes)', () => {
    const r = random(20261206);
    const parts = [
      'https://',
      'a',
      'B',
      '-',
      '.',
      ':',
      '@',
      '/',
      '%',
      '2',
      '?',
      '#',
      ' ',
      '\\',
      'x:y@',
      '8080',
      '~',
      '_',
      'é',
      '\t',
    ];
    const more = [
      'javascript:',
      'http://',
      'xn--',
      '%2e',
      '..',
      '0x1',
      'localhost',
      '%41',
      'cloud.getdbt.com',
      '/runs/1/',
    ];
    const alphabet = [...parts, ...more];
    const differ: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      let text = r() < 0.8 ? 'https://' : '';
      const n = Math.floor(r() * 12);
      for (let k = 0; k < n; k++) text += alphabet[Math.floor(r() * alphabet.length)];
      if (safeRunLink(text) !== parsed(text)) differ.push(text);
    }
    expect(differ).toEqual([]);
    expect(safeRunLink('https://cloud.getdbt.com/deploy/43001/projects/270001/runs/400373749/')).not.toBeNull();
    expect(safeRunLink('https://user:pw@cloud.getdbt.com/deploy/1/')).toBeNull();
    expect(safeRunLink('javascript:alert(1)')).toBeNull();
  });
});
