/**
 * Documentation and test coverage of a dbt project, by dbt-coverage's definitions (version 0.4.2,
 * https://github.com/slidoapp/dbt-coverage), from the facts a streaming read of manifest.json and
 * catalog.json extracts. The figures, the printed tables and the JSON report are dbt-coverage's,
 * so that numbers agree with the tool users trust and `dbt-coverage compare` reads our reports:
 *
 * - Tables are the catalog's sources and nodes, but not `test.` nodes, grouped as dbt-coverage
 *   groups them (sources, models, seeds, snapshots); a table's name is the manifest's
 *   `schema.name`, lower-cased. Two tables of the same name count once (the later one).
 * - A table's columns are the catalog's, lower-cased.
 * - A column is documented when the manifest's column of the same table has a description other
 *   than null or "".
 * - A column is tested when a test node with `test_metadata` attaches to it (dbt-docs' rule: the
 *   table is the last of `depends_on.nodes` for `relationships`, the first otherwise; the column is
 *   `column_name`, else `kwargs.column_name`, else `kwargs.arg`, lower-cased). Its hits are the
 *   number of such tests.
 * - Where dbt-coverage stops (a catalog table the manifest lacks), this computes over the rest and
 *   names the tables it left out.
 * @module
 */
import { z } from 'zod';

export type CoverageType = 'doc' | 'test';
export type TableType = 'source' | 'model' | 'seed' | 'snapshot';
export const TABLE_TYPES: readonly TableType[] = ['source', 'model', 'seed', 'snapshot'];

/** A source, model, seed or snapshot as the manifest describes it. */
export interface ManifestTable {
  uniqueId: string;
  resourceType: TableType;
  /** `schema.name`, lower-cased. */
  name: string;
  /** `original_file_path`, normalised as dbt-coverage does (posix, no `.` segments). */
  path: string;
  /** Lower-cased column name -> documented. */
  columns: Map<string, boolean>;
}

/** What coverage needs of a manifest; `tables` only when a catalog is to be matched against it. */
export interface ManifestFacts {
  dbtVersion: string | null;
  schemaVersion: string | null;
  projectName: string | null;
  generatedAt: string | null;
  tables: Map<string, ManifestTable>;
  /** False when the manifest had more tables than a reader keeps (then `tables` is empty). */
  tablesKept: boolean;
  /** Table id -> lower-cased column name -> tests attached. */
  tests: Map<string, Map<string, number>>;
  /** The model-level facts the manifest alone gives. */
  models: ModelFacts;
}

export interface ModelFacts {
  /** Model nodes. */
  total: number;
  /** Models with a description. */
  documented: number;
  /** Models at least one test attaches to (generic tests by dbt-docs' rule, singular tests to each node they depend on). */
  tested: number;
  /** Test nodes (generic and singular; unit tests are not data tests). */
  tests: number;
}

/** A table as the catalog describes it. */
export interface CatalogTable {
  uniqueId: string;
  /** Lower-cased column names, in the catalog's order, each once. */
  columns: string[];
}

export interface CatalogFacts {
  /** In dbt-coverage's order: the catalog's sources, then its nodes (but `test.` ones), each id once. */
  tables: CatalogTable[];
}

export interface ColumnReport {
  name: string;
  hits: number;
  covered: number;
  total: number;
  coverage: number | null;
}

export interface TableReport extends Omit<ColumnReport, 'name'> {
  name: string;
  uniqueId: string;
  resourceType: TableType;
  columns: ColumnReport[];
}

export interface CoverageReport {
  covType: CoverageType;
  hits: number;
  covered: number;
  total: number;
  coverage: number | null;
  /** In dbt-coverage's order (first appearance of each name). */
  tables: TableReport[];
  /** Catalog tables left out: not in the manifest, or of a type dbt-coverage does not cover. */
  unmatched: string[];
}

/** `original_file_path` as Python's `Path(p).as_posix()` writes it. */
export function normalizePath(path: string): string {
  const absolute = path.startsWith('/');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  const joined = (absolute ? '/' : '') + parts.join('/');
  return joined === '' ? '.' : joined;
}

/** The tables of the catalog that the coverage counts, with their manifest side, in dbt-coverage's order. */
export function matchTables(
  manifest: ManifestFacts,
  catalog: CatalogFacts,
): { tables: { catalog: CatalogTable; manifest: ManifestTable }[]; unmatched: string[] } {
  const buckets = new Map<TableType, Map<string, { catalog: CatalogTable; manifest: ManifestTable }>>(
    TABLE_TYPES.map((t) => [t, new Map()]),
  );
  const unmatched: string[] = [];
  for (const table of catalog.tables) {
    const type = table.uniqueId.split('.', 1)[0] as TableType;
    const bucket = buckets.get(type);
    const manifestTable = manifest.tables.get(table.uniqueId);
    if (!bucket || !manifestTable) {
      unmatched.push(table.uniqueId);
      continue;
    }
    bucket.set(table.uniqueId, { catalog: table, manifest: manifestTable });
  }
  return { tables: TABLE_TYPES.flatMap((t) => [...buckets.get(t)!.values()]), unmatched };
}

/** Coverage of one type over the matched tables, optionally only those under the given paths. */
export function computeCoverage(
  manifest: ManifestFacts,
  catalog: CatalogFacts,
  covType: CoverageType,
  pathFilters?: readonly string[],
): CoverageReport {
  const { tables, unmatched } = matchTables(manifest, catalog);
  const kept =
    pathFilters && pathFilters.length > 0
      ? tables.filter((t) => pathFilters.some((p) => t.manifest.path.startsWith(p)))
      : tables;
  const byName = new Map<string, TableReport>();
  for (const { catalog: c, manifest: m } of kept) {
    const tests = manifest.tests.get(c.uniqueId);
    const columns = c.columns.map((name): ColumnReport => {
      const hits = covType === 'doc' ? (m.columns.get(name) ? 1 : 0) : (tests?.get(name) ?? 0);
      return { name, hits, covered: hits > 0 ? 1 : 0, total: 1, coverage: hits > 0 ? 1 : 0 };
    });
    const covered = columns.reduce((n, col) => n + col.covered, 0);
    byName.set(m.name, {
      name: m.name,
      uniqueId: c.uniqueId,
      resourceType: m.resourceType,
      hits: columns.reduce((n, col) => n + col.hits, 0),
      covered,
      total: columns.length,
      coverage: columns.length > 0 ? covered / columns.length : null,
      columns,
    });
  }
  const reports = [...byName.values()];
  const covered = reports.reduce((n, t) => n + t.covered, 0);
  const total = reports.reduce((n, t) => n + t.total, 0);
  return {
    covType,
    hits: reports.reduce((n, t) => n + t.hits, 0),
    covered,
    total,
    coverage: total > 0 ? covered / total : null,
    tables: reports,
    unmatched,
  };
}

// ---- dbt-coverage's printed tables ----------------------------------------------------------------

/** Python's `format(x, '5.1f')` of a percentage: half-even on exact ties, as Python rounds, unlike toFixed. */
export function percent(coverage: number | null): string {
  if (coverage === null) return '    -';
  const x = coverage * 100;
  let text = x.toFixed(1);
  const twenty = x * 20;
  // An exact tie at the second decimal (x = k/20 exactly): Python keeps the even digit.
  if (Number.isInteger(twenty) && twenty / 20 === x && Math.abs(twenty) % 2 === 1) {
    const tenths = Math.floor(x * 10);
    text = ((tenths % 2 === 0 ? tenths : tenths + 1) / 10).toFixed(1);
  }
  return text.padStart(5);
}

const ratio = (covered: number, total: number): string => `${String(covered).padStart(5)}/${String(total).padEnd(5)}`;

/** dbt-coverage's string table, as `compute` prints it (with print's newline). */
export function formatString(report: CoverageReport): string {
  const tested = report.covType === 'test';
  const hits = (n: number): string => `(${n} tests)`.padStart(12);
  const line = (name: string, r: { hits: number; covered: number; total: number; coverage: number | null }): string =>
    `${name.padEnd(50)} ${tested ? `${hits(r.hits)} ` : ''}${ratio(r.covered, r.total)} ${percent(r.coverage)}%`;
  const rule = '='.repeat(tested ? 82 : 69);
  const rows = [...report.tables]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => line(t.name, t));
  return `Coverage report (${report.covType})\n${rule}\n${rows.map((r) => `${r}\n`).join('')}${rule}\n${line('Total', report)}\n\n`;
}

/** dbt-coverage's markdown table, as `compute --cov-format markdown` prints it. */
export function formatMarkdown(report: CoverageReport): string {
  const tested = report.covType === 'test';
  const line = (name: string, r: { hits: number; covered: number; total: number; coverage: number | null }): string =>
    `| ${name.padEnd(70)} | ${tested ? `(${r.hits} tests) ` : ''}${ratio(r.covered, r.total)} | ${percent(r.coverage)}% |`;
  const rows = [...report.tables]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => line(t.name, t));
  return `# Coverage report (${report.covType})\n| Model | Columns Covered | % |\n|:------|----------------:|:-:|\n${rows.map((r) => `${r}\n`).join('')}${line('Total', report)}\n\n`;
}

// ---- dbt-coverage's JSON report -------------------------------------------------------------------

/** A float as Python's repr writes it (1.0, 0.5, 5e-05). */
export function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : x < 0 ? '-Infinity' : 'NaN';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e >= -4 && e < 16) {
    // Both write the shortest digits that read back; JS writes these magnitudes without an exponent.
    const text = String(x);
    return text.includes('.') ? text : `${text}.0`;
  }
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** A JSON string as Python's json.dumps writes it (ensure_ascii). */
function pythonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The report as dbt-coverage writes it (`json.dumps(report, indent=2)`), byte for byte. */
export function reportJson(report: CoverageReport): string {
  const num = (v: number | null, float: boolean): string => (v === null ? 'null' : float ? pythonFloat(v) : String(v));
  const entry = (fields: [string, string][], indent: string, extra?: string): string =>
    `{\n${fields.map(([k, v]) => `${indent}  ${pythonString(k)}: ${v}`).join(',\n')}${extra ?? ''}\n${indent}}`;
  const column = (c: ColumnReport, indent: string): string =>
    entry(
      [
        ['name', pythonString(c.name)],
        ['hits', num(c.hits, false)],
        ['covered', num(c.covered, false)],
        ['total', num(c.total, false)],
        ['coverage', num(c.coverage, true)],
      ],
      indent,
    );
  const list = (items: string[], indent: string): string =>
    items.length === 0 ? '[]' : `[\n${items.map((i) => `${indent}  ${i}`).join(',\n')}\n${indent}]`;
  const table = (t: TableReport, indent: string): string =>
    entry(
      [
        ['name', pythonString(t.name)],
        ['hits', num(t.hits, false)],
        ['covered', num(t.covered, false)],
        ['total', num(t.total, false)],
        ['coverage', num(t.coverage, true)],
        [
          'columns',
          list(
            t.columns.map((c) => column(c, `${indent}    `)),
            `${indent}  `,
          ),
        ],
      ],
      indent,
    );
  return entry(
    [
      ['cov_type', pythonString(report.covType)],
      ['hits', num(report.hits, false)],
      ['covered', num(report.covered, false)],
      ['total', num(report.total, false)],
      ['coverage', num(report.coverage, true)],
      [
        'tables',
        list(
          report.tables.map((t) => table(t, '    ')),
          '  ',
        ),
      ],
    ],
    '',
  );
}

// ---- the summary stored beside each step's artifacts ----------------------------------------------

const count = z.number().int().nonnegative();
const share = z.number().min(0).max(1);
const notMore = (c: { covered: number; total: number }): boolean => c.covered <= c.total;
const docCoverage = z
  .object({ covered: count, total: count, coverage: share.nullable() })
  .refine(notMore, 'covered is more than total');
const testCoverage = z
  .object({ covered: count, total: count, coverage: share.nullable(), hits: count })
  .refine(notMore, 'covered is more than total');

/**
 * coverage.json: one JSON line per dbt step with a manifest, fixed schema (BigQuery reads it). The
 * one declaration of it: the harvester writes what it infers, and the history reads stored ones
 * through it, so a summary whose figures are out of range (a coverage of 7.5) is refused, not drawn.
 */
export const CoverageSummarySchema = z.looseObject({
  schema_version: z.literal(1),
  /** The run's finished_at, and its job's name, for series over time. */
  finished_at: z.string().nullable(),
  job_name: z.string().nullable(),
  dbt_version: z.string().nullable(),
  manifest_schema_version: z.string().nullable(),
  project_name: z.string().nullable(),
  generated_at: z.string().nullable(),
  models: z.object({ total: count, documented: count, tested: count, tests: count }),
  /** Null when the step has no catalog. */
  doc: docCoverage.nullable(),
  test: testCoverage.nullable(),
  /** Per table, both coverages; empty without a catalog. */
  tables: z.array(
    z.object({
      name: z.string(),
      unique_id: z.string(),
      resource_type: z.enum(['source', 'model', 'seed', 'snapshot']),
      columns: count,
      documented: count,
      tested: count,
      tests: count,
    }),
  ),
  unmatched_tables: z.array(z.string()),
});
export type CoverageSummary = z.infer<typeof CoverageSummarySchema>;

export const COVERAGE_FILE = 'coverage.json';

export function summarize(
  manifest: ManifestFacts,
  catalog: CatalogFacts | null,
  run: { finishedAt: string | null; jobName: string | null },
): CoverageSummary {
  const base = {
    schema_version: 1 as const,
    finished_at: run.finishedAt,
    job_name: run.jobName,
    dbt_version: manifest.dbtVersion,
    manifest_schema_version: manifest.schemaVersion,
    project_name: manifest.projectName,
    generated_at: manifest.generatedAt,
    models: manifest.models,
  };
  if (!catalog || !manifest.tablesKept) return { ...base, doc: null, test: null, tables: [], unmatched_tables: [] };
  const doc = computeCoverage(manifest, catalog, 'doc');
  const test = computeCoverage(manifest, catalog, 'test');
  const tested = new Map(test.tables.map((t) => [t.name, t]));
  return {
    ...base,
    doc: { covered: doc.covered, total: doc.total, coverage: doc.coverage },
    test: { covered: test.covered, total: test.total, coverage: test.coverage, hits: test.hits },
    tables: doc.tables.map((t) => ({
      name: t.name,
      unique_id: t.uniqueId,
      resource_type: t.resourceType,
      columns: t.total,
      documented: t.covered,
      tested: tested.get(t.name)?.covered ?? 0,
      tests: tested.get(t.name)?.hits ?? 0,
    })),
    unmatched_tables: doc.unmatched,
  };
}
