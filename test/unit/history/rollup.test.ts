import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HistoryRow } from '../../../lib/core/history-row.ts';
import { historyRowPath } from '../../../lib/core/paths.ts';
import { Rollup } from '../../../lib/history/rollup.ts';
import { LocalFolder } from '../../../lib/storage/local.ts';

/**
 * The rollup hands a compacted day's rows out as they are parsed, when the day holds every row of
 * its day; these are the cases where it must not: a row added since (a backfill), a day altered.
 */
const NOW = new Date('2026-11-20T12:00:00Z');
const DAYS = ['2026-11-01', '2026-11-02', '2026-11-03'];

function row(runId: number, jobId: number, finishedAt: string): HistoryRow {
  const zero = { pass: 0, fail: 0, warn: 0, error: 0, skipped: 0, reused: 0 };
  return {
    v: 1,
    runId,
    jobId,
    jobName: `Job ${jobId}`,
    projectId: 1,
    environmentId: 2,
    finishedAt,
    status: 'success',
    durationSeconds: 10,
    queuedSeconds: 1,
    href: `https://cloud.getdbt.com/deploy/1/projects/1/runs/${runId}/`,
    trigger: null,
    gitBranch: null,
    failedStep: null,
    tests: { ...zero, pass: 3 },
    unitTests: zero,
    models: { success: 2, error: 0, skipped: 0, noop: 0, reused: 0 },
    freshness: { pass: 0, warn: 0, error: 0 },
    coverage: null,
    cost: null,
    slowest: [['model.p.a', 4.5, 'success']],
    failingTests: [],
    sources: [],
    modelCount: 2,
  };
}

let dir: string;
let store: LocalFolder;
const put = async (path: string, text: string) => {
  await mkdir(dirname(join(dir, path)), { recursive: true });
  await writeFile(join(dir, path), text);
};
const putRow = (r: HistoryRow) =>
  put(historyRowPath({ runId: r.runId, jobId: r.jobId, finishedAt: new Date(r.finishedAt) }), JSON.stringify(r));
const dayFile = async (date: string) => {
  const files = await readdir(join(dir, '_history/days', `date=${date}`));
  return join(dir, '_history/days', `date=${date}`, files.sort().at(-1)!);
};

async function read(options: { jobIds?: number[] } = {}) {
  const rollup = new Rollup(store, { now: () => NOW, ...options });
  const days: { date: string; runs: number[] }[] = [];
  for await (const day of rollup.days()) days.push({ date: day.date, runs: [...day.rows].map((r) => r.runId) });
  return { days, stats: rollup.stats };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollup-'));
  store = new LocalFolder(dir);
  let id = 100;
  for (const date of DAYS)
    for (let h = 0; h < 4; h++) await putRow(row(id++, h % 2 ? 7 : 8, `${date}T0${h}:00:00.000Z`));
  await put('_history/built/at=x.json', '{}');
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('the history rollup', () => {
  it('compacts each closed day once, then reads each from its compacted object alone, in time order', async () => {
    const first = await read();
    expect(first.stats.written.days).toBe(3);
    const second = await read();
    expect(second.days).toEqual(first.days);
    expect(second.days.map((d) => d.runs)).toEqual([
      [100, 101, 102, 103],
      [104, 105, 106, 107],
      [108, 109, 110, 111],
    ]);
    expect(second.stats).toMatchObject({ fromDays: 12, fromRows: 0, rows: 12, skippedCount: 0 });
    expect(second.stats.written.days).toBe(0);
    // Of the asked jobs only, from the same objects.
    const seven = await read({ jobIds: [7] });
    expect(seven.days.map((d) => d.runs)).toEqual([
      [101, 103],
      [105, 107],
      [109, 111],
    ]);
    expect(seven.stats.rows).toBe(6);
  });

  it('finds a row added to a compacted day since (a backfill), and compacts the day anew', async () => {
    await read();
    await putRow(row(99, 9, '2026-11-02T00:30:00.000Z'));
    const next = await read();
    expect(next.days[1]!.runs).toEqual([104, 99, 105, 106, 107]);
    expect(next.stats).toMatchObject({ fromRows: 1, written: { rows: 0, days: 1 } });
    const after = await read();
    expect(after.days).toEqual(next.days);
    expect(after.stats).toMatchObject({ fromRows: 0, fromDays: 13 });
  });

  it('reports a line of an altered compacted day and leaves it out, never reading a run twice', async () => {
    await read();
    const file = await dayFile('2026-11-02');
    const [head, ...lines] = (await readFile(file, 'utf8')).trimEnd().split('\n');
    const write = (rows: (string | undefined)[]) => writeFile(file, `${[head, ...rows].join('\n')}\n`);
    // Out of the order it was written in: the later line is left out, and said so.
    await write([lines[0], lines[2], lines[1], lines[3]]);
    const swapped = await read();
    expect(swapped.days[1]!.runs).toEqual([104, 106, 107]);
    expect(swapped.stats.skipped.map((s) => s.reason)).toEqual([
      expect.stringMatching(/line 4 is not in the order its day was written in/),
    ]);
    // A run twice: read the slow way, once, with its single row.
    await write([lines[0], lines[1], lines[1], lines[2], lines[3]]);
    const twice = await read();
    expect(twice.days[1]!.runs).toEqual([104, 105, 106, 107]);
    expect(twice.stats.skippedCount).toBe(0);
    // A line that does not begin as a row: left out; the rows listed beside it are still read.
    await write(['{"x":1}', lines[1], lines[2], lines[3]]);
    const broken = await read();
    expect(broken.days[1]!.runs).toEqual([104, 105, 106, 107]);
    expect(broken.stats.skipped.map((s) => s.reason)).toEqual([
      expect.stringMatching(/line 2 is not JSON|not a history row/),
    ]);
    // No table of names: the object is left out, and the day read from its rows.
    await writeFile(file, `${lines.join('\n')}\n`);
    const headless = await read();
    expect(headless.days[1]!.runs).toEqual([104, 105, 106, 107]);
    expect(headless.stats.skipped.map((s) => s.reason)).toEqual([
      expect.stringMatching(/does not begin with a compacted day's names/),
    ]);
  });

  it('reads a day compacted by the previous version, and where it may write, writes it anew once', async () => {
    // Version 1: a row's JSON a line, as readers before version 2 compacted a day.
    for (const date of DAYS) {
      const rows = [];
      for (const f of (await readdir(join(dir, '_history/rows', `date=${date}`), { recursive: true })).sort())
        if (f.endsWith('.json')) rows.push(await readFile(join(dir, '_history/rows', `date=${date}`, f), 'utf8'));
      const sorted = rows
        .map((r) => JSON.parse(r) as HistoryRow)
        .sort((a, b) => (a.finishedAt < b.finishedAt ? -1 : 1));
      await put(`_history/days/date=${date}/rows=4.jsonl`, sorted.map((r) => `${JSON.stringify(r)}\n`).join(''));
    }
    const readOnly = new Rollup(store, { now: () => NOW, write: false });
    const seen: number[] = [];
    for await (const day of readOnly.days()) for (const r of day.rows) seen.push(r.runId);
    expect(seen).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111]);
    expect(readOnly.stats).toMatchObject({ fromDays: 12, fromRows: 0, written: { days: 0 } });
    const upgrading = await read();
    expect(upgrading.days.flatMap((d) => d.runs)).toEqual(seen);
    expect(upgrading.stats).toMatchObject({ fromDays: 12, fromRows: 0, written: { days: 3 } });
    expect(await readdir(join(dir, '_history/days/date=2026-11-01'))).toEqual(['rows=4.jsonl', 'rows=4.v2.jsonl']);
    const after = await read();
    expect(after.days).toEqual(upgrading.days);
    expect(after.stats.written.days).toBe(0);
  });

  it('reads the compacted day of the day after its last listed row, and one whose rows are all gone', async () => {
    await read();
    await rm(join(dir, '_history/rows/date=2026-11-03'), { recursive: true });
    const next = await read();
    expect(next.days.map((d) => d.runs.length)).toEqual([4, 4, 4]);
    expect(next.stats.fromRows).toBe(0);
  });
});
