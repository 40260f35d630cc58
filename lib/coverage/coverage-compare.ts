/**
 * dbt-coverage's `compare` (0.4.2): the difference between two coverage reports (the "after"
 * report and the "before" baseline), printed as it prints it, string or markdown, byte for byte.
 *
 * A report's entries are its columns (`table.column`; for unit-test coverage, its tables), each
 * covered or missed; the figures are set differences of those entries, and the new misses are the
 * entries missed after that were not missed before, by table. dbt-coverage lists the new misses in
 * the order of a Python set (which changes from run to run); they are listed here by table, then
 * column, in code point order.
 * @module
 */
import type { CoverageType } from './coverage.ts';
import { HarvesterError } from '../core/errors.ts';
import { byCodePoint, centre, left, pythonPercent, right, signed } from './python-format.ts';

export interface StoredColumn {
  hits: number;
  covered: boolean;
}

export interface StoredTable {
  /** The table's hits: its own for unit-test coverage, else the sum of its columns'. */
  hits: number;
  /** Unit-test coverage: the table is covered (has a unit test). */
  covered: boolean;
  /** Columns by name (none for unit-test coverage, which is per table). */
  columns: ReadonlyMap<string, StoredColumn>;
}

/** A coverage report as `compare` reads it (dbt-coverage's `CoverageReport.from_dict`). */
export interface StoredReport {
  covType: CoverageType;
  /** By name, in the report's order (a later table of the same name replacing the earlier). */
  tables: ReadonlyMap<string, StoredTable>;
}

export type OutputFormat = 'string' | 'markdown';

/** Covered and total entries of a report or a table, and its coverage (null without entries). */
interface Figures {
  covered: number;
  total: number;
  coverage: number | null;
}

const unitTest = (r: StoredReport): boolean => r.covType === 'unit-test';

function tableFigures(report: StoredReport, t: StoredTable): Figures {
  if (unitTest(report)) return { covered: t.covered ? 1 : 0, total: 1, coverage: t.covered ? 1 : 0 };
  let covered = 0;
  for (const c of t.columns.values()) if (c.covered) covered++;
  const total = t.columns.size;
  return { covered, total, coverage: total > 0 ? covered / total : null };
}

function reportFigures(report: StoredReport): Figures {
  let covered = 0;
  let total = 0;
  for (const t of report.tables.values()) {
    const f = tableFigures(report, t);
    covered += f.covered;
    total += f.total;
  }
  return { covered, total, coverage: total > 0 ? covered / total : null };
}

/** Each entry of a report: its table, its column (null for a unit-test table), and whether it is covered. */
function* entries(report: StoredReport): Generator<[string, string | null, boolean]> {
  for (const [name, t] of report.tables) {
    if (unitTest(report)) yield [name, null, t.covered];
    else for (const [column, c] of t.columns) yield [name, column, c.covered];
  }
}

/** The entry of `report` for (table, column), if it has it. */
function entry(report: StoredReport, table: string, column: string | null): boolean | undefined {
  const t = report.tables.get(table);
  if (t === undefined) return undefined;
  if (column === null) return unitTest(report) ? t.covered : undefined;
  return unitTest(report) ? undefined : t.columns.get(column)?.covered;
}

/** Counts of the set differences between two reports, as `summary` prints them. */
export interface DiffCounts {
  before: Figures & { tables: number; misses: number };
  after: Figures & { tables: number; misses: number };
  tables: [added: number, removed: number];
  columns: [added: number, removed: number];
  hits: [added: number, removed: number];
  misses: [added: number, removed: number];
}

/** A table with new misses: its figures before (null when new) and after, and its newly missed columns. */
export interface TableMisses {
  name: string;
  before: Figures | null;
  after: Figures;
  /** Unit-test coverage lists no columns. */
  columns: { name: string; before: Figures | null; after: Figures }[];
}

export interface CoverageDiff {
  covType: CoverageType;
  counts: DiffCounts;
  newMisses: TableMisses[];
  /** The "after" coverage is lower than the baseline's (absent coverage counting as 0). */
  decreased: boolean;
}

/** Two reports of different coverage types: dbt-coverage refuses to compare them too. */
export class ReportsDifferError extends HarvesterError {
  constructor(message: string) {
    super('REPORTS_DIFFER', message, { exitCode: 2 });
  }
}

/** The difference of `after` against the baseline `before`. */
export function compareReports(after: StoredReport, before: StoredReport): CoverageDiff {
  if (after.covType !== before.covType)
    throw new ReportsDifferError(
      `cannot compare a ${after.covType} coverage report with a ${before.covType} one: compute both with the same type`,
    );
  const diff = (a: StoredReport, b: StoredReport) => {
    let total = 0;
    let covered = 0;
    let misses = 0;
    for (const [table, column, isCovered] of entries(a)) {
      const other = entry(b, table, column);
      if (other === undefined) total++;
      if (isCovered && other !== true) covered++;
      if (!isCovered && other !== false) misses++;
    }
    let tables = 0;
    for (const name of a.tables.keys()) if (!b.tables.has(name)) tables++;
    return { total, covered, misses, tables };
  };
  const added = diff(after, before);
  const removed = diff(before, after);
  const figures = (r: StoredReport) => {
    const f = reportFigures(r);
    return { ...f, tables: r.tables.size, misses: f.total - f.covered };
  };
  const beforeFigures = figures(before);
  const afterFigures = figures(after);

  // New misses: entries missed after that were not missed before, by table.
  const byTable = new Map<string, string[]>();
  for (const [table, column, isCovered] of entries(after)) {
    if (isCovered || entry(before, table, column) === false) continue;
    const columns = byTable.get(table) ?? [];
    if (column !== null) columns.push(column);
    byTable.set(table, columns);
  }
  const newMisses: TableMisses[] = [...byTable.keys()].sort(byCodePoint).map((name) => {
    const a = after.tables.get(name)!;
    const b = before.tables.get(name);
    const columnFigures = (c: StoredColumn | undefined): Figures | null =>
      c === undefined ? null : { covered: c.covered ? 1 : 0, total: 1, coverage: c.covered ? 1 : 0 };
    return {
      name,
      before: b === undefined ? null : tableFigures(before, b),
      after: tableFigures(after, a),
      columns: byTable
        .get(name)!
        .sort(byCodePoint)
        .map((column) => ({
          name: column,
          before: columnFigures(b?.columns.get(column)),
          after: columnFigures(a.columns.get(column))!,
        })),
    };
  });
  return {
    covType: after.covType,
    counts: {
      before: beforeFigures,
      after: afterFigures,
      tables: [added.tables, removed.tables],
      columns: [added.total, removed.total],
      hits: [added.covered, removed.covered],
      misses: [added.misses, removed.misses],
    },
    newMisses,
    decreased: (afterFigures.coverage ?? 0) < (beforeFigures.coverage ?? 0),
  };
}

const addDel = ([added, removed]: [number, number]): string => `${signed(added)}/${signed(-removed)}`;

/** `CoverageDiff.summary`: the table of figures before and after. */
export function formatSummary(diff: CoverageDiff, format: OutputFormat): string {
  const { before, after } = diff.counts;
  const beforeCov = before.coverage ?? 0;
  const afterCov = after.coverage ?? 0;
  const total = afterCov - beforeCov;
  if (format === 'markdown') {
    return [
      '|           |       before      |       after      |         +/-       |',
      '|:----------|:-----------------:|:----------------:|:-----------------:|',
      `| Coverage  | ${pythonPercent(beforeCov, 2)} | ${pythonPercent(afterCov, 2)} | ${pythonPercent(total, 2)}      |`,
      `| Tables    | ${before.tables}   | ${after.tables}   | ${addDel(diff.counts.tables)}  |`,
      `| Columns   | ${before.total}  | ${after.total}  | ${addDel(diff.counts.columns)} |`,
      `| Hits      | ${before.covered}     | ${after.covered}     | ${addDel(diff.counts.hits)}    |`,
      `| Misses    | ${before.misses}   | ${after.misses}   | ${addDel(diff.counts.misses)}  |`,
      '',
    ].join('\n');
  }
  const rule = `${'='.repeat(45)}\n`;
  const row = (label: string, b: string, a: string, d: string): string =>
    `${left(label, 10)}${right(b, 10)}${right(a, 10)}${right(d, 15)}\n`;
  return [
    row('', 'before', 'after', '+/-'),
    rule,
    row('Coverage', pythonPercent(beforeCov, 2), pythonPercent(afterCov, 2), pythonPercent(total, 2, true)),
    rule,
    row('Tables', String(before.tables), String(after.tables), addDel(diff.counts.tables)),
    row('Columns', String(before.total), String(after.total), addDel(diff.counts.columns)),
    rule,
    row('Hits', String(before.covered), String(after.covered), addDel(diff.counts.hits)),
    row('Misses', String(before.misses), String(after.misses), addDel(diff.counts.misses)),
    rule,
  ].join('');
}

function missRow(format: OutputFormat, title: string, before: Figures | null, after: Figures, quoted: boolean): string {
  const coverage = (f: Figures | null): string =>
    f === null || f.coverage === null ? '(-)' : `(${pythonPercent(f.coverage, 2)})`;
  const bCovered = before === null ? '-' : String(before.covered);
  const bTotal = before === null ? '-' : String(before.total);
  if (format === 'markdown') {
    const shown = quoted ? `\`${title}\`` : title;
    return `| ${shown} | ${bCovered}/${bTotal} ${coverage(before)} | ${after.covered}/${after.total} ${coverage(after)} |\n`;
  }
  return (
    left(title, 50) +
    `${right(bCovered, 5)}/${left(bTotal, 5)}${centre(coverage(before), 9)}` +
    ' -> ' +
    `${right(String(after.covered), 5)}/${left(String(after.total), 5)}${centre(coverage(after), 9)}\n`
  );
}

/** `CoverageDiff.new_misses_summary`: the catalog's row, then each table with new misses and its columns. */
export function formatNewMisses(diff: CoverageDiff, format: OutputFormat): string {
  const { before, after } = diff.counts;
  const out: string[] = [];
  const tableBlock = (t: TableMisses): string => {
    let text = missRow(format, `┌ ${t.name}`, t.before, t.after, true);
    t.columns.forEach((c, i) => {
      const prefix = i === t.columns.length - 1 ? '└── ' : '├── ';
      text += missRow(format, prefix + c.name, c.before, c.after, true);
    });
    return text;
  };
  if (format === 'markdown') {
    out.push('|     | before (%) | after (%) |\n', '|:----|:----------:|:---------:|\n');
    out.push(missRow(format, 'Catalog', before, after, false));
    for (const t of diff.newMisses) out.push(tableBlock(t));
  } else {
    const rule = `${'='.repeat(94)}\n`;
    out.push(rule, missRow(format, 'Catalog', before, after, false), rule);
    for (const t of diff.newMisses) out.push(tableBlock(t), rule);
  }
  return out.join('');
}

/** What `dbt-coverage compare` prints: the summary and the new misses, each with print's newline. */
export function formatCompare(diff: CoverageDiff, format: OutputFormat): string {
  return `${formatSummary(diff, format)}\n${formatNewMisses(diff, format)}\n`;
}

/** fail_compare's message, when the coverage decreased. */
export function decreaseMessage(diff: CoverageDiff): string {
  const { before, after } = diff.counts;
  return `Coverage decreased from ${pythonPercent(before.coverage ?? 0, 2)} to ${pythonPercent(after.coverage ?? 0, 2)}`;
}
