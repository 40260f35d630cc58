/**
 * history: how a project's runs go and how it is documented and tested, over every stored run (the
 * rollup, lib/history/), as one HTML report, or every run as JSON or CSV. coverage history: the
 * coverage part alone, as a report of its own, or the coverage series of the same runs.
 * @module
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { InputError } from '../../core/errors.ts';
import { oneOf } from '../../config/text-values.ts';
import { coveragePoint, pointsCsv, pointsJson, runsCsv, runsJson, type Sink } from '../../history/export.ts';
import { readHistory, type History } from '../../history/history.ts';
import { renderHistoryHtmlParts } from '../../history/report-html.ts';
import type { HistoryRow } from '../../core/history-row.ts';
import { tuneForSmallInstances } from '../../config/runtime.ts';
import { openStore } from '../../storage/index.ts';
import {
  arg,
  cliLogger,
  commandConfig,
  defineCommand,
  sourceFrom,
  storedRunsArgs,
  type CommandContext,
} from '../command.ts';

const FORMATS = ['html', 'json', 'csv'] as const;

const historyArgs = {
  ...storedRunsArgs,
  out: arg.path('file-to-write', 'where to write (required for html)', { placeholder: 'FILE' }),
  format: arg.text(oneOf(FORMATS), 'html (default), json or csv', { placeholder: 'FORMAT' }),
  'read-only': arg.switch('never write the rollup (by default it is completed where the destination allows)'),
};

type HistoryContext = CommandContext<typeof historyArgs>;

/** A file written a piece at a time, or stdout. */
function sink(ctx: HistoryContext, out: string | undefined): Sink & { close(): void } {
  if (out === undefined) return { write: (t) => ctx.io.stdout(t), close: () => {} };
  const fd = openSync(out, 'w');
  return { write: (t) => void writeSync(fd, t), close: () => closeSync(fd) };
}

async function run(ctx: HistoryContext, kind: 'history' | 'coverage'): Promise<number> {
  const { io, args, problems } = ctx;
  const format = args.format ?? 'html';
  const out = args.out;
  if (format === 'html' && ctx.flags['out'] === undefined)
    problems.push('--out FILE is required for the HTML report (or --format json|csv, to stdout)');
  const from = await sourceFrom(io, problems, args.from);
  const config = commandConfig(ctx);
  // A year of rows is a lot of short-lived garbage: a young generation that holds a day's rows
  // (config/runtime.ts), not one tuned for size, which spent most of a year's read collecting.
  tuneForSmallInstances('rows');
  const { since } = args;
  const jobIds = args['job-id'];
  const store = await openStore(from!, { storageApiEndpoint: config.storageApiEndpoint });
  const unusable = await store.problem?.();
  if (unusable) throw new InputError(`Cannot read ${store.description}`, [unusable]);
  const options = {
    since,
    jobIds,
    write: !args['read-only'],
    logger: cliLogger(io, config),
    // coverage history as JSON or CSV writes coverage figures alone: nothing else is kept.
    coverageOnly: kind === 'coverage' && format !== 'html',
  };
  const target = format === 'html' ? null : sink(ctx, out);
  let onRow: (row: HistoryRow) => void = () => {};
  let end: (h: History) => void = () => {};
  let rows = 0;
  if (target && kind === 'history') {
    if (format === 'json') ({ row: onRow, end } = runsJson(target, store.description));
    else onRow = runsCsv(target).row;
  } else if (target) {
    let point: (p: NonNullable<ReturnType<typeof coveragePoint>>) => void;
    if (format === 'json') ({ point, end } = pointsJson(target, store.description));
    else point = pointsCsv(target).point;
    onRow = (r) => {
      const p = coveragePoint(r);
      if (p) point(p);
    };
  }
  let history: History;
  try {
    history = await readHistory(store, options, (r) => {
      rows++;
      onRow(r);
    });
    end(history);
  } finally {
    target?.close();
  }
  const s = history.stats;
  for (const skipped of s.skipped.slice(0, 20)) io.stderr(`${skipped.path} left out: ${skipped.reason}\n`);
  if (s.skippedCount > 20) io.stderr(`... and ${s.skippedCount - 20} more objects left out\n`);
  if (rows === 0) {
    io.stderr(
      `no stored run in ${store.description}${since ? ` since ${since.toISOString().slice(0, 10)}` : ''}${jobIds ? ` for job ${jobIds.join(', ')}` : ''}\n`,
    );
    return 1;
  }
  if (format === 'html') {
    const parts = await renderHistoryHtmlParts(history, {
      source: store.description,
      generatedAt: new Date(),
      coverageOnly: kind === 'coverage',
    });
    const file = sink(ctx, out);
    for (const part of parts) file.write(part);
    file.close();
  }
  if (out)
    io.stderr(
      `${rows} runs (${s.fromDays} from compacted days, ${s.fromRows} from single rows, ${s.computed} computed from stored files; ${s.reads} objects read) -> ${out}\n`,
    );
  return 0;
}

export const history = defineCommand({
  name: 'history',
  summary: 'run health, model timings, test results, source freshness and coverage over every stored run',
  usage: `--from DIR|gs://BUCKET[/PREFIX] [--since DATE] [--job-id J ...] [--out FILE] [--format html|json|csv]`,
  description: `Reads the history rollup the harvester keeps beside the runs (_history/: one row per run, and each past
day compacted into one object), and writes one self-contained HTML report (run health per job, failed
runs, slowest models and regressions, test results, failing and flaky tests, source freshness, coverage
and the models behind its drops), or every run as JSON (its "runs") or CSV (to --out, else stdout).
Runs stored before the rollup existed get their rows computed from their stored files, once; where the
destination can be written (unless --read-only), missing rows and compacted days are written, so the
next read costs a request per day rather than per run.
Exit status: 0 written; 1 no run found; 2 bad usage.`,
  dbtCloud: false,
  settings: [],
  args: historyArgs,
  run: (ctx) => run(ctx, 'history'),
});

export const coverageHistory = defineCommand({
  name: 'coverage history',
  summary: 'documentation, test and unit-test coverage over every stored run, as a report or a series',
  usage: `--from DIR|gs://BUCKET[/PREFIX] [--since DATE] [--job-id J ...] [--out FILE] [--format html|json|csv]`,
  description: `The coverage part of history: a report of coverage alone (html: the coverage charts, the largest drops
and each job's latest per-table figures; history writes it within the whole report), or the coverage of each run as JSON ("points",
the largest drops between consecutive runs and the tables that caused them, each job's latest per-table
figures) or CSV. A run harvested before summaries existed has its coverage computed from its stored
manifest and catalog (origin "computed").
Exit status: 0 written; 1 no run found; 2 bad usage.`,
  dbtCloud: false,
  settings: [],
  args: historyArgs,
  run: (ctx) => run(ctx, 'coverage'),
});
