/**
 * A coverage report (`coverage compute`'s, or dbt-coverage's own coverage.json), read for
 * `coverage compare` as dbt-coverage's `CoverageReport.from_dict` reads it: its type, and per table
 * (by name, a later one replacing the earlier) its columns' hits and whether each is covered (a
 * column without `hits` counts its `covered`, as older reports were written); for unit-test
 * coverage, the table's own hits. Read as it streams, within the same bounds as the artifacts.
 * @module
 */
import type { StoredColumn, StoredReport, StoredTable } from '../coverage/coverage-compare.ts';
import { COVERAGE_TYPES, type CoverageType } from '../coverage/coverage.ts';
import { HarvesterError } from '../core/errors.ts';
import { keyTable, type ObjectVisit, type Visit } from '../json/json-scan.ts';
import { FactsReader, checkCount } from './reader.ts';

/** A JSON document that is not a coverage report. */
export class NotAReportError extends HarvesterError {
  constructor(what: string, problem: string) {
    super('NOT_A_REPORT', `${what} is not a coverage report (${problem}): write one with coverage compute`, {
      exitCode: 2,
    });
  }
}

const ROOT = keyTable(['cov_type', 'tables']);
const ENTRY = keyTable(['name', 'hits', 'covered', 'columns']);

interface Entry {
  name: string | null;
  hits: number | null;
  covered: number | null;
}

const number = (text: string | undefined): number => Number(text);

export class ReportReader extends FactsReader<StoredReport> {
  private covType: string | null = null;
  private tablesSeen = false;
  private entries: { table: Entry; columns: Entry[] | null }[] = [];
  private columns = 0;

  protected rootObject(): ObjectVisit {
    return { keys: ROOT, member: (k) => (k === 0 ? this.typeVisit : this.tablesVisit) };
  }

  private readonly typeVisit: Visit = {
    text: true,
    scalar: (kind, text) => {
      this.covType = kind === 'string' ? (text ?? null) : null;
    },
  };

  private entryVisit(into: Entry, columns: ((list: Entry[]) => void) | null): Visit {
    const scalar = (set: (kind: string, text: string | undefined) => void): Visit => ({ text: true, scalar: set });
    return {
      object: (): ObjectVisit => ({
        keys: ENTRY,
        member: (k) => {
          if (k === 0) return scalar((kind, text) => (into.name = kind === 'string' ? (text ?? null) : null));
          if (k === 1) return scalar((kind, text) => (into.hits = kind === 'number' ? number(text) : null));
          if (k === 2) return scalar((kind, text) => (into.covered = kind === 'number' ? number(text) : null));
          if (!columns) return null;
          // A repeated `columns`: its last value.
          const list: Entry[] = [];
          columns(list);
          return {
            array: () => ({
              item: () => {
                checkCount(++this.columns, this.limits.columns, 'columns');
                const column: Entry = { name: null, hits: null, covered: null };
                list.push(column);
                return this.entryVisit(column, null);
              },
            }),
          };
        },
      }),
    };
  }

  private readonly tablesVisit: Visit = {
    // A repeated `tables` that is not a list: JSON keeps it, and the report has no tables list.
    scalar: () => this.noTables(),
    object: () => {
      this.noTables();
      return null;
    },
    array: () => {
      // A repeated `tables`: JSON keeps its last value, read whole again.
      this.tablesSeen = true;
      this.entries = [];
      this.columns = 0;
      return {
        item: () => {
          checkCount(this.entries.length + 1, this.limits.tables, 'tables');
          const record: { table: Entry; columns: Entry[] | null } = {
            table: { name: null, hits: null, covered: null },
            columns: null,
          };
          this.entries.push(record);
          return this.entryVisit(record.table, (list) => (record.columns = list));
        },
      };
    },
  };

  private noTables(): void {
    this.tablesSeen = false;
    this.entries = [];
  }

  protected facts(): StoredReport {
    const covType = this.covType;
    if (covType === null || !(COVERAGE_TYPES as readonly string[]).includes(covType))
      throw new NotAReportError(this.what, `its cov_type is not one of ${COVERAGE_TYPES.join(', ')}`);
    if (!this.tablesSeen) throw new NotAReportError(this.what, 'it has no tables list');
    const unit = covType === 'unit-test';
    const tables = new Map<string, StoredTable>();
    for (const { table, columns } of this.entries) {
      if (table.name === null) throw new NotAReportError(this.what, 'a table has no name');
      if (columns === null) throw new NotAReportError(this.what, `table ${table.name} has no columns list`);
      if (unit) {
        if (table.hits === null) throw new NotAReportError(this.what, `table ${table.name} has no hits`);
        tables.set(table.name, { hits: table.hits, covered: table.hits > 0, columns: new Map() });
        continue;
      }
      const byName = new Map<string, StoredColumn>();
      let hits = 0;
      for (const c of columns) {
        if (c.name === null || c.covered === null)
          throw new NotAReportError(this.what, `a column of table ${table.name} has no name or covered`);
        byName.set(c.name, { hits: c.hits ?? c.covered, covered: c.covered > 0 });
      }
      for (const c of byName.values()) hits += c.hits;
      tables.set(table.name, { hits, covered: false, columns: byName });
    }
    return { covType: covType as CoverageType, tables };
  }
}
