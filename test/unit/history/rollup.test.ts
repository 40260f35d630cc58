import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HistoryRow } from '../../../lib/core/history-row.ts';
import { historyRowPath } from '../../../lib/core/paths.ts';
import { Rollup } from '../../../lib/history/rollup.ts';
import { LocalFolder } from '../../../lib/storage/local.ts';
import { exampleRow } from '../../history-rows.ts';

/**
 * The rollup hands a compacted day's rows out as they are parsed, when the day holds every row of
 * its day; these are the cases where it must not: a row added since (a backfill), a day altered.
 */
const NOW = new Date('2026-11-20T12:00:00Z');
const DAYS = ['2026-11-01', '2026-11-02', '2026-11-03'];

const row = (runId: number, jobId: number, finishedAt: string): HistoryRow =>
  exampleRow({
    runId,
    jobId,
    jobName: `Job ${jobId}`,
    finishedAt,
    href: `https://cloud.getdbt.com/deploy/1/projects/1/runs/${runId}/`,
  });

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
  for await (const day of rollup.days()) {
    // A day may come in parts (one read as it was parsed, which stopped at a line it could not read).
    const runs = [...day.rows].map((r) => r.runId);
    if (days.at(-1)?.date === day.date) days.at(-1)!.runs.push(...runs);
    else days.push({ date: day.date, runs });
  }
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

  it('lists each object of the rollup once a read', async () => {
    await read();
    const listed: string[] = [];
    const counting = new Proxy(store, {
      get(target, key, receiver) {
        if (key !== 'list') return Reflect.get(target, key, receiver);
        return async function* (prefix: string, options: object) {
          for await (const entry of target.list(prefix, options)) {
            listed.push(entry.path);
            yield entry;
          }
        };
      },
    });
    const rollup = new Rollup(counting, { now: () => NOW });
    for await (const day of rollup.days()) for (const _ of day.rows);
    // The built marker, three compacted days and twelve rows, and the first row a second time (where
    // the listing of compacted days stops).
    expect(listed).toHaveLength(1 + 3 + 12 + 1);
    expect(new Set(listed).size).toBe(16);
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

  it('reads an altered compacted day the slow way, or a line it cannot read from its run’s own row, missing no run', async () => {
    await read();
    const file = await dayFile('2026-11-02');
    const [head, ...lines] = (await readFile(file, 'utf8')).trimEnd().split('\n');
    const write = (rows: (string | undefined)[]) => writeFile(file, `${[head, ...rows].join('\n')}\n`);
    // Out of the order it was written in: read whole, and put in order.
    await write([lines[0], lines[2], lines[1], lines[3]]);
    const swapped = await read();
    expect(swapped.days[1]!.runs).toEqual([104, 105, 106, 107]);
    expect(swapped.stats).toMatchObject({ skippedCount: 0, fromRows: 0 });
    // A run twice: read the slow way, once.
    await write([lines[0], lines[1], lines[1], lines[2], lines[3]]);
    const twice = await read();
    expect(twice.days[1]!.runs).toEqual([104, 105, 106, 107]);
    expect(twice.stats.skippedCount).toBe(0);
    // A line cut short, or not a row: reported, and its run read from its own row, in its place.
    for (const bad of [lines[1]!.slice(0, -20), lines[1]!.replace('"success"', '"fine"')]) {
      await write([lines[0], bad, lines[2], lines[3]]);
      const cut = await read();
      expect(cut.days[1]!.runs).toEqual([104, 105, 106, 107]);
      expect(cut.stats).toMatchObject({ skippedCount: 1, fromRows: 1, fromDays: 11 });
      expect(cut.stats.skipped[0]!.reason).toMatch(/line 3 is not (JSON|a history row)/);
    }
    // ... unless it has none: then it is left out, and said so.
    await write([lines[0], lines[1]!.slice(0, -20), lines[2], lines[3]]);
    await rm(join(dir, '_history/rows/date=2026-11-02/job_id=7/run_id=105.json'));
    const gone = await read();
    expect(gone.days[1]!.runs).toEqual([104, 106, 107]);
    expect(gone.stats.skipped.map((s) => s.reason)).toEqual([expect.stringMatching(/line 3 is not JSON/)]);
    // No table of names: the object is left out, and the day read from its rows.
    await writeFile(file, `${lines.join('\n')}\n`);
    const headless = await read();
    expect(headless.days[1]!.runs).toEqual([104, 106, 107]);
    expect(headless.stats.skipped.map((s) => s.reason)).toEqual([
      expect.stringMatching(/does not begin with a compacted day's names/),
    ]);
  });

  it('hands out a whole compacted day as it is read, whatever its jobs are named', async () => {
    const odd = ['say "hi", \\ then [go]', 'ünïcode ✓', '', 'null'];
    let id = 200;
    for (const [i, name] of odd.entries())
      await putRow({ ...row(id++, 20 + i, `2026-11-04T0${i}:00:00.000Z`), jobName: name, projectId: null });
    await putRow({ ...row(id++, 30, '2026-11-04T05:00:00.000Z'), jobName: null, environmentId: null });
    await read();
    const rollup = new Rollup(store, { now: () => NOW });
    for await (const day of rollup.days()) {
      // An array is a day read whole; a day read as it is parsed is a generator.
      expect(Array.isArray(day.rows), day.date).toBe(false);
      for (const _ of day.rows);
    }
    expect(rollup.stats).toMatchObject({ fromDays: 17, fromRows: 0, skippedCount: 0 });
  });

  it('reads each compacted day once, with days of rows alone between them', async () => {
    await read();
    await rm(join(dir, '_history/days/date=2026-11-02'), { recursive: true });
    const readOnly = new Rollup(store, { now: () => NOW, write: false });
    const runs: number[] = [];
    for await (const day of readOnly.days()) for (const r of day.rows) runs.push(r.runId);
    expect(runs).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111]);
    // Two compacted days and four rows.
    expect(readOnly.stats).toMatchObject({ reads: 6, fromDays: 8, fromRows: 4 });
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
