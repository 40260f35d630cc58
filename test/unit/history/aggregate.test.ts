import { describe, expect, it } from 'vitest';
import type { HistoryRow } from '../../../lib/core/history-row.ts';
import { HistoryAggregator, RECENT_RUNS } from '../../../lib/history/aggregate.ts';
import { exampleRow } from '../../history-rows.ts';

/** The history's figures from rows: what the report and the JSON show, bounded whatever the runs. */
let id = 1;
const row = (at: string, over: Partial<HistoryRow> = {}): HistoryRow =>
  exampleRow({ runId: id++, finishedAt: at, ...over });
const day = (d: number, hour = 6) => new Date(Date.UTC(2026, 9, 1 + d, hour)).toISOString();

describe('the history’s figures', () => {
  it('finds a model that got slower: the last 7 days’ median against the 28 days before', () => {
    const agg = new HistoryAggregator();
    for (let d = 0; d < 35; d++)
      agg.add(
        row(day(d), {
          slowest: [
            ['model.p.slow', d >= 28 ? 25 : 10, 'success'],
            ['model.p.steady', 8, 'success'],
          ],
        }),
      );
    const f = agg.finish();
    expect(f.regressions).toEqual([
      { jobId: 7, model: 'model.p.slow', before: 10, after: 25, change: 1.5, days: { before: 28, after: 7 } },
    ]);
    expect(f.slowestNow[0]).toMatchObject({ model: 'model.p.slow', seconds: 25 });
    expect(f.days).toHaveLength(35);
  });

  it('says since when a test fails, and tells a flaky test from one that broke and was fixed', () => {
    const agg = new HistoryAggregator();
    for (let d = 0; d < 20; d++) {
      const failing: [string, string][] = [];
      if (d >= 5 && d <= 7) failing.push(['test.p.fixed', 'fail']);
      if (d % 3 === 0) failing.push(['test.p.flaky', 'warn']);
      if (d >= 17) failing.push(['test.p.broken', 'fail']);
      agg.add(
        row(day(d), {
          failingTests: failing,
          tests: { pass: 10 - failing.length, fail: failing.length, warn: 0, error: 0, skipped: 0, reused: 0 },
        }),
      );
    }
    const f = agg.finish();
    expect(f.failingNow.map((t) => [t.test, t.since, t.runs])).toEqual([['test.p.broken', day(17), 3]]);
    expect(f.flaky.map((t) => t.test)).toEqual(['test.p.flaky']);
    expect(f.flaky[0]).toMatchObject({ failures: 7, runs: 20 });
  });

  it('does not take a change of selection (CI runs) for a change of result', () => {
    const agg = new HistoryAggregator();
    for (let d = 0; d < 20; d++) {
      // A test that fails whenever it runs, in runs that select different tests.
      const ran = d % 2 === 0;
      agg.add(
        row(day(d), {
          failingTests: ran ? [['test.p.always', 'fail']] : [],
          tests: { pass: ran ? 3 : 8, fail: ran ? 1 : 0, warn: 0, error: 0, skipped: 0, reused: 0 },
        }),
      );
    }
    expect(agg.finish().flaky).toEqual([]);
  });

  it('keeps the last runs of each job whole and folds the rest into days', () => {
    const agg = new HistoryAggregator();
    const added: HistoryRow[] = [];
    for (let i = 0; i < RECENT_RUNS + 100; i++) {
      const r = row(new Date(Date.UTC(2026, 0, 1) + i * 600_000).toISOString(), {
        durationSeconds: i % 7,
        status: i % 5 ? 'success' : 'error',
      });
      added.push(r);
      agg.add(r);
    }
    const f = agg.finish();
    expect(f.runs).toBe(RECENT_RUNS + 100);
    // The last RECENT_RUNS, oldest first, each with its own figures.
    expect(f.recent.map((r) => [r.runId, r.finishedAt, r.durationSeconds, r.status])).toEqual(
      added.slice(-RECENT_RUNS).map((r) => [r.runId, r.finishedAt, r.durationSeconds, r.status]),
    );
    // The last 49 hours, each its runs by outcome (six runs an hour, every fifth run an error).
    expect(f.hours).toHaveLength(49);
    expect(f.hours.at(-1)!.hour).toBe(`${added.at(-1)!.finishedAt.slice(0, 13)}:00:00.000Z`);
    const inHour = (h: string) => added.filter((r) => r.finishedAt.startsWith(h.slice(0, 13)));
    for (const h of f.hours)
      expect([h.success, h.error, h.tests.pass]).toEqual([
        inHour(h.hour).filter((r) => r.status === 'success').length,
        inHour(h.hour).filter((r) => r.status === 'error').length,
        inHour(h.hour).length * 10,
      ]);
    expect(f.days.reduce((n, d) => n + d.runs, 0)).toBe(RECENT_RUNS + 100);
    expect(f.days[0]).toMatchObject({ durationMedian: 3, queuedMedian: 5, success: 115, error: 29 });
  });
});
