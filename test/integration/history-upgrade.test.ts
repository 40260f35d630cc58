import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUpgradeHistory } from '../../harness/history-upgrade.ts';
import { LATEST_TABLES } from '../../lib/history/history.ts';
import { cli } from '../cli.ts';

/**
 * The upgrade path: a destination harvested before the history rollup existed (runs with their
 * `_run.json` and coverage.json, no rows), read for the first time, then again. The memory of it is
 * measured by `npm run bench -- --only history`; here, what a user sees: the same figures both times,
 * each run's files read once, and each job's latest tables bounded.
 */
let dir: string;
const RUNS = 240;
const JOBS = 6;
const TABLES = 260;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'history-upgrade-'));
  await writeUpgradeHistory(join(dir, 'bucket'), { runs: RUNS, jobs: JOBS, days: 40, tables: TABLES });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Series {
  points: { run_id: number; origin: string; doc_coverage: number | null }[];
  latest: { job_id: number; tables: { name: string; documented: number; columns: number }[]; tables_total: number }[];
}

const read = async (): Promise<{ series: Series; summary: string }> => {
  const out = join(dir, `series-${Date.now()}.json`);
  const res = await cli(['coverage', 'history', '--from', join(dir, 'bucket'), '--format', 'json', '--out', out], {});
  expect(res.code, res.stderr).toBe(0);
  const { readFile } = await import('node:fs/promises');
  return { series: JSON.parse(await readFile(out, 'utf8')) as Series, summary: res.stderr };
};

describe('the first read of a history stored before the rollup', () => {
  it('reads each run’s files once, writes its rows, and gives what the second read gives', async () => {
    const first = await read();
    // Its _run.json and its coverage.json: two objects a run, never its row read back after writing it.
    const objects = Number(/(\d+) objects read/.exec(first.summary)?.[1]);
    expect(first.summary).toMatch(new RegExp(`${RUNS} computed from stored files`));
    expect(objects).toBeGreaterThanOrEqual(2 * RUNS);
    expect(objects).toBeLessThan(2 * RUNS + 2 * JOBS + 10);
    expect(await readdir(join(dir, 'bucket', '_history'))).toEqual(expect.arrayContaining(['built', 'days', 'rows']));
    const second = await read();
    expect(second.summary).toMatch(/0 computed from stored files/);
    expect(second.series.points).toEqual(first.series.points);
    expect(first.series.points).toHaveLength(RUNS);
    expect(first.series.points.every((p) => p.origin === 'stored' && p.doc_coverage !== null)).toBe(true);
  });

  it("keeps each job's latest tables to the least documented LATEST_TABLES, saying how many there are", async () => {
    const { series } = await read();
    expect(series.latest).toHaveLength(JOBS);
    for (const l of series.latest) {
      expect(l.tables_total).toBe(TABLES);
      expect(l.tables).toHaveLength(LATEST_TABLES);
      const ratios = l.tables.map((t) => t.documented / t.columns);
      expect(ratios).toEqual([...ratios].sort((a, b) => a - b));
    }
  });
});
