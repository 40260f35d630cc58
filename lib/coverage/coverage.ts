/**
 * Documentation, test and unit-test coverage of a dbt project, by dbt-coverage's definitions
 * (version 0.4.2, https://github.com/slidoapp/dbt-coverage), from the compact facts a streaming
 * read of manifest.json and catalog.json keeps. The figures are dbt-coverage's, so that numbers
 * agree with the tool users trust and `dbt-coverage compare` reads our reports:
 *
 * - Tables are the catalog's sources and nodes, but not `test.` nodes, grouped as dbt-coverage
 *   groups them (sources, models, seeds, snapshots); a table's name is the manifest's
 *   `schema.name`, lower-cased. Two tables of the same name count once (the later one).
 * - A table's columns are the catalog's, lower-cased.
 * - doc: a column is covered when the manifest's column of the same table has a description other
 *   than null or "".
 * - test: a column is covered when a test node with `test_metadata` attaches to it (dbt-docs' rule:
 *   the table is the last of `depends_on.nodes` for `relationships`, the first otherwise; the column
 *   is `column_name`, else `kwargs.column_name`, else `kwargs.arg`, lower-cased). Its hits are the
 *   number of such tests.
 * - unit-test: the catalog's models only, each covered when a dbt unit test (dbt 1.8 and later)
 *   tests it; its hits are the number of unit tests.
 * - Where dbt-coverage stops (a catalog table the manifest lacks), this computes over the rest and
 *   names the tables it left out.
 * @module
 */
import type { CoverageSummary } from '../core/coverage-summary.ts';

export const COVERAGE_TYPES = ['doc', 'test', 'unit-test'] as const;
export type CoverageType = (typeof COVERAGE_TYPES)[number];
export type TableType = 'source' | 'model' | 'seed' | 'snapshot';
export const TABLE_TYPES: readonly TableType[] = ['source', 'model', 'seed', 'snapshot'];

/** A source, model, seed or snapshot as the manifest describes it: only what coverage reads. */
export interface ManifestTable {
  uniqueId: string;
  resourceType: TableType;
  /** `schema.name`, lower-cased. */
  name: string;
  /** `original_file_path`, normalised as dbt-coverage does (posix, no `.` segments). */
  path: string;
  /** The lower-cased names of its documented columns (the others need not be kept). */
  documented: ReadonlySet<string>;
}

/** What coverage needs of a manifest. */
export interface ManifestFacts {
  dbtVersion: string | null;
  schemaVersion: string | null;
  projectName: string | null;
  generatedAt: string | null;
  tables: ReadonlyMap<string, ManifestTable>;
  /** Table id -> lower-cased column name -> tests attached. */
  tests: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Model id -> unit tests of it. */
  unitTests: ReadonlyMap<string, number>;
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
  /** Unit tests (dbt 1.8 and later), and the models they test. */
  unitTests: number;
  unitTested: number;
}

/** A table as the catalog describes it. */
export interface CatalogTable {
  uniqueId: string;
  /** Lower-cased column names, in the catalog's order, each once. */
  columns: readonly string[];
}

export interface CatalogFacts {
  /** In dbt-coverage's order: the catalog's sources, then its nodes (but `test.` ones), each id once. */
  tables: readonly CatalogTable[];
}

/** A column's figures. */
export interface ColumnReport {
  name: string;
  hits: number;
  covered: number;
  total: number;
  coverage: number | null;
}

export interface TableReport {
  name: string;
  uniqueId: string;
  resourceType: TableType;
  hits: number;
  covered: number;
  total: number;
  coverage: number | null;
  /**
   * Its columns' figures, made when asked for, one table's at a time (none for unit-test coverage,
   * which is per table): a report of a million columns never holds them all. An array, not a
   * generator: writing a 216,000-column report took 125 ms through a generator, 85 ms this way.
   */
  columns(): readonly ColumnReport[];
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

export interface PathFilters {
  /** Keep tables whose path starts with one of these. */
  keep?: readonly string[];
  /** Then drop tables whose path starts with one of these. */
  drop?: readonly string[];
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

const share = (covered: number, total: number): number | null => (total > 0 ? covered / total : null);

/** A table's line of a coverage report: its figures, and its columns' made when asked for. */
function tableReport(
  m: ManifestTable,
  c: CatalogTable,
  figures: { hits: number; covered: number; total: number },
  columns: () => ColumnReport[],
): TableReport {
  return {
    name: m.name,
    uniqueId: c.uniqueId,
    resourceType: m.resourceType,
    ...figures,
    coverage: share(figures.covered, figures.total),
    columns,
  };
}

/** Coverage of one type over the matched tables, optionally narrowed by their paths. */
export function computeCoverage(
  manifest: ManifestFacts,
  catalog: CatalogFacts,
  covType: CoverageType,
  filters: PathFilters = {},
  matched: ReturnType<typeof matchTables> = matchTables(manifest, catalog),
): CoverageReport {
  const { tables, unmatched } = matched;
  const keep = filters.keep && filters.keep.length > 0 ? filters.keep : undefined;
  const drop = filters.drop && filters.drop.length > 0 ? filters.drop : undefined;
  const kept = tables.filter(
    (t) =>
      (!keep || keep.some((p) => t.manifest.path.startsWith(p))) && !drop?.some((p) => t.manifest.path.startsWith(p)),
  );
  const byName = new Map<string, TableReport>();
  for (const { catalog: c, manifest: m } of kept) {
    if (covType === 'unit-test') {
      if (m.resourceType !== 'model') continue;
      const hits = manifest.unitTests.get(c.uniqueId) ?? 0;
      const covered = hits > 0 ? 1 : 0;
      byName.set(
        m.name,
        tableReport(m, c, { hits, covered, total: 1 }, () => []),
      );
      continue;
    }
    const tests = manifest.tests.get(c.uniqueId);
    const hitsOf = (column: string): number =>
      covType === 'doc' ? (m.documented.has(column) ? 1 : 0) : (tests?.get(column) ?? 0);
    let hits = 0;
    let covered = 0;
    for (const column of c.columns) {
      const h = hitsOf(column);
      hits += h;
      if (h > 0) covered++;
    }
    const total = c.columns.length;
    byName.set(
      m.name,
      tableReport(m, c, { hits, covered, total }, () =>
        c.columns.map((name) => {
          const h = hitsOf(name);
          return { name, hits: h, covered: h > 0 ? 1 : 0, total: 1, coverage: h > 0 ? 1 : 0 };
        }),
      ),
    );
  }
  const reports = [...byName.values()];
  const covered = reports.reduce((n, t) => n + t.covered, 0);
  const total = reports.reduce((n, t) => n + t.total, 0);
  const hits = reports.reduce((n, t) => n + t.hits, 0);
  return { covType, hits, covered, total, coverage: share(covered, total), tables: reports, unmatched };
}

export function summarize(
  manifest: ManifestFacts,
  catalog: CatalogFacts | null,
  run: { finishedAt: string | null; jobName: string | null },
): CoverageSummary {
  const models = manifest.models;
  const base = {
    schema_version: 2 as const,
    finished_at: run.finishedAt,
    job_name: run.jobName,
    dbt_version: manifest.dbtVersion,
    manifest_schema_version: manifest.schemaVersion,
    project_name: manifest.projectName,
    generated_at: manifest.generatedAt,
    models: {
      total: models.total,
      documented: models.documented,
      tested: models.tested,
      tests: models.tests,
      unit_tests: models.unitTests,
      unit_tested: models.unitTested,
    },
  };
  if (!catalog) return { ...base, doc: null, test: null, unit_test: null, tables: [], unmatched_tables: [] };
  // The catalog matched to the manifest once, for the three coverages.
  const matched = matchTables(manifest, catalog);
  const doc = computeCoverage(manifest, catalog, 'doc', {}, matched);
  const test = computeCoverage(manifest, catalog, 'test', {}, matched);
  const unit = computeCoverage(manifest, catalog, 'unit-test', {}, matched);
  const tested = new Map(test.tables.map((t) => [t.name, t]));
  const unitTested = new Map(unit.tables.map((t) => [t.name, t]));
  return {
    ...base,
    doc: { covered: doc.covered, total: doc.total, coverage: doc.coverage },
    test: { covered: test.covered, total: test.total, coverage: test.coverage, hits: test.hits },
    unit_test: { covered: unit.covered, total: unit.total, coverage: unit.coverage, hits: unit.hits },
    tables: doc.tables.map((t) => ({
      name: t.name,
      unique_id: t.uniqueId,
      resource_type: t.resourceType,
      columns: t.total,
      documented: t.covered,
      tested: tested.get(t.name)?.covered ?? 0,
      tests: tested.get(t.name)?.hits ?? 0,
      ...(t.resourceType === 'model' ? { unit_tests: unitTested.get(t.name)?.hits ?? 0 } : {}),
    })),
    unmatched_tables: doc.unmatched,
  };
}
