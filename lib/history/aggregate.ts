/**
 * The history as a report reads it: rows folded, in time order, into figures whose size does not
 * grow with the number of runs (pure: rows in, figures out).
 *
 * - Run health per job: every run of the last RECENT_RUNS per job (status, duration, queue time,
 *   the failed step, its page), and per day the runs, successes, errors, cancellations, median and
 *   longest duration, median queue time. A chart draws the runs themselves while a job has at most
 *   RECENT_RUNS in the window, and the days beyond that.
 * - Models: per model (of those among a run's slowest), its daily median execution time; the
 *   slowest now (each job's last run); regressions, the median of the last 7 days' daily medians
 *   against the 28 days before (days end at the last run read).
 * - Tests: per day the results; each job's failing tests now and the run they started failing in;
 *   flaky tests, whose result changed between consecutive runs of a job that ran tests, over the
 *   last 28 days.
 * - Source freshness: per source its daily largest lag, and each job's last freshness results.
 * - Coverage: per job the runs' coverage, and the largest drops between consecutive runs.
 * @module
 */
import type { HistoryRow } from '../core/history-row.ts';
import type { FreshnessCounts, TestCounts } from '../core/run-facts.ts';

/** Runs per job kept whole (for the per-run charts and tables). */
export const RECENT_RUNS = 500;
/** Models and sources whose daily series are kept (the most seen first). */
const MAX_SERIES = 2000;
/** Failing and flaky tests tracked. */
const MAX_TESTS = 20_000;
const DAY_MS = 86_400_000;
/** Changes of result that make a test flaky: failing and recovering twice (once is a fix). */
const FLAKY_CHANGES = 4;

export interface DayFigures {
  date: string;
  jobId: number;
  runs: number;
  success: number;
  error: number;
  cancelled: number;
  durationMedian: number | null;
  durationMax: number | null;
  queuedMedian: number | null;
  tests: TestCounts;
  unitTests: TestCounts;
  freshness: FreshnessCounts;
  /** The day's last coverage (documented and tested columns, unit-tested models, as ratios). */
  doc: number | null;
  test: number | null;
  unitTest: number | null;
  bytesProcessed: number;
  slotMs: number;
}

export interface JobFigures {
  jobId: number;
  jobName: string | null;
  runs: number;
  success: number;
  error: number;
  cancelled: number;
  last: HistoryRow;
}

export interface Regression {
  jobId: number;
  model: string;
  before: number;
  after: number;
  change: number;
  days: { before: number; after: number };
}

export interface FailingTest {
  jobId: number;
  test: string;
  status: string;
  since: string;
  sinceRun: number;
  runs: number;
}

export interface FlakyTest {
  jobId: number;
  test: string;
  flips: number;
  runs: number;
  failures: number;
}

export interface CoverageDrop {
  jobId: number;
  kind: 'doc' | 'test';
  fromRun: HistoryRow;
  toRun: HistoryRow;
  before: number;
  after: number;
  change: number;
}

/** A run as the per-run charts draw it: a few numbers, not its row (rows are many; this is small). */
export interface RecentRun {
  runId: number;
  jobId: number;
  finishedAt: string;
  status: HistoryRow['status'];
  durationSeconds: number | null;
  queuedSeconds: number | null;
  doc: number | null;
  test: number | null;
  unitTest: number | null;
}

/** An hour's runs by outcome and its test results (data and unit tests together), of every job. */
export interface HourFigures {
  /** The hour's start, ISO 8601 UTC. */
  hour: string;
  success: number;
  error: number;
  cancelled: number;
  tests: { pass: number; warn: number; fail: number; error: number; skipped: number };
}

/** The hours kept: a window of two days is drawn an hour at a time (the report's HOURLY_SPAN). */
const HOURS_KEPT = 49;

export interface HistoryFigures {
  first: string | null;
  last: string | null;
  runs: number;
  jobs: JobFigures[];
  days: DayFigures[];
  /** The last RECENT_RUNS runs of each job, by finishedAt. */
  recent: RecentRun[];
  /** The last hours' totals (at most two days' worth), oldest first. */
  hours: HourFigures[];
  failures: HistoryRow[];
  slowestNow: { jobId: number; model: string; seconds: number; status: string; runId: number }[];
  /** Daily medians of the models of `slowestNow` (and the regressions). */
  modelSeries: { jobId: number; model: string; date: string; seconds: number }[];
  /**
   * The models the report opens a view of (each of `slowestNow` and `regressions`): every day's
   * median execution time over the period, oldest first.
   */
  modelViews: { jobId: number; model: string; series: { date: string; seconds: number }[] }[];
  regressions: Regression[];
  failingNow: FailingTest[];
  flaky: FlakyTest[];
  freshnessNow: {
    jobId: number;
    source: string;
    status: string;
    lagSeconds: number | null;
    runId: number;
    finishedAt: string;
  }[];
  sourceSeries: { source: string; date: string; lagSeconds: number }[];
  drops: CoverageDrop[];
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  // A typed array sorts numbers as numbers, without calling a comparison per pair.
  const s = Float64Array.from(xs).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ratio = (f: { covered: number; total: number } | null | undefined): number | null =>
  f && f.total > 0 ? f.covered / f.total : null;
/**
 * Counts of nothing, shared by every day that has none of them (most days of most jobs run no unit
 * test and check no freshness): a year of 274 jobs holds 100,000 days, and a counts object each
 * was megabytes. Frozen: a day that gets counts gets its own object (`plus`).
 */
const NO_TESTS = Object.freeze({ pass: 0, fail: 0, warn: 0, error: 0, skipped: 0, reused: 0 });
const NO_FRESHNESS = Object.freeze({ pass: 0, warn: 0, error: 0 });

/** `into` plus `from`: `into` itself, added to, unless `from` is all zero or `into` is a shared zero. */
const plus = <K extends string>(into: Record<K, number>, from: Record<K, number>): Record<K, number> => {
  const keys = Object.keys(from) as K[];
  if (keys.every((k) => from[k] === 0)) return into;
  const sum = Object.isFrozen(into) ? { ...into } : into;
  for (const k of keys) sum[k] += from[k];
  return sum;
};

/** A recent run's slot before its first run. */
const NO_RUN: RecentRun = {
  runId: 0,
  jobId: 0,
  finishedAt: '',
  status: 'success',
  durationSeconds: null,
  queuedSeconds: null,
  doc: null,
  test: null,
  unitTest: null,
};

/** The tests a run counted, of every result. */
const ranOf = (t: TestCounts): number => t.pass + t.fail + t.warn + t.error + t.skipped + t.reused;
/** A job's failing tests when none is: shared, never added to (each run's set is a new one). */
const NO_FAILING: ReadonlySet<string> = new Set<string>();

interface DayAccumulator {
  figures: DayFigures;
  durations: number[];
  queued: number[];
}

export class HistoryAggregator {
  private runs = 0;
  private first: string | null = null;
  private last: string | null = null;
  private readonly jobs = new Map<number, JobFigures>();
  private readonly days: DayFigures[] = [];
  private today = new Map<number, DayAccumulator>();
  private currentDate: string | null = null;
  /** Each job's last runs: a ring, `next` the slot the next run takes (the oldest, once it is full). */
  private readonly recent = new Map<number, { runs: RecentRun[]; next: number }>();
  private readonly failures: HistoryRow[] = [];
  /** job:model -> date -> the day's execution times (the day's median once the day is done). */
  private readonly modelDays = new Map<string, Map<string, number[] | number>>();
  /** The same series by job, then model (the hot path's lookup, without a key to build). */
  private readonly modelsOf = new Map<number, Map<string, Map<string, number[] | number>>>();
  private readonly sourceDays = new Map<string, Map<string, number>>();
  private readonly failing = new Map<string, FailingTest>();
  /** job:test -> the job's test run it was first seen in, its failures, and when its result changed. */
  private readonly flips = new Map<
    string,
    { jobId: number; test: string; firstRun: number; failures: number; times: number[] }
  >();
  /** Runs of each job that ran tests, and how many tests its last such run ran. */
  private readonly testRuns = new Map<number, number>();
  private readonly lastTestTotal = new Map<number, number>();
  private readonly lastTests = new Map<number, ReadonlySet<string>>();
  private readonly lastCoverage = new Map<number, HistoryRow>();
  private drops: CoverageDrop[] = [];
  private readonly lastFreshness = new Map<number, HistoryRow>();
  private readonly hours = new Map<string, HourFigures>();
  /** The hour of the last run added, and its start's first 13 characters (`2026-11-20T10`). */
  private lastHour: { prefix: string; figures: HourFigures } | null = null;
  private readonly coverageOnly: boolean;

  /**
   * `coverageOnly`: count runs and jobs and follow coverage drops, nothing else (`coverage history`
   * as JSON or CSV writes no other figure, and a year of 274 jobs' days and recent runs was tens of
   * megabytes it never wrote).
   */
  constructor(options: { coverageOnly?: boolean } = {}) {
    this.coverageOnly = options.coverageOnly ?? false;
  }

  /** Rows in time order (a day's rows, then the next day's). */
  add(row: HistoryRow): void {
    // The day's own string while the day lasts: the series below are keyed by date, and a key that
    // is the same string is found without hashing and comparing a new one for each run.
    const current = this.currentDate;
    const date = current !== null && row.finishedAt.startsWith(current) ? current : row.finishedAt.slice(0, 10);
    this.runs++;
    this.first ??= row.finishedAt;
    this.last = row.finishedAt;
    this.job(row);
    if (this.coverageOnly) {
      this.coverage(row);
      return;
    }
    if (date !== this.currentDate) this.closeDay(date);
    this.day(row);
    let recent = this.recent.get(row.jobId);
    if (!recent) {
      recent = { runs: [], next: 0 };
      this.recent.set(row.jobId, recent);
    }
    // A ring of RECENT_RUNS runs per job, each object written over when its slot comes round again:
    // an object per run, kept for the job's next 500 runs, lived long enough to be moved to the old
    // generation, and a year's read made 375,780 of them.
    let slot = recent.runs[recent.next];
    if (!slot) {
      slot = { ...NO_RUN };
      recent.runs.push(slot);
    }
    recent.next = (recent.next + 1) % RECENT_RUNS;
    slot.runId = row.runId;
    slot.jobId = row.jobId;
    slot.finishedAt = row.finishedAt;
    slot.status = row.status;
    slot.durationSeconds = row.durationSeconds;
    slot.queuedSeconds = row.queuedSeconds;
    slot.doc = ratio(row.coverage?.doc);
    slot.test = ratio(row.coverage?.test);
    slot.unitTest = ratio(row.coverage?.unitTest);
    this.hour(row);
    if (row.status !== 'success') {
      this.failures.push(row);
      if (this.failures.length > 200) this.failures.splice(0, this.failures.length - 100);
    }
    let models = this.modelsOf.get(row.jobId);
    if (!models) {
      models = new Map();
      this.modelsOf.set(row.jobId, models);
    }
    for (const [model, seconds] of row.slowest) {
      let series = models.get(model);
      if (!series) {
        if (this.modelDays.size >= MAX_SERIES) continue;
        series = new Map();
        models.set(model, series);
        this.modelDays.set(`${row.jobId}\u0000${model}`, series);
      }
      const today = series.get(date);
      if (Array.isArray(today)) today.push(seconds);
      else series.set(date, [seconds]);
    }
    this.tests(row);
    if (row.sources.length > 0) {
      this.lastFreshness.set(row.jobId, row);
      for (const [source, , lag] of row.sources) {
        if (lag === null) continue;
        let series = this.sourceDays.get(source);
        if (!series) {
          if (this.sourceDays.size >= MAX_SERIES) continue;
          series = new Map();
          this.sourceDays.set(source, series);
        }
        series.set(date, Math.max(series.get(date) ?? 0, lag));
      }
    }
    this.coverage(row);
  }

  /** The hour's totals: the last HOURS_KEPT hours are kept, older ones dropped as new ones open. */
  private hour(row: HistoryRow): void {
    // Rows come in time order: most are of the hour before them, found without building its key.
    let last = this.lastHour;
    if (!last || !row.finishedAt.startsWith(last.prefix)) {
      const prefix = row.finishedAt.slice(0, 13);
      const key = `${prefix}:00:00.000Z`;
      let figures = this.hours.get(key);
      if (!figures) {
        figures = {
          hour: key,
          success: 0,
          error: 0,
          cancelled: 0,
          tests: { pass: 0, warn: 0, fail: 0, error: 0, skipped: 0 },
        };
        this.hours.set(key, figures);
        const oldest = Date.parse(key) - HOURS_KEPT * 3_600_000;
        for (const k of this.hours.keys()) if (Date.parse(k) <= oldest) this.hours.delete(k);
      }
      last = this.lastHour = { prefix, figures };
    }
    const h = last.figures;
    h[row.status]++;
    for (const k of ['pass', 'warn', 'fail', 'error', 'skipped'] as const)
      h.tests[k] += row.tests[k] + row.unitTests[k];
  }

  private job(row: HistoryRow): void {
    const j = this.jobs.get(row.jobId) ?? {
      jobId: row.jobId,
      jobName: row.jobName,
      runs: 0,
      success: 0,
      error: 0,
      cancelled: 0,
      last: row,
    };
    j.runs++;
    j[row.status]++;
    j.last = row;
    j.jobName = row.jobName ?? j.jobName;
    this.jobs.set(row.jobId, j);
  }

  private day(row: HistoryRow): void {
    let acc = this.today.get(row.jobId);
    if (!acc) {
      acc = {
        figures: {
          date: row.finishedAt.slice(0, 10),
          jobId: row.jobId,
          runs: 0,
          success: 0,
          error: 0,
          cancelled: 0,
          durationMedian: null,
          durationMax: null,
          queuedMedian: null,
          tests: NO_TESTS,
          unitTests: NO_TESTS,
          freshness: NO_FRESHNESS,
          doc: null,
          test: null,
          unitTest: null,
          bytesProcessed: 0,
          slotMs: 0,
        },
        durations: [],
        queued: [],
      };
      this.today.set(row.jobId, acc);
    }
    const f = acc.figures;
    f.runs++;
    f[row.status]++;
    if (row.durationSeconds !== null) acc.durations.push(row.durationSeconds);
    if (row.queuedSeconds !== null) acc.queued.push(row.queuedSeconds);
    f.tests = plus(f.tests, row.tests);
    f.unitTests = plus(f.unitTests, row.unitTests);
    f.freshness = plus(f.freshness, row.freshness);
    if (row.coverage) {
      f.doc = ratio(row.coverage.doc) ?? f.doc;
      f.test = ratio(row.coverage.test) ?? f.test;
      f.unitTest = ratio(row.coverage.unitTest) ?? f.unitTest;
    }
    f.bytesProcessed += row.cost?.bytesProcessed ?? 0;
    f.slotMs += row.cost?.slotMs ?? 0;
  }

  /** The day before `next` is done: its figures are kept, its execution times reduced to medians. */
  private closeDay(next: string | null): void {
    const done = this.currentDate;
    for (const acc of this.today.values()) {
      acc.figures.durationMedian = median(acc.durations);
      acc.figures.durationMax = acc.durations.length > 0 ? Math.max(...acc.durations) : null;
      acc.figures.queuedMedian = median(acc.queued);
      this.days.push(acc.figures);
    }
    this.today = new Map();
    if (done !== null)
      for (const series of this.modelDays.values()) {
        const times = series.get(done);
        if (Array.isArray(times)) series.set(done, median(times)!);
      }
    this.currentDate = next;
  }

  private tests(row: HistoryRow): void {
    const ran = ranOf(row.tests) + ranOf(row.unitTests);
    if (ran === 0) return;
    const n = (this.testRuns.get(row.jobId) ?? 0) + 1;
    this.testRuns.set(row.jobId, n);
    const before = this.lastTests.get(row.jobId) ?? NO_FAILING;
    if (row.failingTests.length === 0 && before.size === 0) {
      // Nothing failing, before or now (most runs): no test started or stopped failing.
      this.lastTestTotal.set(row.jobId, ran);
      this.lastTests.set(row.jobId, NO_FAILING);
      return;
    }
    const failing = new Map(row.failingTests);
    const at = Date.parse(row.finishedAt);
    // A row names the tests that did not pass, not those that ran: a result counts as changed only
    // between runs that ran as many tests (the same selection), not when the selection changed.
    const sameSelection = this.lastTestTotal.get(row.jobId) === ran;
    this.lastTestTotal.set(row.jobId, ran);
    // Started failing here, or still failing.
    for (const [test, status] of failing) {
      const key = `${row.jobId}\u0000${test}`;
      const f = this.failing.get(key);
      if (f) {
        f.runs++;
        f.status = status;
      } else if (this.failing.size < MAX_TESTS)
        this.failing.set(key, { jobId: row.jobId, test, status, since: row.finishedAt, sinceRun: row.runId, runs: 1 });
    }
    // Changes of result, for flakiness: failing now and not before, or the other way.
    for (const test of new Set([...failing.keys(), ...before])) {
      const key = `${row.jobId}\u0000${test}`;
      const nowFailing = failing.has(test);
      if (!nowFailing) this.failing.delete(key);
      let f = this.flips.get(key);
      if (!f) {
        if (this.flips.size >= MAX_TESTS) continue;
        f = { jobId: row.jobId, test, firstRun: n, failures: 0, times: [] };
        this.flips.set(key, f);
      }
      if (nowFailing) f.failures++;
      if (sameSelection && nowFailing !== before.has(test)) {
        f.times.push(at);
        while (f.times.length > 0 && f.times[0]! < at - 28 * DAY_MS) f.times.shift();
      }
    }
    this.lastTests.set(row.jobId, new Set(failing.keys()));
  }

  private coverage(row: HistoryRow): void {
    if (!row.coverage || row.coverage.doc === null) return;
    const prev = this.lastCoverage.get(row.jobId);
    this.lastCoverage.set(row.jobId, row);
    if (!prev?.coverage) return;
    for (const kind of ['doc', 'test'] as const) {
      const before = ratio(prev.coverage[kind]);
      const after = ratio(row.coverage[kind]);
      if (before === null || after === null || after >= before) continue;
      this.drops.push({ jobId: row.jobId, kind, fromRun: prev, toRun: row, before, after, change: after - before });
      this.drops.sort((a, b) => a.change - b.change);
      if (this.drops.length > 10) this.drops.length = 10;
    }
  }

  /** The figures of every row added. */
  finish(): HistoryFigures {
    this.closeDay(null);
    const lastAt = this.last ? Date.parse(this.last) : 0;
    const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
    const lastDay = dayOf(lastAt);
    const week = dayOf(lastAt - 7 * DAY_MS);
    const month = dayOf(lastAt - 35 * DAY_MS);
    const slowestNow = [...this.jobs.values()]
      .flatMap((j) =>
        j.last.slowest.map(([model, seconds, status]) => ({
          jobId: j.jobId,
          model,
          seconds,
          status,
          runId: j.last.runId,
        })),
      )
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, 20);
    const regressions: Regression[] = [];
    for (const [key, series] of this.modelDays) {
      const [job, model] = key.split('\u0000') as [string, string];
      const after: number[] = [];
      const before: number[] = [];
      for (const [date, v] of series) {
        if (typeof v !== 'number') continue;
        if (date > week && date <= lastDay) after.push(v);
        else if (date > month && date <= week) before.push(v);
      }
      const a = median(after);
      const b = median(before);
      if (a === null || b === null || b <= 0) continue;
      const change = (a - b) / b;
      if (change >= 0.2 && a - b >= 1)
        regressions.push({
          jobId: Number(job),
          model,
          before: b,
          after: a,
          change,
          days: { before: before.length, after: after.length },
        });
    }
    regressions.sort((x, y) => y.change - x.change);
    /** A model's daily medians, oldest first (days are added in order). */
    const daysOf = (key: string) => {
      const [job, model] = key.split('\u0000') as [string, string];
      const series = [...(this.modelDays.get(key) ?? [])]
        .filter((e): e is [string, number] => typeof e[1] === 'number')
        .map(([date, seconds]) => ({ date, seconds }));
      return { jobId: Number(job), model, series };
    };
    const keyOf = (m: { jobId: number; model: string }) => `${m.jobId}\u0000${m.model}`;
    const charted = new Set([...slowestNow.slice(0, 8).map(keyOf), ...regressions.slice(0, 4).map(keyOf)]);
    const modelSeries: HistoryFigures['modelSeries'] = [...charted].flatMap((key) => {
      const { jobId, model, series } = daysOf(key);
      return series.map((d) => ({ jobId, model, ...d }));
    });
    const viewed = new Set([...slowestNow.map(keyOf), ...regressions.slice(0, 20).map(keyOf)]);
    const modelViews = [...viewed].map(daysOf);
    const window = lastAt - 28 * DAY_MS;
    const flaky: FlakyTest[] = [...this.flips.values()]
      .map((f) => ({
        jobId: f.jobId,
        test: f.test,
        flips: f.times.filter((t) => t >= window).length,
        runs: (this.testRuns.get(f.jobId) ?? 0) - f.firstRun + 1,
        failures: f.failures,
      }))
      .filter((f) => f.flips >= FLAKY_CHANGES && f.failures > 0 && f.failures < f.runs)
      .sort((a, b) => b.flips - a.flips || (a.test < b.test ? -1 : 1))
      .slice(0, 50);
    const freshnessNow = [...this.lastFreshness.values()].flatMap((row) =>
      row.sources.map(([source, status, lagSeconds]) => ({
        jobId: row.jobId,
        source,
        status,
        lagSeconds,
        runId: row.runId,
        finishedAt: row.finishedAt,
      })),
    );
    const stalest = [...this.sourceDays.entries()]
      .map(([source, series]) => ({ source, max: Math.max(...series.values()) }))
      .sort((a, b) => b.max - a.max)
      .slice(0, 8);
    const sourceSeries = stalest.flatMap(({ source }) =>
      [...this.sourceDays.get(source)!].map(([date, lagSeconds]) => ({ source, date, lagSeconds })),
    );
    return {
      first: this.first,
      last: this.last,
      runs: this.runs,
      jobs: [...this.jobs.values()].sort((a, b) => b.runs - a.runs || a.jobId - b.jobId),
      days: this.days,
      recent: [...this.recent.values()]
        .flatMap(({ runs, next }) => [...runs.slice(next), ...runs.slice(0, next)])
        .sort((a, b) => (a.finishedAt < b.finishedAt ? -1 : 1)),
      hours: [...this.hours.values()].sort((a, b) => (a.hour < b.hour ? -1 : 1)),
      failures: this.failures.slice(-50).reverse(),
      slowestNow,
      modelSeries,
      modelViews,
      regressions: regressions.slice(0, 20),
      failingNow: [...this.failing.values()].sort((a, b) => (a.since < b.since ? -1 : 1)).slice(0, 100),
      flaky,
      freshnessNow,
      sourceSeries,
      drops: this.drops,
    };
  }
}
