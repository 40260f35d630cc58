import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertSchema } from '../../lib/core/alert.ts';
import { cli } from '../cli.ts';
import { writeMadeHistory, type MadeRun } from '../alerts-history.ts';

/**
 * alerts preview over histories stored for each rule (rows, summaries and _run.json as the harvester
 * writes them): a newly failing test, a stale source, a model that doubles its time.
 */
let dir: string;
const day = (d: number) => new Date(Date.UTC(2026, 8, d, 6)).toISOString();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alerts-rules-'));
  const runs: MadeRun[] = Array.from({ length: 36 }, (_, i) => ({
    id: 500 + i,
    finishedAt: day(1 + i),
    nodes: [
      ['model.shop.fct_orders', 'success', i >= 30 ? 300 : 150],
      [
        'test.shop.not_null_orders_id',
        i === 35 ? 'fail' : 'pass',
        1,
        i === 35 ? 'Got 12 results, configured to fail if != 0' : null,
      ],
    ],
    ...(i === 35 ? { sources: [['source.shop.raw.payments', 'error', 200_000]] as MadeRun['sources'] } : {}),
  }));
  await writeMadeHistory(dir, runs);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('alerts preview on histories made for the rules', () => {
  it('finds the newly failing test, the stale source and the model that doubled its time', async () => {
    const res = await cli(['alerts', 'preview', '--from', dir, '--since', '2026-09-01', '--format', 'json'], {});
    expect(res.code, res.stderr).toBe(0);
    const alerts = (JSON.parse(res.stdout) as { alerts: unknown[] }).alerts.map((a) => AlertSchema.parse(a));
    expect(alerts.map((a) => [a.runId, a.rule, a.key])).toEqual([
      [533, 'model-slower', 'model:model.shop.fct_orders'],
      [535, 'test-failing', 'test:test.shop.not_null_orders_id'],
      [535, 'source-stale', 'source:source.shop.raw.payments'],
    ]);
    const [slower, test, source] = alerts;
    expect(slower!.details).toMatchObject({ recentMedianSeconds: 300, baselineMedianSeconds: 150, ratio: 2 });
    // The message is dbt's, read from the step's stored summary.
    expect(test!.details).toMatchObject({ new: true, message: 'Got 12 results, configured to fail if != 0' });
    expect(source!.details).toMatchObject({ status: 'error', lagSeconds: 200_000 });
  });

  it('keeps to ALERTS_RULES and the thresholds set in the environment', async () => {
    const res = await cli(['alerts', 'preview', '--from', dir, '--since', '2026-09-01', '--format', 'json'], {
      ALERTS_RULES: 'model-slower',
      ALERTS_SLOWER_RATIO: '2.5',
    });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ alerts: [] });
    const bad = await cli(['alerts', 'preview', '--from', dir], {
      ALERTS_RULES: 'run-failed,slow',
      ALERTS_SLOWER_RATIO: '0.5',
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'ALERTS_RULES must name rules among run-failed, test-failing, source-stale, model-slower ("slow" is not one)',
    );
    expect(bad.stderr).toContain('ALERTS_SLOWER_RATIO must be a number above 1');
  });
});
