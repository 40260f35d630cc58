/**
 * The history rollup (core/paths.ts): read a destination's history a day at a time, in order,
 * without reading a run's files.
 *
 * - The harvester writes each run's row as it stores the run (`_history/rows/`).
 * - Reading lists `_history/` (one list request per thousand objects), then, day by day, reads the
 *   day's compacted object (`_history/days/`: every row of the day, one request) and only the rows
 *   it lacks (a backfill added runs since, or the day is recent).
 * - Where it may write (a folder, a bucket the reader may create objects in), it compacts each day
 *   older than COMPACT_AFTER_DAYS whose rows its compacted object lacks, into a new object, so the
 *   next read of that day costs one request. Every object is written once.
 * - A destination harvested before rows existed is rebuilt once: the runs without a row get one,
 *   computed from their stored files (rows.ts), and `_history/built/` records that the rows are
 *   whole. Read-only, the rows are computed in memory, every time, with a warning.
 *
 * Bad objects (not JSON, not a row) are reported and left out, never fatal. Memory holds one day of
 * rows at a time, rebuilding or not; of a compacted day that has every row of its day, its bytes and
 * the row being read (its rows are parsed as the caller asks for them).
 * @module
 */
import { Readable } from 'node:stream';
import { errorMessage } from '../core/errors.ts';
import { readHistoryRow, type HistoryRow } from '../core/history-row.ts';
import { HISTORY_ROOT, historyDayPath, historyRowPath, parseHistoryPath } from '../core/paths.ts';
import { drain } from '../core/pool.ts';
import { silentLogger, type Logger } from '../log.ts';
import { readSmall, readSmallBytes, type Store, type StoredEntry } from '../storage/index.ts';
import { COMPACTED_VERSION, CompactedHeadSchema, compactDay, unpackRow } from './compacted.ts';
import { listRuns, rowOfStoredRun, type StoredRun } from './rows.ts';

/** Days younger than this are not compacted: their runs may still be arriving. */
export const COMPACT_AFTER_DAYS = 2;
/** The largest row or compacted day read (a day of 5,000 runs is about 15 MB). */
const MAX_ROW_BYTES = 256 * 1024;
const MAX_DAY_BYTES = 64 * 1024 * 1024;

export interface RollupOptions {
  /** Days on or after this one. */
  since?: Date;
  jobIds?: readonly number[];
  /** Write missing rows and compacted days where the destination allows it (default true). */
  write?: boolean;
  now?: () => Date;
  /** Objects read at once. */
  concurrency?: number;
  logger?: Logger;
}

export interface RollupStats {
  /** Rows handed out. */
  rows: number;
  /** Rows that came from compacted days, from single rows, and computed now from a run's files. */
  fromDays: number;
  fromRows: number;
  computed: number;
  /** Objects read (each a request on a bucket) and list pages (a thousand objects each). */
  reads: number;
  listed: number;
  written: { rows: number; days: number };
  /** Objects left out, and why (at most 100 named). */
  skipped: { path: string; reason: string }[];
  skippedCount: number;
}

export interface Day {
  date: string;
  /**
   * The day's rows (of the asked jobs), by finishedAt then runId: read them before asking for the
   * next day (a compacted day's are parsed as they are read).
   */
  rows: Iterable<HistoryRow>;
}

const dayOf = (d: Date): string => d.toISOString().slice(0, 10);

/** A row's line or object read as a row (`read`: of its JSON, a compacted day of version 2's reader). */
function parseRow(
  text: string,
  where: string,
  read: (json: unknown) => HistoryRow | null = readHistoryRow,
): HistoryRow {
  // A row is at most MAX_ROW_BYTES (a compacted day's line of more characters, which are never more
  // than its UTF-8 bytes, is refused here), so what JSON.parse builds of it is bounded by its bytes
  // whatever its nesting (V8's JSON.parse does not recurse): the scanner's pass before it
  // (parseJsonBounded) is not needed, and cost a year's read about 2 s (docs/performance.md).
  if (text.length > MAX_ROW_BYTES) throw new Error(`${where} is longer than a history row can be`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not JSON`);
  }
  const row = read(json);
  if (row === null) throw new Error(`${where} is not a history row this version reads`);
  return row;
}

const byTime = (a: HistoryRow, b: HistoryRow): number =>
  a.finishedAt < b.finishedAt ? -1 : a.finishedAt > b.finishedAt ? 1 : a.runId - b.runId;

export class Rollup {
  readonly stats: RollupStats = {
    rows: 0,
    fromDays: 0,
    fromRows: 0,
    computed: 0,
    reads: 0,
    listed: 0,
    written: { rows: 0, days: 0 },
    skipped: [],
    skippedCount: 0,
  };
  private readonly store: Store;
  private readonly options: RollupOptions;
  private readonly log: Logger;
  private writable: boolean;

  constructor(store: Store, options: RollupOptions = {}) {
    this.store = store;
    this.options = options;
    this.log = options.logger ?? silentLogger;
    this.writable = options.write !== false;
  }

  private skip(path: string, reason: string): void {
    this.stats.skippedCount++;
    if (this.stats.skipped.length < 100) this.stats.skipped.push({ path, reason });
    this.log.info('history object left out', { path, reason });
  }

  /** Lists a prefix, counting its pages. */
  private async *list(prefix: string): AsyncGenerator<StoredEntry> {
    let n = 0;
    for await (const entry of this.store.list(prefix, { sizes: false })) {
      if (n++ % 1000 === 0) this.stats.listed++;
      yield entry;
    }
  }

  private async read(path: string, limit: number): Promise<string> {
    this.stats.reads++;
    return readSmall(this.store, path, limit);
  }

  /** Compacted days being read ahead of their turn (at most one). */
  private readonly ahead = new Map<string, Promise<Buffer | Error>>();

  /**
   * A compacted day's bytes, or why they could not be read; `ahead`: start reading it for later
   * (once: days without a compacted object may come between). Counted as read when it is used.
   */
  private readDay(path: string, ahead = false): Promise<Buffer | Error> {
    const started = this.ahead.get(path);
    if (started && ahead) return started;
    if (started) this.ahead.delete(path);
    const reading =
      started ??
      readSmallBytes(this.store, path, MAX_DAY_BYTES).catch((err: unknown) =>
        err instanceof Error ? err : new Error(String(err)),
      );
    if (ahead) this.ahead.set(path, reading);
    else this.stats.reads++;
    return reading;
  }

  /** Writes a small object once; on a destination that refuses writes, stops trying (read-only from then on). */
  private async write(path: string, text: string): Promise<boolean> {
    if (!this.writable) return false;
    const bytes = Buffer.from(text, 'utf8');
    try {
      await this.store.write(path, Readable.from([bytes]), { contentType: 'application/json', size: bytes.length });
      return true;
    } catch (err) {
      this.writable = false;
      this.log.warn(
        'the history rollup cannot be written here; reading without it (give this reader permission to create objects, once, to make the next reads fast)',
        { path, error: errorMessage(err) },
      );
      return false;
    }
  }

  /**
   * The asked days of the destination, in order. Three listings in date order are walked together,
   * a day at a time: each day's compacted objects (listed first: a few hundred names), its single
   * rows, and (until the rollup is built) the runs stored before rows existed, whose rows are
   * computed from their files as their day comes. Memory holds one day, however long the history.
   */
  async *days(): AsyncGenerator<Day> {
    const since = this.options.since ? dayOf(this.options.since) : '';
    const today = (this.options.now ?? (() => new Date()))();
    const closed = dayOf(new Date(today.getTime() - COMPACT_AFTER_DAYS * 86_400_000));
    // First what `_history/` holds: whether it was built whole, and each day's best compacted object.
    let built = false;
    const best = new Map<string, Compacted>();
    for await (const entry of this.list(`${HISTORY_ROOT}/`)) {
      // Past `days/`: the rows are listed on their own, a day at a time.
      if (entry.path >= `${HISTORY_ROOT}/e`) break;
      if (entry.path.startsWith(`${HISTORY_ROOT}/built/`)) built = true;
      const o = parseHistoryPath(entry.path);
      if (o?.kind !== 'day' || o.date < since) continue;
      // The most rows, then the newer version.
      const other = best.get(o.date);
      if (!other || o.rows > other.rows || (o.rows === other.rows && o.version > other.version))
        best.set(o.date, { rows: o.rows, version: o.version });
    }
    const compacted = [...best.keys()].sort();
    const rows = this.listedRows(since);
    // Runs stored before rows existed: their rows are computed, and written where allowed.
    const runs = built ? byDay<StoredRun>(none()) : byDay(this.storedRuns(since));
    let row = await rows.next();
    let run = await runs.next();
    let c = 0;
    for (;;) {
      const heads = [row.done ? null : row.value.date, run.done ? null : run.value.date, compacted[c] ?? null];
      const date = heads.filter((d): d is string => d !== null).sort()[0];
      if (date === undefined) break;
      let listed: ListedRow[] = [];
      if (!row.done && row.value.date === date) {
        listed = row.value.items;
        row = await rows.next();
      }
      let unrowed: StoredRun[] = [];
      if (!run.done && run.value.date === date) {
        unrowed = run.value.items;
        run = await runs.next();
      }
      if (compacted[c] === date) c++;
      const { day, lazy } = await this.day(date, listed, best.get(date), unrowed, date <= closed);
      // The next compacted day is read while the caller folds this one in.
      const next = compacted[c];
      if (next !== undefined) this.readDay(dayPath(next, best.get(next)!), true);
      yield day;
      // A day handed out as it was read stops at a line it cannot read whose run has its own row:
      // that row is read, and the day goes on from there, in its order.
      while (lazy?.stopped) {
        const { stopped } = lazy;
        lazy.stopped = null;
        let row: HistoryRow | null = null;
        try {
          const own = parseRow(await this.read(stopped.path, MAX_ROW_BYTES), stopped.path);
          if (own.runId !== stopped.runId) throw new Error(`${stopped.path} is not the row of run ${stopped.runId}`);
          row = own;
          this.stats.fromRows++;
        } catch (err) {
          this.skip(stopped.path, errorMessage(err));
        }
        yield { date, rows: this.rowsOfDay(lazy, row) };
      }
    }
    if (!built && this.rebuilt.complete && since === '' && this.writable && this.rebuilt.runs > 0)
      await this.write(
        `${HISTORY_ROOT}/built/at=${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
        `${JSON.stringify({ rows: this.rebuilt.runs })}\n`,
      );
  }

  /** The rows listed under `_history/rows/`, in date order. */
  private async *listedRows(since: string): AsyncGenerator<{ date: string; items: ListedRow[] }> {
    // Listed, parsed and grouped by day in one generator: a year lists 375,000 rows, and each
    // generator an entry passes through costs a promise.
    let n = 0;
    let group: { date: string; items: ListedRow[] } | null = null;
    for await (const entry of this.store.list(`${HISTORY_ROOT}/rows/`, { sizes: false })) {
      if (n++ % 1000 === 0) this.stats.listed++;
      const o = parseHistoryPath(entry.path);
      if (o?.kind !== 'row' || o.date < since) continue;
      if (group && group.date !== o.date) {
        yield group;
        group = null;
      }
      group ??= { date: o.date, items: [] };
      group.items.push({ date: o.date, runId: o.runId, path: entry.path, jobId: o.jobId });
    }
    if (group) yield group;
  }

  /** Every whole run of the destination's tree, in date order (whether it has a row is told by its day). */
  private async *storedRuns(since: string): AsyncGenerator<StoredRun> {
    for await (const run of listRuns(this.store, () => this.stats.listed++)) {
      this.rebuilt.runs++;
      if (run.date >= since) yield run;
    }
  }

  /** The rebuild of rows for runs stored before rows existed: runs seen, and whether every row was written. */
  private readonly rebuilt = { runs: 0, complete: true, warned: false };

  private wanted(jobId: number): boolean {
    const jobs = this.options.jobIds;
    return !jobs || jobs.length === 0 || jobs.includes(jobId);
  }

  /**
   * One day: its compacted object, the rows it lacks, and the rows computed now; compacted anew
   * when the day is closed and its compacted object lacks rows. `listedRows` are the rows listed
   * under the day (its path, job and run).
   */
  private async day(
    date: string,
    listedRows: readonly ListedRow[],
    best: Compacted | undefined,
    unrowed: StoredRun[],
    closed: boolean,
  ): Promise<{ day: Day; lazy?: LazyDay }> {
    const rows = new Map<number, HistoryRow>();
    const compacting = closed && this.writable;
    if (best !== undefined) {
      const path = dayPath(date, best);
      const read = await this.readDay(path);
      const opened = read instanceof Error ? read : openDay(read, best.version, path);
      if (opened instanceof Error) this.skip(path, errorMessage(opened));
      else {
        // A whole day of this version, in time order, is handed out as it is read (version 1 is
        // read whole, and written as version 2 where it may be).
        const ids = best.version === COMPACTED_VERSION ? wholeDay(opened, listedRows, unrowed) : null;
        if (ids) {
          const lazy: LazyDay = {
            path,
            day: opened,
            ids,
            listed: new Map(listedRows.map((r) => [r.runId, r])),
            at: opened.from,
            line: 1,
            n: 0,
            previous: null,
            stopped: null,
          };
          return { day: { date, rows: this.rowsOfDay(lazy, null) }, lazy };
        }
        for (const { text, line } of lines(opened.bytes, opened.from, opened.from === 0 ? 0 : 1)) {
          try {
            const row = opened.row(text, `${path} line ${line}`);
            rows.set(row.runId, row);
          } catch (err) {
            this.skip(path, errorMessage(err));
          }
        }
        this.stats.fromDays += rows.size;
      }
    }
    // A compacted day holds every job; the rows it lacks are read one by one.
    const listed = new Map(listedRows.map((r) => [r.runId, r]));
    const missing = [...listed].filter(([runId, l]) => !rows.has(runId) && (compacting || this.wanted(l.jobId)));
    await drain(missing.values(), this.options.concurrency ?? 16, async ([, { path }]) => {
      try {
        const row = parseRow(await this.read(path, MAX_ROW_BYTES), path);
        rows.set(row.runId, row);
        this.stats.fromRows++;
      } catch (err) {
        this.skip(path, errorMessage(err));
      }
    });
    await this.compute(
      unrowed.filter((r) => !rows.has(r.runId) && !listed.has(r.runId)),
      rows,
    );
    const all = [...rows.values()].sort(byTime);
    const bestRows = best?.rows ?? 0;
    const older = best !== undefined && best.version < COMPACTED_VERSION;
    if (compacting && (all.length > bestRows || (older && all.length === bestRows)) && all.length >= listed.size) {
      if (await this.write(dayPath(date, { rows: all.length, version: COMPACTED_VERSION }), compactDay(all)))
        this.stats.written.days++;
    }
    const mine = all.filter((r) => this.wanted(r.jobId));
    this.stats.rows += mine.length;
    return { day: { date, rows: mine } };
  }

  /**
   * The rows of a compacted day that has every row of its day, each parsed as it is asked for, so
   * that a row is garbage as soon as the caller has folded it in (a day's rows, held whole, outlived
   * the young generation and made a year's read spend a third of its time collecting the old one).
   * Goes on from where `lazy` stopped, with `first` (the row of the run whose line it stopped at).
   * A line it cannot read stops it if the run has a row of its own (which days() reads, then goes
   * on), else is reported and left out.
   */
  private *rowsOfDay(lazy: LazyDay, first: HistoryRow | null): Generator<HistoryRow> {
    const { path, day, ids } = lazy;
    const take = (row: HistoryRow): boolean => {
      if (lazy.previous !== null && byTime(lazy.previous, row) >= 0) {
        this.skip(path, `${path} line ${lazy.line} is not in the order its day was written in`);
        return false;
      }
      lazy.previous = row;
      if (!this.wanted(row.jobId)) return false;
      this.stats.rows++;
      return true;
    };
    if (first !== null && take(first)) yield first;
    for (const { text, line, next } of lines(day.bytes, lazy.at, lazy.line)) {
      lazy.at = next;
      lazy.line = line;
      const id = ids[lazy.n++]!;
      let row: HistoryRow;
      try {
        row = day.row(text, `${path} line ${lazy.line}`);
        if (row.runId !== id) throw new Error(`${path} line ${lazy.line} is not the run it begins with`);
      } catch (err) {
        this.skip(path, errorMessage(err));
        const own = lazy.listed.get(id);
        if (own) {
          lazy.stopped = own;
          return;
        }
        continue;
      }
      this.stats.fromDays++;
      if (take(row)) yield row;
    }
  }

  /**
   * The rows of a day's runs stored before rows existed, computed from their files and written
   * (where the destination allows it), so that the next read finds them.
   */
  private async compute(runs: StoredRun[], into: Map<number, HistoryRow>): Promise<void> {
    if (runs.length > 0 && !this.rebuilt.warned) {
      this.rebuilt.warned = true;
      this.log.warn('runs without a history row: computing their rows from their stored files, once');
    }
    await drain(runs.values(), this.options.concurrency ?? 16, async (run) => {
      try {
        const row = await rowOfStoredRun(this.store, run, () => this.stats.reads++);
        if (
          await this.write(
            historyRowPath({ runId: row.runId, jobId: row.jobId, finishedAt: new Date(row.finishedAt) }),
            `${JSON.stringify(row)}\n`,
          )
        ) {
          this.stats.written.rows++;
        } else this.rebuilt.complete = false;
        into.set(row.runId, row);
        this.stats.computed++;
      } catch (err) {
        // Left out and reported; a broken run does not keep the rollup from being marked built.
        this.skip(run.folder, errorMessage(err));
      }
    });
  }
}

async function* none<T>(): AsyncGenerator<T> {}

/** A row as listed. */
interface ListedRow {
  date: string;
  runId: number;
  path: string;
  jobId: number;
}

/** A day's compacted object, as its name tells it. */
interface Compacted {
  rows: number;
  version: 1 | 2;
}
const dayPath = (date: string, c: Compacted): string => historyDayPath(date, c.rows, c.version);

const NEWLINE = 0x0a;

/** A compacted day's bytes, where its rows begin, how each begins, and how a line is read. */
interface OpenedDay {
  bytes: Buffer;
  /** The first byte of the first row's line. */
  from: number;
  row(text: string, where: string): HistoryRow;
}

const V2_START = Buffer.from('[1,');
const NULL = Buffer.from('null');

/** A compacted day read: its first line read where it is version 2 (the day's names); an error for a bad one. */
function openDay(bytes: Buffer, version: 1 | 2, path: string): OpenedDay | Error {
  if (version === 1) return { bytes, from: 0, row: parseRow };
  const end = bytes.indexOf(NEWLINE);
  let head: unknown;
  try {
    head = JSON.parse(bytes.toString('utf8', 0, end === -1 ? bytes.length : end));
  } catch {
    return new Error(`${path} does not begin with a compacted day's names`);
  }
  const parsed = CompactedHeadSchema.safeParse(head);
  if (!parsed.success) return new Error(`${path} does not begin with a compacted day's names`);
  const { names } = parsed.data;
  return {
    bytes,
    from: end === -1 ? bytes.length : end + 1,
    row: (text, where) => parseRow(text, where, (json) => unpackRow(json, names)),
  };
}

/**
 * A compacted day's lines from byte `at`, each its text, its number and where the next begins
 * (`line`: the number of the line before `at`); empty ones are counted, not yielded. A line at a
 * time: the day's text whole would be one large string, kept in the old generation.
 */
function* lines(bytes: Buffer, at: number, line: number): Generator<{ text: string; line: number; next: number }> {
  while (at < bytes.length) {
    const end = bytes.indexOf(NEWLINE, at);
    const stop = end === -1 ? bytes.length : end;
    line++;
    if (stop > at) yield { text: bytes.toString('utf8', at, stop), line, next: stop + 1 };
    at = stop + 1;
  }
}

/**
 * A compacted day of version 2 being handed out as it is read: where it is, and where it stopped
 * (a line it could not read, whose run has a row of its own to read instead).
 */
interface LazyDay {
  path: string;
  day: OpenedDay;
  /** Each row line's run, in order. */
  ids: readonly number[];
  listed: ReadonlyMap<number, ListedRow>;
  /** The next line's first byte, the last line's number, the next line's place in `ids`. */
  at: number;
  line: number;
  n: number;
  previous: HistoryRow | null;
  stopped: ListedRow | null;
}

/**
 * The runs of a compacted day of version 2, line by line, when it holds each run once, in time
 * order, and every run its day has (each listed row, each run computed from its files): then it is
 * the day, and its rows can be handed out as they are parsed. Each line is read only as far as its
 * time: `[1,RUN,JOB,"JOB NAME"|null,PROJECT|null,ENVIRONMENT|null,"FINISHED AT",…`. Null when the
 * day lacks a run, or a line does not begin as a row does, or comes before the one above it.
 */
function wholeDay(day: OpenedDay, listed: readonly ListedRow[], unrowed: readonly StoredRun[]): number[] | null {
  const { bytes } = day;
  const ids: number[] = [];
  const seen = new Set<number>();
  let previous = '';
  let previousId = 0;
  let value = 0;
  /**
   * A number (at most 15 digits: a safe integer) or, where `nullable`, null at `i`, then a comma:
   * the index after the comma, or -1; the number in `value`.
   */
  const field = (i: number, stop: number, nullable: boolean): number => {
    value = 0;
    if (nullable && bytes.compare(NULL, 0, 4, i, Math.min(i + 4, stop)) === 0) i += 4;
    else {
      const from = i;
      for (; i < stop && i - from < 15 && bytes[i]! >= 0x30 && bytes[i]! <= 0x39; i++)
        value = value * 10 + bytes[i]! - 0x30;
      if (i === from) return -1;
    }
    return bytes[i] === 0x2c ? i + 1 : -1;
  };
  let start = day.from;
  while (start < bytes.length) {
    const end = bytes.indexOf(NEWLINE, start);
    const stop = end === -1 ? bytes.length : end;
    if (stop > start) {
      if (stop - start <= V2_START.length + 1) return null;
      if (bytes.compare(V2_START, 0, V2_START.length, start, start + V2_START.length) !== 0) return null;
      let i = field(start + V2_START.length, stop, false);
      const id = value;
      if (i < 0 || seen.has(id)) return null;
      i = field(i, stop, false);
      // The job's name: null, or a string (its escapes skipped).
      if (i < 0) return null;
      if (bytes[i] === 0x22) {
        for (i++; i < stop && bytes[i] !== 0x22; i++) if (bytes[i] === 0x5c) i++;
        if (bytes[i] !== 0x22 || bytes[i + 1] !== 0x2c) return null;
        i += 2;
      } else if (bytes.compare(NULL, 0, 4, i, Math.min(i + 4, stop)) === 0 && bytes[i + 4] === 0x2c) i += 5;
      else return null;
      i = field(i, stop, true);
      if (i >= 0) i = field(i, stop, true);
      // The time as toISOString writes it: 24 characters, no escape.
      if (i < 0 || i + 25 >= stop || bytes[i] !== 0x22 || bytes[i + 25] !== 0x22) return null;
      const at = bytes.toString('latin1', i + 1, i + 25);
      if (at.includes('\\') || at.includes('"')) return null;
      if (at < previous || (at === previous && id <= previousId)) return null;
      previous = at;
      previousId = id;
      seen.add(id);
      ids.push(id);
    }
    start = stop + 1;
  }
  for (const row of listed) if (!seen.has(row.runId)) return null;
  for (const run of unrowed) if (!seen.has(run.runId)) return null;
  return ids;
}

/** Consecutive items of the same date, together (the listings are in date order). */
async function* byDay<T extends { date: string }>(
  items: AsyncIterable<T>,
): AsyncGenerator<{ date: string; items: T[] }, void, undefined> {
  let group: { date: string; items: T[] } | null = null;
  for await (const item of items) {
    if (group && group.date !== item.date) {
      yield group;
      group = null;
    }
    group ??= { date: item.date, items: [] };
    group.items.push(item);
  }
  if (group) yield group;
}
