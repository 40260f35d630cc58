/**
 * coverage compute and coverage compare: dbt-coverage's two commands (0.4.2), from a folder of
 * artifacts and from reports (the same figures, tables and reports, so that either tool reads the
 * other's).
 * @module
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tuneForSmallInstances } from '../../config/runtime.ts';
import { anyText, oneOf, ratioText } from '../../config/text-values.ts';
import {
  compareReports,
  decreaseMessage,
  formatCompare,
  type OutputFormat,
  type StoredReport,
  type StoredTable,
} from '../../coverage/coverage-compare.ts';
import { formatMarkdown, formatString, writeReportJson } from '../../coverage/coverage-report.ts';
import { COVERAGE_TYPES, computeCoverage, type CoverageReport } from '../../coverage/coverage.ts';
import { pythonFixed } from '../../coverage/python-format.ts';
import { CatalogReader } from '../../facts/catalog.ts';
import { ReportReader } from '../../facts/coverage-report-reader.ts';
import { ManifestReader } from '../../facts/manifest.ts';
import { readFacts } from '../../facts/reader.ts';
import { fileChunks } from '../../storage/local.ts';
import { arg, commandConfig, defineCommand, pathProblem, resolvePath, type CliIO, type Command } from '../command.ts';

const OUTPUT_FORMATS = ['string', 'markdown'] as const;
const formatArgs = {
  'output-format': arg.text(oneOf(OUTPUT_FORMATS), 'string (default) or markdown', { placeholder: 'FORMAT' }),
  'cov-format': arg.text(oneOf(OUTPUT_FORMATS), 'the same as --output-format', { placeholder: 'FORMAT' }),
};

/** The output format from either of its flags (dbt-coverage's --output-format, or --cov-format). */
function outputFormat(
  args: { 'output-format'?: OutputFormat; 'cov-format'?: OutputFormat },
  problems: string[],
): OutputFormat {
  const a = args['output-format'];
  const b = args['cov-format'];
  if (a !== undefined && b !== undefined && a !== b)
    problems.push(`--output-format ${a} and --cov-format ${b} disagree: give one of them`);
  return a ?? b ?? 'string';
}

/** At most this many catalog tables left out are named, then how many more. */
const UNMATCHED_SHOWN = 20;

function reportUnmatched(io: CliIO, unmatched: readonly string[]): void {
  for (const id of unmatched.slice(0, UNMATCHED_SHOWN))
    io.stderr(
      `${id} is in the catalog but not in the manifest (or is not a source, model, seed or snapshot); left out\n`,
    );
  if (unmatched.length > UNMATCHED_SHOWN)
    io.stderr(`... and ${unmatched.length - UNMATCHED_SHOWN} more catalog tables left out\n`);
}

/** A computed report as compare reads a stored one. */
function asStored(report: CoverageReport): StoredReport {
  const tables = new Map<string, StoredTable>();
  for (const t of report.tables) {
    const columns = new Map<string, { hits: number; covered: boolean }>();
    for (const c of t.columns()) columns.set(c.name, { hits: c.hits, covered: c.covered > 0 });
    tables.set(t.name, { hits: t.hits, covered: t.covered > 0, columns });
  }
  return { covType: report.covType, tables };
}

/**
 * The report file, written a piece at a time through one buffer (a report of a million columns is
 * never one string, nor a million writes).
 */
function writeReport(path: string, report: CoverageReport): void {
  const fd = openSync(path, 'w');
  const buffer = Buffer.allocUnsafe(1 << 20);
  let used = 0;
  const flush = () => {
    for (let done = 0; done < used; ) done += writeSync(fd, buffer, done, used - done);
    used = 0;
  };
  try {
    writeReportJson(report, (text) => {
      // At most three bytes a UTF-16 unit (Python's ensure_ascii makes the report ASCII anyway).
      if (used + text.length * 3 > buffer.length) {
        flush();
        if (text.length * 3 > buffer.length) {
          writeSync(fd, text);
          return;
        }
      }
      used += buffer.write(text, used);
    });
    flush();
  } finally {
    closeSync(fd);
  }
}

const readReport = (path: string): Promise<StoredReport> => readFacts(fileChunks(path), new ReportReader(path));

export const coverageCompute = defineCommand({
  name: 'coverage compute',
  summary: "a run's documentation, test or unit-test coverage, as dbt-coverage computes it",
  usage: `doc|test|unit-test [--run-artifacts-dir DIR | --project-dir DIR] [--cov-report FILE]
         [--output-format string|markdown] [--cov-fail-under RATIO] [--cov-fail-compare REPORT]
         [--model-path-filter PATH ...] [--model-path-exclusion-filter PATH ...]`,
  description: `Reads manifest.json and catalog.json from DIR (a step folder the harvester stored), or from
the dbt project's target/ folder (--project-dir, default the current folder), prints the coverage table
and writes the report (default ./coverage.json) as dbt-coverage 0.4 does, with the same figures, so that
either tool compares the other's reports. doc: documented columns; test: columns with a test (hits: the
tests); unit-test: models with a dbt unit test (hits: the unit tests). A catalog table the manifest lacks
is left out and named on stderr (dbt-coverage stops there). --cov-fail-compare prints the comparison
with an earlier report, as coverage compare does.
Exit status: 0 computed; 1 under --cov-fail-under, lower than the --cov-fail-compare report, or no table
left after the path filters; 2 bad usage or unreadable artifacts.`,
  dbtCloud: false,
  settings: [],
  args: {
    type: arg.text(oneOf(COVERAGE_TYPES), 'the coverage type', {
      position: 0,
      placeholder: 'TYPE',
      required: `name the coverage type: ${COVERAGE_TYPES.join(', ')}`,
    }),
    'run-artifacts-dir': arg.path('folder-to-read', 'the folder with manifest.json and catalog.json', {
      placeholder: 'DIR',
    }),
    'project-dir': arg.path('folder-to-read', 'the dbt project, whose target/ is read (default: here)', {
      placeholder: 'DIR',
    }),
    'cov-report': arg.path('file-to-write', 'where to write the JSON report (default coverage.json)', {
      placeholder: 'FILE',
    }),
    ...formatArgs,
    'cov-fail-under': arg.text(ratioText, 'exit 1 when the coverage is lower (0 to 1)', { placeholder: 'RATIO' }),
    'cov-fail-compare': arg.path('file-to-read', 'exit 1 when the coverage is lower than this report', {
      placeholder: 'REPORT',
    }),
    'model-path-filter': arg.text(anyText, 'count only tables whose original_file_path starts with PATH (repeatable)', {
      placeholder: 'PATH',
      multiple: true,
    }),
    'model-path-exclusion-filter': arg.text(anyText, 'leave out tables whose original_file_path starts with PATH', {
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
    const format = outputFormat(args, problems);
    if (args['run-artifacts-dir'] !== undefined && args['project-dir'] !== undefined)
      problems.push('--run-artifacts-dir and --project-dir both name where to read: give one of them');
    const dir = args['run-artifacts-dir'] ?? join(args['project-dir'] ?? io.cwd, 'target');
    const files = { manifest: join(dir, 'manifest.json'), catalog: join(dir, 'catalog.json') };
    if (await pathProblem(files.manifest, 'file-to-read'))
      problems.push(`${files.manifest} not found: a dbt command writes manifest.json in target/`);
    if (await pathProblem(files.catalog, 'file-to-read'))
      problems.push(`${files.catalog} not found: dbt writes catalog.json with dbt docs generate`);
    commandConfig(ctx);
    // Reading hundreds of MB byte by byte: V8's young generation kept small (config/runtime.ts).
    tuneForSmallInstances('reading');
    // Large reads: a manifest of hundreds of MB in 1 MiB chunks into the same two buffers, and of it
    // only what this measure needs (`doc` reads no test node past its type).
    const manifest = await readFacts(
      fileChunks(files.manifest),
      new ManifestReader(files.manifest, {}, { measure: args.type }),
    );
    const catalog = await readFacts(fileChunks(files.catalog), new CatalogReader(files.catalog));
    const keep = args['model-path-filter'];
    const drop = args['model-path-exclusion-filter'];
    const report = computeCoverage(manifest, catalog, args.type, { keep, drop });
    reportUnmatched(io, report.unmatched);
    if ((keep || drop) && report.tables.length === 0) {
      io.stderr('After filtering, the catalog contains no tables. Ensure your --model-path-filter is correct.\n');
      return 1;
    }
    io.stdout(format === 'markdown' ? formatMarkdown(report) : formatString(report));
    writeReport(reportFile, report);
    const failUnder = args['cov-fail-under'];
    if (failUnder !== undefined && (report.coverage ?? 0) < failUnder) {
      io.stderr(
        `Measured coverage ${pythonFixed(report.coverage ?? 0, 3)} lower than min required coverage ${failUnder}\n`,
      );
      return 1;
    }
    const baseline = args['cov-fail-compare'];
    if (baseline !== undefined) {
      const diff = compareReports(asStored(report), await readReport(baseline));
      io.stdout(formatCompare(diff, format));
      if (diff.decreased) {
        io.stderr(`${decreaseMessage(diff)}\n`);
        return 1;
      }
    }
    return 0;
  },
});

export const coverageCompare = defineCommand({
  name: 'coverage compare',
  summary: 'the difference between two coverage reports, as dbt-coverage compares them',
  usage: `REPORT BASELINE [--output-format string|markdown] [--cov-fail-compare]`,
  description: `Reads two reports written by coverage compute (or by dbt-coverage): REPORT, the state after a change,
and BASELINE, the state before it, and prints what dbt-coverage compare prints: coverage, tables,
columns, hits and misses before and after, then each table with new misses and its newly missed
columns (listed by name; dbt-coverage's order changes from run to run).
Exit status: 0 compared (with --cov-fail-compare: and the coverage did not decrease); 1 the coverage
decreased, with --cov-fail-compare; 2 bad usage, unreadable reports, or reports of different types.`,
  dbtCloud: false,
  settings: [],
  args: {
    report: arg.path('file-to-read', 'the report after the change', {
      position: 0,
      placeholder: 'REPORT',
      required: 'name the report to compare: coverage compare REPORT BASELINE',
    }),
    baseline: arg.path('file-to-read', 'the report before it', {
      position: 1,
      placeholder: 'BASELINE',
      required: 'name the baseline report to compare with: coverage compare REPORT BASELINE',
    }),
    ...formatArgs,
    'cov-fail-compare': arg.switch('exit 1 when the coverage decreased'),
  },
  async run(ctx) {
    const { io, args, problems } = ctx;
    const format = outputFormat(args, problems);
    commandConfig(ctx);
    const diff = compareReports(await readReport(args.report), await readReport(args.baseline));
    io.stdout(formatCompare(diff, format));
    if (args['cov-fail-compare'] && diff.decreased) {
      io.stderr(`${decreaseMessage(diff)}\n`);
      return 1;
    }
    return 0;
  },
});

export const COVERAGE_COMMANDS: readonly Command[] = [coverageCompute, coverageCompare];
