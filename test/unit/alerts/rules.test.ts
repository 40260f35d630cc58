import { describe, expect, it } from 'vitest';
import { planMessages } from '../../../lib/alerts/digest.ts';
import { DEFAULT_RULE_SETTINGS, evaluateRun, type RunEvidence } from '../../../lib/alerts/rules.ts';
import type { HistoryRow } from '../../../lib/core/history-row.ts';
import { madeRun, type MadeRun } from '../../alerts-history.ts';

/** The rules on histories made for them: what a team would be told, run by run. */
const at = (day: number, hour = 6) => new Date(Date.UTC(2026, 9, day, hour)).toISOString();

/** Each run of a job evaluated with the earlier ones as its history (newest first). */
function evaluateAll(runs: MadeRun[], settings = DEFAULT_RULE_SETTINGS) {
  const rows: HistoryRow[] = runs.map((r) => madeRun(r).row);
  return rows.map((row, i) => {
    const evidence: RunEvidence = {
      row,
      earlier: rows.slice(0, i).reverse(),
      failures: (runs[i]!.nodes ?? [])
        .filter(([, s]) => s !== 'pass' && s !== 'success')
        .map(([id, status, , message]) => ({ id, status, message: message ?? null })),
    };
    return { evidence, alerts: evaluateRun(evidence, settings) };
  });
}

describe('run-failed', () => {
  it('names the job, the run and its link, the failed step and dbt messages; nothing for a run that passed', () => {
    const [ok, bad] = evaluateAll([
      { id: 1, finishedAt: at(1), nodes: [['model.p.a', 'success']] },
      {
        id: 2,
        finishedAt: at(2),
        status: 20,
        nodes: [['model.p.orders', 'error', 3, 'Database Error: relation "raw.orders" does not exist']],
      },
    ]);
    expect(ok!.alerts).toEqual([]);
    const [a] = bad!.alerts;
    expect(a).toMatchObject({ rule: 'run-failed', runId: 2, jobId: 7, severity: 'error', key: 'run' });
    expect(a!.summary).toBe(
      'Nightly (job 7): run 2 failed at step 4 (Invoke dbt with `dbt build`): 1 node failed: Database Error: relation "raw.orders" does not exist',
    );
    expect(a!.href).toBe('https://ab123.us1.dbt.com/deploy/1/projects/1/runs/2/');
    expect(a!.details['errors']).toEqual([
      { node: 'model.p.orders', status: 'error', message: 'Database Error: relation "raw.orders" does not exist' },
    ]);
  });
});

describe('test-failing', () => {
  const runs: MadeRun[] = [
    { id: 1, finishedAt: at(1), nodes: [['test.p.unique_id', 'pass']] },
    { id: 2, finishedAt: at(2), nodes: [['test.p.unique_id', 'fail', 1, 'Got 3 results, configured to fail if != 0']] },
    { id: 3, finishedAt: at(3), nodes: [['test.p.unique_id', 'fail']] },
    { id: 4, finishedAt: at(4), nodes: [['test.p.unique_id', 'warn']] },
  ];

  it('says a test is new when the previous run passed it, then still failing since its first failure', () => {
    const [first, second, third, fourth] = evaluateAll(runs);
    expect(first!.alerts).toEqual([]);
    const fresh = second!.alerts[0]!;
    expect(fresh).toMatchObject({ rule: 'test-failing', key: 'test:test.p.unique_id' });
    expect(fresh.details).toMatchObject({
      new: true,
      since: at(2),
      message: 'Got 3 results, configured to fail if != 0',
    });
    expect(fresh.summary).toContain('test unique_id fails (new in run 2)');
    const still = third!.alerts[0]!;
    expect(still.details).toMatchObject({ new: false, since: at(2), failingRuns: 2 });
    expect(still.summary).toContain('still fails in run 3, since 2026-10-02 06:00 UTC');
    // A warning is not a failure, unless asked for.
    expect(fourth!.alerts).toEqual([]);
  });

  it('counts warnings with includeWarn', () => {
    const last = evaluateAll(runs, { ...DEFAULT_RULE_SETTINGS, includeWarn: true })[3]!;
    expect(last.alerts[0]).toMatchObject({ rule: 'test-failing', severity: 'warning' });
    expect(last.alerts[0]!.details).toMatchObject({ new: false, since: at(2) });
  });
});

describe('source-stale', () => {
  it('alerts on a freshness error, on a warning only when asked', () => {
    const runs: MadeRun[] = [
      {
        id: 1,
        finishedAt: at(1),
        sources: [
          ['source.p.raw.orders', 'error', 90_000],
          ['source.p.raw.customers', 'warn', 7200],
          ['source.p.raw.items', 'pass', 60],
        ],
      },
    ];
    const [only] = evaluateAll(runs);
    expect(only!.alerts.map((a) => a.key)).toEqual(['source:source.p.raw.orders']);
    expect(only!.alerts[0]!.summary).toBe(
      'Nightly (job 7): source raw.orders is stale (freshness error): last loaded 25 h ago',
    );
    const warned = evaluateAll(runs, { ...DEFAULT_RULE_SETTINGS, includeWarn: true })[0]!;
    expect(warned.alerts.map((a) => a.key)).toEqual(['source:source.p.raw.orders', 'source:source.p.raw.customers']);
  });
});

describe('model-slower', () => {
  /** A daily run for 35 days: the model takes `base` seconds, then `recent` from day 30 on. */
  const history = (base: number, recent: number, extra: MadeRun['nodes'] = []): MadeRun[] =>
    Array.from({ length: 36 }, (_, i) => ({
      id: 100 + i,
      finishedAt: new Date(Date.UTC(2026, 8, 1 + i, 6)).toISOString(),
      nodes: [['model.p.fct_orders', 'success', i >= 30 ? recent : base], ...(extra ?? [])],
    }));

  it('says once, on the run where the 7-day median reached 1.5 times the 28 days before and 60 s more', () => {
    const evaluated = evaluateAll(history(120, 240));
    const found = evaluated.flatMap((e) => e.alerts.filter((a) => a.rule === 'model-slower'));
    expect(found).toHaveLength(1);
    // The 7 days up to day 33 hold days 27 to 33: four runs at 240 s, three at 120 s.
    expect(found[0]).toMatchObject({ runId: 133, key: 'model:model.p.fct_orders', severity: 'warning' });
    expect(found[0]!.details).toMatchObject({ recentMedianSeconds: 240, baselineMedianSeconds: 120, ratio: 2 });
    expect(found[0]!.summary).toContain('model fct_orders is slower: median 4 min over the last 7 days, 2× the 2 min');
  });

  it('keeps to both thresholds, which a team can change', () => {
    // Twice as slow, but only 20 s longer.
    expect(evaluateAll(history(20, 40)).flatMap((e) => e.alerts)).toEqual([]);
    const tuned = { ...DEFAULT_RULE_SETTINGS, slowerSeconds: 10 };
    expect(evaluateAll(history(20, 40), tuned).flatMap((e) => e.alerts)).toHaveLength(1);
    // 1.3 times: not at 1.5, but at 1.25.
    expect(evaluateAll(history(600, 780)).flatMap((e) => e.alerts)).toEqual([]);
    expect(
      evaluateAll(history(600, 780), { ...DEFAULT_RULE_SETTINGS, slowerRatio: 1.25 }).flatMap((e) => e.alerts),
    ).toHaveLength(1);
  });

  it('leaves out no-op and skipped nodes, which have no time', () => {
    const runs = history(120, 120).map((r, i) => ({
      ...r,
      nodes: [
        ...(r.nodes ?? []),
        ['model.p.noop', i >= 30 ? 'skipped' : 'no-op', i >= 30 ? 900 : 0] as [string, string, number],
      ],
    }));
    expect(evaluateAll(runs).flatMap((e) => e.alerts)).toEqual([]);
  });
});

describe('messages', () => {
  it('groups a run into one message, folds runs past the bound into one digest, resolves a job once', () => {
    const runs: MadeRun[] = Array.from({ length: 12 }, (_, i) => ({
      id: i + 1,
      jobId: 1 + (i % 3),
      finishedAt: at(1, i),
      status: i < 9 ? 20 : 10,
      nodes: [
        [`test.p.t${i}`, i < 9 ? 'fail' : 'pass'],
        ['model.p.m', i < 9 ? 'error' : 'success'],
      ],
    }));
    const rows = runs.map((r) => madeRun(r).row);
    const evaluated = rows.map((row, i) => {
      const evidence: RunEvidence = {
        row,
        earlier: rows.filter((r, j) => j < i && r.jobId === row.jobId).reverse(),
        failures: [],
      };
      return { evidence, alerts: evaluateRun(evidence, DEFAULT_RULE_SETTINGS) };
    });
    const messages = planMessages(evaluated, 4);
    // 9 failed runs: 3 on their own, 6 in one digest; then the 3 jobs that succeeded again.
    expect(messages.map((m) => m.key.split('=')[0])).toEqual([
      'run_id',
      'run_id',
      'run_id',
      'digest',
      'run_id',
      'run_id',
      'run_id',
    ]);
    expect(messages[0]!.alerts.map((a) => a.rule)).toEqual(['run-failed', 'test-failing']);
    expect(messages[3]!.runs.map((r) => r.runId)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(messages.slice(4).map((m) => m.resolves?.jobId)).toEqual([1, 2, 3]);
    // The same runs give the same digest key, so a retried delivery is recognised.
    expect(planMessages(evaluated, 4)[3]!.key).toBe(messages[3]!.key);
  });
});
