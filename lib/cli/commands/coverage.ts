/**
 * coverage compute: dbt-coverage's `compute`, from a folder of artifacts (the same figures, tables
 * and report). coverage history: the coverage of every stored run, as a report or a series.
 * @module
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { anyText, fromParser, oneOf, ratioText, timeText } from '../../config/values.ts';
import { computeCoverage, formatMarkdown, formatString, reportJson } from '../../core/coverage.ts';
import { parseDestination } from '../../core/destination.ts';
import { InputError } from '../../core/errors.ts';
import { positiveInt } from '../../config/values.ts';
import { catalogCollector, collect, manifestCollector } from '../../coverage/extract.ts';
import { historyCsv, loadHistory } from '../../history/history.ts';
import { renderHistoryHtml } from '../../history/report-html.ts';
import { openStore } from '../../storage/index.ts';
import { arg, cliLogger, commandConfig, defineCommand, pathProblem, resolvePath, type Command } from '../command.ts';

const COV_TYPES = ['doc', 'test'] as const;

export const coverageCompute = defineCommand({
  name: 'coverage compute',
  summary: "a run's documentation or test coverage, as dbt-coverage computes it",
  usage: `doc|test --run-artifacts-dir DIR [--cov-report FILE] [--cov-format string|markdown]
         [--cov-fail-under RATIO] [--model-path-filter PATH ...]`,
  description: `Reads DIR/manifest.json and DIR/catalog.json (a step folder the harvester stored, or dbt's target/),
prints the coverage table and writes the report (default ./coverage.json) as dbt-coverage 0.4 does,
with the same figures, so that its compare keeps working. A catalog table the manifest lacks is
left out and named on stderr (dbt-coverage stops there).
Exit status: 0 computed; 1 under --cov-fail-under, or no table left after --model-path-filter; 2 bad usage or unreadable artifacts.`,
  dbtCloud: false,
  settings: [],
  args: {
    type: arg.text(oneOf(COV_TYPES), 'the coverage type', {
      position: 0,
      placeholder: 'TYPE',
      required: 'name the coverage type: doc or test',
    }),
    'run-artifacts-dir': arg.path('folder-to-read', 'the folder with manifest.json and catalog.json', {
      placeholder: 'DIR',
      required: '--run-artifacts-dir DIR is required (the folder with manifest.json and catalog.json)',
    }),
    'cov-report': arg.path('file-to-write', 'where to write the JSON report (default coverage.json)', {
      placeholder: 'FILE',
    }),
    'cov-format': arg.text(oneOf(['string', 'markdown']), 'string (default) or markdown', { placeholder: 'FORMAT' }),
    'cov-fail-under': arg.text(ratioText, 'exit 1 when the coverage is lower (0 to 1)', { placeholder: 'RATIO' }),
    'model-path-filter': arg.text(anyText, 'count only tables whose original_file_path starts with PATH (repeatable)', {
      placeholder: 'PATH',
      multiple: true,
    }),
  },
  async run(ctx) {
    const { io, args, problems } = ctx;
    const reportFile = args['cov-report'] ?? resolvePath(io, 'coverage.json');
    if (args['cov-report'] === undefined) {
      const problem = await pathProblem(reportFile, 'file-to-write');
      if (problem) problems.push(`--cov-report ${reportFile} ${problem}`);
    }
    const dir = args['run-artifacts-dir'];
    const files = dir ? { manifest: join(dir, 'manifest.json'), catalog: join(dir, 'catalog.json') } : undefined;
    if (files) {
      if (await pathProblem(files.manifest, 'file-to-read'))
        problems.push(`${files.manifest} not found: a dbt command writes manifest.json in target/`);
      if (await pathProblem(files.catalog, 'file-to-read'))
        problems.push(`${files.catalog} not found: dbt writes catalog.json with dbt docs generate`);
    }
    commandConfig(ctx);
    const filters = args['model-path-filter'];
    const read = <T>(path: string, collector: Parameters<typeof collect<T>>[1]): Promise<T> =>
      collect(createReadStream(path), collector).catch((err: unknown) => {
        throw new InputError(err instanceof Error ? err.message : String(err));
      });
    const manifest = await read(files!.manifest, manifestCollector({ tables: true }));
    const catalog = await read(files!.catalog, catalogCollector());
    if (!manifest.tablesKept)
      throw new InputError(`${files!.manifest} has more tables than coverage reads`, [
        'more than 100,000 sources, models, seeds and snapshots',
      ]);
    const report = computeCoverage(manifest, catalog, args.type, filters);
    for (const id of report.unmatched)
      io.stderr(
        `${id} is in the catalog but not in the manifest (or is not a source, model, seed or snapshot); left out\n`,
      );
    if (filters && report.tables.length === 0) {
      io.stderr('After filtering, the catalog contains no tables. Ensure your --model-path-filter is correct.\n');
      return 1;
    }
    io.stdout(args['cov-format'] === 'markdown' ? formatMarkdown(report) : formatString(report));
    await writeFile(reportFile, reportJson(report));
    const failUnder = args['cov-fail-under'];
    if (failUnder !== undefined && (report.coverage ?? 0) < failUnder) {
      io.stderr(
        `Measured coverage ${(report.coverage ?? 0).toFixed(3)} lower than min required coverage ${failUnder}\n`,
      );
      return 1;
    }
    return 0;
  },
});

const FORMATS = ['html', 'json', 'csv'] as const;

export const coverageHistory = defineCommand({
  name: 'coverage history',
  summary: 'documentation and test coverage over every stored run, as a report or a series',
  usage: `--from DIR|gs://BUCKET[/PREFIX] [--since DATE] [--job-id J ...] [--out FILE] [--format html|json|csv]`,
  description: `Reads each stored run's coverage.json (computing it from the stored manifest and catalog for runs
harvested before summaries existed) and writes one self-contained HTML report (charts of coverage over
time per job, the largest drops between consecutive runs and the tables that caused them, the latest
per-table figures), or the series as JSON or CSV (to --out, else to stdout).
Exit status: 0 written; 1 no run found; 2 bad usage.`,
  dbtCloud: false,
  settings: [],
  args: {
    from: arg.text(fromParser(parseDestination), 'a folder or gs://BUCKET[/PREFIX] the harvester stored into', {
      placeholder: 'WHERE',
      required: '--from DIR|gs://BUCKET[/PREFIX] is required: where the harvester stored',
    }),
    since: arg.text(timeText, 'only runs finished on or after this day (2026-10-01)', { placeholder: 'DATE' }),
    'job-id': arg.text(positiveInt(), 'only this job (repeatable)', { placeholder: 'J', multiple: true }),
    out: arg.path('file-to-write', 'where to write (required for html)', { placeholder: 'FILE' }),
    format: arg.text(oneOf(FORMATS), 'html (default), json or csv', { placeholder: 'FORMAT' }),
  },
  async run(ctx) {
    const { io, args, problems } = ctx;
    const format = args.format ?? 'html';
    const out = args.out;
    if (format === 'html' && out === undefined) problems.push('--out FILE is required for the HTML report');
    let from = args.from;
    if (from?.kind === 'local') {
      from = { kind: 'local', path: resolvePath(io, from.path) };
      const problem = await pathProblem(from.path, 'folder-to-read');
      if (problem) problems.push(`--from ${from.path} ${problem}`);
    }
    const config = commandConfig(ctx);
    const { since } = args;
    const jobIds = args['job-id'];
    const reader = await openStore(from!, { storageApiEndpoint: config.storageApiEndpoint });
    const history = await loadHistory(reader, { since, jobIds, logger: cliLogger(io, config) });
    for (const s of history.skipped.slice(0, 20)) io.stderr(`run ${s.run_id} left out: ${s.reason}\n`);
    if (history.points.length === 0) {
      io.stderr(
        `no stored run with a manifest in ${reader.description}${since ? ` since ${since.toISOString().slice(0, 10)}` : ''}${jobIds ? ` for job ${jobIds.join(', ')}` : ''}\n`,
      );
      return 1;
    }
    const text =
      format === 'html'
        ? await renderHistoryHtml(history, { source: reader.description, generatedAt: new Date() })
        : format === 'json'
          ? `${JSON.stringify({ source: reader.description, stats: history.stats, points: history.points, drops: history.drops }, null, 2)}\n`
          : historyCsv(history.points);
    if (out) {
      await writeFile(out, text);
      io.stderr(
        `${history.stats.runs} runs (${history.stats.computed} summaries computed from stored manifests) -> ${out}\n`,
      );
    } else io.stdout(text);
    return 0;
  },
});

export const COVERAGE_COMMANDS: readonly Command[] = [coverageCompute, coverageHistory];
