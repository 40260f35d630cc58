/**
 * The facts coverage needs of a catalog.json, read as it streams by: each table's `unique_id` and
 * its columns' names, nothing else (types, stats and comments are skipped at byte level).
 *
 * Read as dbt-coverage 0.4.2 reads it (`load_catalog`): the tables are `{**sources, **nodes}` (a
 * key seen twice keeps its later table, at the place of the first), but not those whose key starts
 * with `test.` (tables of stored test failures); a table's columns are its columns' `name`s,
 * lower-cased, each once, in the catalog's order.
 * @module
 */
import type { CatalogFacts, CatalogTable } from '../coverage/coverage.ts';
import { ANY_KEY, keyTable, type ObjectVisit, type Visit } from '../json/json-scan.ts';
import { FactsReader, Interner, KeysSeen, checkCount, repeatedKey, type Limits } from './reader.ts';

const ROOT = keyTable(['sources', 'nodes']);
const TABLE = keyTable(['unique_id', 'columns']);
const COLUMN = keyTable(['name']);

export class CatalogReader extends FactsReader<CatalogFacts> {
  private readonly sections = [new Map<string, CatalogTable>(), new Map<string, CatalogTable>()] as const;
  private readonly names: Interner;
  private columns = 0;
  private tables = 0;
  /** The table being read (tables do not nest): the visits below are made once and write into it. */
  private section: Map<string, CatalogTable> = this.sections[0];
  private key = '';
  private uniqueId: string | undefined;
  private tableColumns = new Set<string>();
  private columnName: string | undefined;

  constructor(what = 'catalog.json', limits: Partial<Limits> = {}) {
    super(what, limits);
    this.names = new Interner(this.limits.names);
  }

  private readonly rootSeen = new KeysSeen();

  protected rootObject(): ObjectVisit {
    return {
      keys: ROOT,
      member: (k) => {
        // A section given twice: JSON keeps the later, but the earlier's tables are counted already.
        if (this.rootSeen.again(k as number)) throw repeatedKey('the catalog', ROOT.names[k as number]!);
        this.section = this.sections[k as 0 | 1];
        return this.sectionOpen;
      },
    };
  }

  private readonly uniqueIdVisit: Visit = {
    text: true,
    scalar: (kind, text) => {
      this.uniqueId = kind === 'string' ? text : undefined;
    },
  };

  private readonly columnNameVisit: Visit = {
    text: true,
    scalar: (kind, text) => {
      this.columnName = kind === 'string' ? text : undefined;
    },
  };

  private readonly columnVisit: ObjectVisit = {
    keys: COLUMN,
    member: () => this.columnNameVisit,
    end: () => {
      if (this.columnName === undefined) return;
      this.tableColumns.add(this.names.of(this.columnName.toLowerCase()));
      // Counted as they are read: a table of millions of columns stops here, not once it closes.
      checkCount(this.tableColumns.size, this.limits.tableColumns, 'columns in one table');
      checkCount(this.columns + this.tableColumns.size, this.limits.columns, 'columns');
    },
  };

  private readonly columnOpen: Visit = {
    object: () => {
      this.columnName = undefined;
      return this.columnVisit;
    },
  };

  // A repeated `columns`: its last value, whatever it is (JSON keeps the last).
  private readonly columnsOpen: Visit = {
    object: () => {
      this.tableColumns.clear();
      return { keys: ANY_KEY, member: () => this.columnOpen };
    },
    scalar: () => this.tableColumns.clear(),
    array: () => {
      this.tableColumns.clear();
      return null;
    },
  };

  private readonly tableVisit: ObjectVisit = {
    keys: TABLE,
    member: (k) => (k === 0 ? this.uniqueIdVisit : this.columnsOpen),
    end: () => {
      checkCount(++this.tables, this.limits.tables, 'tables');
      this.columns += this.tableColumns.size;
      checkCount(this.columns, this.limits.columns, 'columns');
      this.section.set(this.key, { uniqueId: this.uniqueId ?? this.key, columns: [...this.tableColumns] });
    },
  };

  private readonly tableOpen: Visit = {
    object: () => {
      this.uniqueId = undefined;
      this.tableColumns = new Set();
      return this.tableVisit;
    },
  };

  private readonly sectionObject: ObjectVisit = {
    member: (key) => {
      this.key = String(key);
      return this.tableOpen;
    },
  };

  private readonly sectionOpen: Visit = { object: () => this.sectionObject };

  protected facts(): CatalogFacts {
    const [sources, nodes] = this.sections;
    const merged = new Map(sources);
    for (const [key, table] of nodes) merged.set(key, table);
    return { tables: [...merged].filter(([key]) => !key.startsWith('test.')).map(([, t]) => t) };
  }
}
