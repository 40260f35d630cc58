/**
 * coverage compute: dbt-coverage's `compute`, from a folder of artifacts (the same figures, tables
 * and report). coverage history: the coverage of every stored run, as a report or a series.
 * @module
 */
import { createReadStream } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.ts';
import { computeCoverage, formatMarkdown, formatString, reportJson, type CoverageType } from '../../core/coverage.ts';
import { parseDestination } from '../../core/destination.ts';
import { InputError } from '../../core/errors.ts';
import { catalogCollector, collect, manifestCollector } from '../../coverage/extract.ts';
import { historyCsv, loadHistory } from '../../history/history.ts';
import { renderHistoryHtml } from '../../history/report-html.ts';
import { openReader } from '../../stored/index.ts';
import { Usage, cliLogger, type Command } from '../command.ts';

const COV_TYPES = ['doc', 'test'] as const;

export const coverageCompute: Command = {
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
    'run-artifacts-dir': {
      type: 'string',
      placeholder: 'DIR',
      describe: 'the folder with manifest.json and catalog.json',
    },
    'cov-report': {
      type: 'string',
      placeholder: 'FILE',
      describe: 'where to write the JSON report (default coverage.json)',
    },
    'cov-format': { type: 'string', placeholder: 'FORMAT', describe: 'string (default) or markdown' },
    'cov-fail-under': { type: 'string', placeholder: 'RATIO', describe: 'exit 1 when the coverage is lower (0 to 1)' },
    'model-path-filter': {
      type: 'string',
      multiple: true,
      placeholder: 'PATH',
      describe: 'count only tables whose original_file_path starts with PATH (repeatable)',
    },
  },
  positionals: true,
  async run({ io, flags, positionals }) {
    const usage = new Usage();
    const covType = positionals[0];
    usage.check(
      positionals.length === 1 && (COV_TYPES as readonly string[]).includes(covType ?? ''),
      `name the coverage type: doc or test${positionals.length > 0 ? `, not "${positionals.join(' ')}"` : ''}`,
    );
    const dir = typeof flags['run-artifacts-dir'] === 'string' ? flags['run-artifacts-dir'] : undefined;
    usage.check(
      dir !== undefined,
      '--run-artifacts-dir DIR is required (the folder with manifest.json and catalog.json)',
    );
    const format = flags['cov-format'] ?? 'string';
    usage.check(
      format === 'string' || format === 'markdown',
      `--cov-format must be string or markdown, not "${String(format)}"`,
    );
    let failUnder: number | undefined;
    if (typeof flags['cov-fail-under'] === 'string') {
      failUnder = Number(flags['cov-fail-under']);
      usage.check(
        flags['cov-fail-under'].trim() !== '' && Number.isFinite(failUnder) && failUnder >= 0 && failUnder <= 1,
        `--cov-fail-under must be a ratio from 0 to 1 (0.8 for 80 %), not "${flags['cov-fail-under']}"`,
      );
    }
    const filters = Array.isArray(flags['model-path-filter']) ? flags['model-path-filter'] : undefined;
    if (usage.problems.length > 0) throw new InputError('Bad usage', usage.problems);
    const files = { manifest: join(dir!, 'manifest.json'), catalog: join(dir!, 'catalog.json') };
    for (const [name, path] of Object.entries(files)) {
      await access(path).catch(() => {
        throw new InputError(`${path} not found`, [
          name === 'catalog'
            ? 'dbt writes catalog.json with dbt docs generate'
            : 'a dbt command writes manifest.json in target/',
        ]);
      });
    }
    const manifest = await collect(createReadStream(files.manifest), manifestCollector({ tables: true })).catch(
      (err: unknown) => {
        throw new InputError(err instanceof Error ? err.message : String(err));
      },
    );
    const catalog = await collect(createReadStream(files.catalog), catalogCollector()).catch((err: unknown) => {
      throw new InputError(err instanceof Error ? err.message : String(err));
    });
    if (!manifest.tablesKept)
      throw new InputError(`${files.manifest} has more tables than coverage reads`, [
        'more than 100,000 sources, models, seeds and snapshots',
      ]);
    const report = computeCoverage(manifest, catalog, covType as CoverageType, filters);
    for (const id of report.unmatched)
      io.stderr(
        `${id} is in the catalog but not in the manifest (or is not a source, model, seed or snapshot); left out\n`,
      );
    if (filters && report.tables.length === 0) {
      io.stderr('After filtering, the catalog contains no tables. Ensure your --model-path-filter is correct.\n');
      return 1;
    }
    io.stdout(format === 'markdown' ? formatMarkdown(report) : formatString(report));
    await writeFile(
      typeof flags['cov-report'] === 'string' ? flags['cov-report'] : 'coverage.json',
      reportJson(report),
    );
    if (failUnder !== undefined && (report.coverage ?? 0) < failUnder) {
      io.stderr(
        `Measured coverage ${(report.coverage ?? 0).toFixed(3)} lower than min required coverage ${failUnder}\n`,
      );
      return 1;
    }
    return 0;
  },
};

const FORMATS = ['html', 'json', 'csv'] as const;

export const coverageHistory: Command = {
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
    from: {
      type: 'string',
      placeholder: 'WHERE',
      describe: 'a folder or gs://BUCKET[/PREFIX] the harvester stored into',
    },
    since: { type: 'string', placeholder: 'DATE', describe: 'only runs finished on or after this day (2026-10-01)' },
    'job-id': { type: 'string', multiple: true, placeholder: 'J', describe: 'only this job (repeatable)' },
    out: { type: 'string', placeholder: 'FILE', describe: 'where to write (required for html)' },
    format: { type: 'string', placeholder: 'FORMAT', describe: 'html (default), json or csv' },
  },
  positionals: false,
  async run({ io, flags }) {
    const usage = new Usage();
    const format = (flags['format'] ?? 'html') as string;
    usage.check((FORMATS as readonly string[]).includes(format), `--format must be html, json or csv, not "${format}"`);
    const out = typeof flags['out'] === 'string' ? flags['out'] : undefined;
    usage.check(format !== 'html' || out !== undefined, '--out FILE is required for the HTML report');
    let since: Date | undefined;
    if (typeof flags['since'] === 'string') since = usage.time('since', flags['since']);
    const jobIds = Array.isArray(flags['job-id'])
      ? flags['job-id'].map((j) => usage.positive('job-id', j)).filter((n): n is number => n !== undefined)
      : undefined;
    const from = typeof flags['from'] === 'string' ? parseDestination(flags['from']) : undefined;
    if (!from) usage.problems.push('--from DIR|gs://BUCKET[/PREFIX] is required: where the harvester stored');
    else if ('problem' in from) usage.problems.push(`--from ${from.problem}`);
    const config = loadConfig({ env: io.env, problems: usage.problems });
    const destination = from as Exclude<typeof from, { problem: string } | undefined>;
    const reader = await openReader(destination, { storageApiEndpoint: config.storageApiEndpoint });
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
          ? `${JSON.stringify(
              { source: reader.description, stats: history.stats, points: history.points, drops: history.drops },
              null,
              2,
            )}\n`
          : historyCsv(history.points);
    if (out) {
      await writeFile(out, text);
      io.stderr(
        `${history.stats.runs} runs (${history.stats.computed} summaries computed from stored manifests) -> ${out}\n`,
      );
    } else io.stdout(text);
    return 0;
  },
};

export const COVERAGE_COMMANDS: readonly Command[] = [coverageCompute, coverageHistory];
