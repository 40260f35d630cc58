/**
 * dbt-coverage's outputs of `compute`, byte for byte: the string and markdown tables it prints,
 * and its JSON report (`json.dumps(report, indent=2)`), written in pieces as it goes, so that a
 * report of a million columns is never one string in memory.
 * @module
 */
import type { ColumnReport, CoverageReport, TableReport } from './coverage.ts';
import { byCodePoint, pythonFloat, pythonString } from './python-format.ts';
import { pythonFixed } from './python-format.ts';

/** Python's `format(coverage * 100, '5.1f')`, or what dbt-coverage shows for no columns. */
export function percent(coverage: number | null): string {
  if (coverage === null) return '    -';
  return pythonFixed(coverage * 100, 1).padStart(5);
}

const ratio = (covered: number, total: number): string => `${String(covered).padStart(5)}/${String(total).padEnd(5)}`;
const counted = (report: CoverageReport): boolean => report.covType !== 'doc';
const sortedByName = (report: CoverageReport): TableReport[] =>
  [...report.tables].sort((a, b) => byCodePoint(a.name, b.name));

type Figures = Pick<TableReport, 'hits' | 'covered' | 'total' | 'coverage'>;

/** dbt-coverage's string table, as `compute` prints it (with print's newline). */
export function formatString(report: CoverageReport): string {
  const hits = (n: number): string => `(${n} tests)`.padStart(12);
  const line = (name: string, r: Figures): string =>
    `${name.padEnd(50)} ${counted(report) ? `${hits(r.hits)} ` : ''}${ratio(r.covered, r.total)} ${percent(r.coverage)}%`;
  const rule = '='.repeat(counted(report) ? 82 : 69);
  const rows = sortedByName(report).map((t) => `${line(t.name, t)}\n`);
  return `Coverage report (${report.covType})\n${rule}\n${rows.join('')}${rule}\n${line('Total', report)}\n\n`;
}

/** dbt-coverage's markdown table, as `compute --output-format markdown` prints it. */
export function formatMarkdown(report: CoverageReport): string {
  const line = (name: string, r: Figures): string =>
    `| ${name.padEnd(70)} | ${counted(report) ? `(${r.hits} tests) ` : ''}${ratio(r.covered, r.total)} | ${percent(r.coverage)}% |`;
  const rows = sortedByName(report).map((t) => `${line(t.name, t)}\n`);
  return `# Coverage report (${report.covType})\n| Model | Columns Covered | % |\n|:------|----------------:|:-:|\n${rows.join('')}${line('Total', report)}\n\n`;
}

const num = (v: number | null, float: boolean): string => (v === null ? 'null' : float ? pythonFloat(v) : String(v));

function fields(pairs: [string, string][], indent: string): string {
  return pairs.map(([k, v]) => `${indent}  ${pythonString(k)}: ${v}`).join(',\n');
}

function figures(r: Figures & { name?: string }): [string, string][] {
  return [
    ...(r.name !== undefined ? ([['name', pythonString(r.name)]] as [string, string][]) : []),
    ['hits', num(r.hits, false)],
    ['covered', num(r.covered, false)],
    ['total', num(r.total, false)],
    ['coverage', num(r.coverage, true)],
  ];
}

/**
 * A column's object, written out at its place in the report, after the comma or bracket before
 * it (a report has a million of them). Its text depends only on its name and hits, and names
 * repeat across tables: the texts of the usual hits (0 to 3) are made once a name.
 */
class ColumnTexts {
  private readonly known = new Map<string, (string | undefined)[]>();

  of(c: ColumnReport, first: boolean): string {
    const cacheable = c.hits < 4 && c.total === 1 && c.covered === (c.hits > 0 ? 1 : 0) && c.coverage === c.covered;
    if (!cacheable) return (first ? '[' : ',') + columnJson(c);
    let texts = this.known.get(c.name);
    if (texts === undefined) {
      texts = [];
      this.known.set(c.name, texts);
    }
    const slot = c.hits * 2 + (first ? 1 : 0);
    let text = texts[slot];
    if (text === undefined) {
      text = (first ? '[' : ',') + columnJson(c);
      texts[slot] = text;
    }
    return text;
  }
}

function columnJson(c: ColumnReport): string {
  const coverage =
    c.coverage === null ? 'null' : c.coverage === 1 ? '1.0' : c.coverage === 0 ? '0.0' : pythonFloat(c.coverage);
  const i = '\n          ';
  return `\n        {${i}"name": ${pythonString(c.name)},${i}"hits": ${c.hits},${i}"covered": ${c.covered},${i}"total": ${c.total},${i}"coverage": ${coverage}\n        }`;
}

/**
 * The report as dbt-coverage writes it (`json.dumps(report, indent=2)`), byte for byte, handed to
 * `write` a column at a time (the writer buffers).
 */
export function writeReportJson(report: CoverageReport, write: (text: string) => void): void {
  write(`{\n${fields([['cov_type', pythonString(report.covType)], ...figures(report)], '')},\n  "tables": `);
  if (report.tables.length === 0) {
    write('[]\n}');
    return;
  }
  write('[\n');
  const columns = new ColumnTexts();
  report.tables.forEach((t, i) => {
    const indent = '    ';
    write(`${indent}{\n${fields(figures(t), indent)},\n${indent}  "columns": `);
    let first = true;
    for (const c of t.columns()) {
      write(columns.of(c, first));
      first = false;
    }
    write(`${first ? '[]' : `\n${indent}  ]`}\n${indent}}${i < report.tables.length - 1 ? ',' : ''}\n`);
  });
  write('  ]\n}');
}

/** The whole report as one string (small reports, tests). */
export function reportJson(report: CoverageReport): string {
  const parts: string[] = [];
  writeReportJson(report, (t) => parts.push(t));
  return parts.join('');
}
