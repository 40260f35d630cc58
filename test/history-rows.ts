import type { HistoryRow } from '../lib/core/history-row.ts';

/** A plain successful run's row (job 7, "Nightly"): the figures each test changes are given in `over`. */
export function exampleRow(over: Partial<HistoryRow> & Pick<HistoryRow, 'runId' | 'finishedAt'>): HistoryRow {
  const zero = { pass: 0, fail: 0, warn: 0, error: 0, skipped: 0, reused: 0 };
  return {
    v: 1,
    jobId: 7,
    jobName: 'Nightly',
    projectId: 1,
    environmentId: 2,
    status: 'success',
    durationSeconds: 60,
    queuedSeconds: 5,
    href: null,
    trigger: null,
    gitBranch: null,
    failedStep: null,
    tests: { ...zero, pass: 10 },
    unitTests: zero,
    models: { success: 5, error: 0, skipped: 0, noop: 0, reused: 0 },
    freshness: { pass: 0, warn: 0, error: 0 },
    coverage: null,
    cost: null,
    slowest: [['model.p.slow', 10, 'success']],
    failingTests: [],
    sources: [],
    modelCount: 5,
    ...over,
  };
}

/**
 * A history row of random figures (links safe and unsafe, nulls, coverage with and without hits),
 * as a stored row may hold them: for the tests that hold the rows' readers to zod and to each other.
 */
export function randomRow(r: () => number): HistoryRow {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const n = (max: number) => Math.floor(r() * max);
  const maybe = <T>(x: T): T | null => (r() < 0.2 ? null : x);
  const counts = <K extends string>(keys: readonly K[]) =>
    Object.fromEntries(keys.map((k) => [k, n(30)])) as Record<K, number>;
  const tests = ['pass', 'fail', 'warn', 'error', 'skipped', 'reused'] as const;
  const figures = () => maybe(r() < 0.5 ? { covered: n(50), total: 50 } : { covered: n(50), total: 50, hits: n(200) });
  return {
    v: 1,
    runId: 1 + n(1e9),
    jobId: 1 + n(1e5),
    jobName: maybe(pick(['Nightly', 'CI: pull requests', 'ünïcode ✓', ''])),
    projectId: maybe(1 + n(1e4)),
    environmentId: maybe(1 + n(1e4)),
    finishedAt: new Date(Date.UTC(2020, 0, 1) + n(7 * 365 * 86_400_000)).toISOString(),
    status: pick(['success', 'error', 'cancelled'] as const),
    durationSeconds: maybe(n(1e5) / 100),
    queuedSeconds: maybe(n(1e4) / 100),
    href: maybe(
      pick([
        'https://cloud.getdbt.com/deploy/1/projects/2/runs/9/',
        'https://ab123.us1.dbt.com/deploy/1/projects/2/runs/9/',
        'https://user:pw@example.com/x',
        'javascript:alert(1)',
        'https://[::1]/runs/9',
      ]),
    ),
    trigger: maybe('Triggered by the schedule'),
    gitBranch: maybe('main'),
    failedStep: maybe({ index: n(8), name: 'Invoke dbt with `dbt build`' }),
    tests: counts(tests),
    unitTests: counts(tests),
    models: counts(['success', 'error', 'skipped', 'noop', 'reused'] as const),
    freshness: counts(['pass', 'warn', 'error'] as const),
    coverage: maybe({
      step: n(8),
      doc: figures(),
      test: figures(),
      unitTest: figures(),
      models: { total: n(100), documented: n(100), tested: n(100), tests: n(300) },
      computed: r() < 0.5,
    }),
    cost: maybe({ bytesProcessed: n(1e12), slotMs: n(1e9) }),
    slowest: Array.from(
      { length: n(25) },
      (_, i) => [`model.p.m${i}`, n(1e4) / 100, 'success'] as [string, number, string],
    ),
    failingTests: Array.from({ length: n(5) }, (_, i) => [`test.p.t${i}`, 'fail'] as [string, string]),
    sources: Array.from(
      { length: n(4) },
      (_, i) => [`source.p.s${i}`, 'pass', maybe(n(1e5))] as [string, string, number | null],
    ),
    modelCount: n(500),
  };
}
