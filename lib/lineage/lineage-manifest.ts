/**
 * What lineage needs of a manifest.json, read as it streams by: every table's relation (database,
 * schema and table name: models, seeds and snapshots by their `alias`, sources by their
 * `identifier`), and, only for the nodes the step ran, what their events carry: description,
 * columns, `depends_on.nodes`, compiled SQL; for the tests the step ran, what their assertion says.
 * Everything else (macros, docs, raw code, the SQL of nodes the step did not run) is skipped at
 * byte level, so a manifest of hundreds of MB costs a small record per table.
 * @module
 */
import { checkCount, type Limits } from '../facts/reader.ts';
import { ANY_KEY, type ObjectVisit, type Visit } from '../json/json-scan.ts';
import { LineageReader, members, strings, text } from './lineage-reader.ts';

export interface Relation {
  database: string | null;
  schema: string | null;
  table: string;
}

export interface LineageColumn {
  name: string;
  description: string | null;
  type: string | null;
}

/** A model, seed or snapshot the step ran. */
export interface LineageNode {
  id: string;
  type: 'model' | 'seed' | 'snapshot';
  description: string | null;
  columns: LineageColumn[];
  dependsOn: string[];
  sql: string | null;
}

/** A test the step ran: what it asserts, on which table and column. */
export interface LineageTest {
  id: string;
  name: string | null;
  /** test_metadata.name (not_null, unique, ...), or null for a singular test. */
  kind: string | null;
  column: string | null;
  /** attached_node, where dbt writes it (manifest v10 and later). */
  attachedTo: string | null;
  dependsOn: string[];
  severity: string | null;
}

export interface LineageManifest {
  adapterType: string | null;
  dbtVersion: string | null;
  /** Every source, model, seed and snapshot, by unique id. */
  relations: Map<string, Relation>;
  nodes: Map<string, LineageNode>;
  tests: Map<string, LineageTest>;
}

const TABLE_TYPES = new Set(['model', 'seed', 'snapshot', 'source']);
const RUN_TYPES = new Set(['model', 'seed', 'snapshot']);

interface NodeState {
  type: string | null;
  id: string | null;
  database: string | null;
  schema: string | null;
  alias: string | null;
  name: string | null;
  identifier: string | null;
  description: string | null;
  columns: LineageColumn[];
  dependsOn: string[] | null;
  sql: string | null;
  kind: string | null;
  kwargColumn: string | null;
  columnName: string | null;
  attachedTo: string | null;
  severity: string | null;
}

const newNode = (): NodeState => ({
  type: null,
  id: null,
  database: null,
  schema: null,
  alias: null,
  name: null,
  identifier: null,
  description: null,
  columns: [],
  dependsOn: null,
  sql: null,
  kind: null,
  kwargColumn: null,
  columnName: null,
  attachedTo: null,
  severity: null,
});

export class LineageManifestReader extends LineageReader<LineageManifest> {
  private readonly wanted: ReadonlySet<string>;
  private readonly out: LineageManifest = {
    adapterType: null,
    dbtVersion: null,
    relations: new Map(),
    nodes: new Map(),
    tests: new Map(),
  };
  private cur: NodeState = newNode();
  private count = 0;

  /** `wanted`: the unique ids the step ran (its run results), whose details are kept. */
  constructor(wanted: ReadonlySet<string>, what = 'manifest.json', limits: Partial<Limits> = {}) {
    super(what, limits);
    this.wanted = wanted;
  }

  /** Whether the current node's details are read: it is one the step ran, or its id is not known yet. */
  private keeps = (): boolean => this.cur.id === null || this.wanted.has(this.cur.id);
  private ifKept = (visit: Visit) => (): Visit | null => (this.keeps() ? visit : null);

  protected rootObject(): ObjectVisit {
    const section: Visit = { object: () => ({ keys: ANY_KEY, member: () => this.nodeOpen }) };
    return members({
      metadata: {
        object: () =>
          members({
            adapter_type: text((t) => (this.out.adapterType = t)),
            dbt_version: text((t) => (this.out.dbtVersion = t)),
          }),
      },
      nodes: section,
      sources: section,
    });
  }

  private readonly columnVisit = (): Visit => {
    let column: LineageColumn = { name: '', description: null, type: null };
    const visit = members(
      {
        name: text((t) => (column.name = t ?? '')),
        description: text((t) => (column.description = t)),
        data_type: text((t) => (column.type = t)),
      },
      () => {
        if (column.name === '') return;
        this.cur.columns.push(column);
        checkCount(this.cur.columns.length, this.limits.tableColumns, 'columns in one node');
      },
    );
    return {
      object: () => {
        column = { name: '', description: null, type: null };
        return visit;
      },
    };
  };

  private readonly nodeVisit: ObjectVisit = members(
    {
      resource_type: text((t) => (this.cur.type = t)),
      unique_id: text((t) => (this.cur.id = t)),
      database: text((t) => (this.cur.database = t)),
      schema: text((t) => (this.cur.schema = t)),
      alias: text((t) => (this.cur.alias = t)),
      name: text((t) => (this.cur.name = t)),
      identifier: text((t) => (this.cur.identifier = t)),
      description: this.ifKept(text((t) => (this.cur.description = t))),
      columns: this.ifKept({
        object: () => {
          this.cur.columns = [];
          const column = this.columnVisit();
          return { keys: ANY_KEY, member: () => column };
        },
      }),
      depends_on: this.ifKept({
        object: () => members({ nodes: strings((s) => (this.cur.dependsOn = s), this.limits.tables) }),
      }),
      compiled_code: this.ifKept(text((t) => (this.cur.sql = t))),
      // Manifests before v7 (dbt 1.3) call it compiled_sql.
      compiled_sql: this.ifKept(text((t) => (this.cur.sql ??= t))),
      test_metadata: this.ifKept({
        object: () =>
          members({
            name: text((t) => (this.cur.kind = t)),
            kwargs: { object: () => members({ column_name: text((t) => (this.cur.kwargColumn = t)) }) },
          }),
      }),
      column_name: this.ifKept(text((t) => (this.cur.columnName = t))),
      attached_node: this.ifKept(text((t) => (this.cur.attachedTo = t))),
      config: this.ifKept({ object: () => members({ severity: text((t) => (this.cur.severity = t)) }) }),
    },
    () => this.endNode(this.cur),
  );

  private readonly nodeOpen: Visit = {
    object: () => {
      this.cur = newNode();
      return this.nodeVisit;
    },
  };

  private endNode(n: NodeState): void {
    checkCount(++this.count, this.limits.nodes, 'nodes');
    if (n.id === null || n.type === null) return;
    if (TABLE_TYPES.has(n.type)) {
      // The integration names a source by its `name`; its table is its `identifier` (the name
      // unless the project renamed it), which is what the warehouse and its own lineage call it.
      const table = n.type === 'source' ? (n.identifier ?? n.name) : (n.alias ?? n.name);
      if (table !== null) this.out.relations.set(n.id, { database: n.database, schema: n.schema, table });
      checkCount(this.out.relations.size, this.limits.tables, 'tables');
    }
    if (!this.wanted.has(n.id)) return;
    if (RUN_TYPES.has(n.type))
      this.out.nodes.set(n.id, {
        id: n.id,
        type: n.type as LineageNode['type'],
        description: n.description,
        columns: n.columns,
        dependsOn: n.dependsOn ?? [],
        sql: n.sql,
      });
    else if (n.type === 'test')
      this.out.tests.set(n.id, {
        id: n.id,
        name: n.name,
        kind: n.kind,
        column: n.kwargColumn ?? n.columnName,
        attachedTo: n.attachedTo,
        dependsOn: n.dependsOn ?? [],
        severity: n.severity === null ? null : n.severity.toLowerCase(),
      });
  }

  protected facts(): LineageManifest {
    return this.out;
  }
}
