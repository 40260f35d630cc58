/**
 * The facts coverage needs of a manifest.json, read as it streams by. The scanner skips at byte
 * level everything but the few fields below (most of a manifest is SQL, macros and docs blocks);
 * what is kept is a small record per node, never a node, let alone the document.
 *
 * Read as dbt-coverage 0.4.2 reads it (`load_manifest`): the nodes are those of `sources`, `nodes`
 * and `unit_tests` (whose keys are unique ids, prefixed by their type, so the sections never share
 * one and their keys need not be read); tables are the source, model, seed and snapshot nodes, by
 * their `unique_id` (a later node of the same id replacing the earlier); a table's column is
 * documented when its description is neither null nor "" (columns by their lower-cased `name`, the
 * later winning); generic tests attach to a table and column by dbt-docs' rule; unit tests to the
 * one model they depend on. Where dbt-coverage would stop on a node it cannot read (a table without
 * a `unique_id`, a column name that is not a string), that node is left out of the figures instead.
 * @module
 */
import {
  TABLE_TYPES,
  normalizePath,
  type CoverageType,
  type ManifestFacts,
  type ManifestTable,
  type TableType,
} from '../coverage/coverage.ts';
import { FingerprintSet } from '../json/fingerprints.ts';
import { ANY_KEY, JsonBoundError, keyTable, type ObjectVisit, type Visit } from '../json/json-scan.ts';
import { fields, type Fields } from './fields.ts';
import {
  FactsReader,
  Interner,
  KeysSeen,
  repeatedKey,
  candidateVisit,
  checkCount,
  describedVisit,
  strVisit,
  textVisit,
  type Candidate,
  type Limits,
} from './reader.ts';

const ROOT = keyTable(['metadata', 'sources', 'nodes', 'unit_tests']);
const METADATA = keyTable(['dbt_version', 'dbt_schema_version', 'project_name', 'generated_at']);
/** What a node still has read once its type needs nothing else. */
const TYPE_KEY = keyTable(['resource_type']);
/** What a node is, for what is read of it: a table (source, model, seed, snapshot), a test, a unit test, anything else. */
type NodeKind = 'table' | 'test' | 'unitTest' | 'other';
const KINDS: readonly NodeKind[] = ['table', 'test', 'unitTest', 'other'];
/** The kinds each measure reads beyond their type (a table, always: its columns are what is counted). */
const MEASURE_KINDS: Record<CoverageType, readonly NodeKind[]> = {
  doc: ['table'],
  test: ['table', 'test'],
  'unit-test': ['table', 'unitTest'],
};

/** A field of a node: the kinds that read it, and, where not every measure needs it, those that do. */
interface NodeField {
  readonly key: string;
  readonly visit: Visit | null;
  readonly kinds: readonly NodeKind[];
  readonly measures?: readonly CoverageType[];
}

const TEST_METADATA = keyTable(['name', 'kwargs']);
const KWARGS = keyTable(['column_name', 'arg']);
const DEPENDS_ON = keyTable(['nodes']);
const COLUMN = keyTable(['name', 'description']);

/** A node while it is read: each field as a primitive, as its visit reads it (reader.ts). */
interface NodeState {
  type: string | null;
  uniqueId: string | null;
  described: boolean;
  schema: string;
  name: string;
  path: string | null;
  columnName: Candidate;
  /** test_metadata: an object (a generic test) or not. */
  metadata: boolean;
  metadataName: string | null;
  kwargColumn: Candidate;
  kwargArg: Candidate;
  /** depends_on.nodes, when it is an array; its string items. */
  dependsOn: string[] | null;
  /** Lower-cased column name -> documented, the later column of a name winning (made at the first). */
  columns: Map<string, boolean> | null;
  /** The fields (a bit each) passed by, the node being of a type that needs none of them. */
  skipped: number;
  /** The fields its type reads, as far as it is known (neededBy). */
  needed: number;
}

function newNode(all: number): NodeState {
  return {
    type: null,
    uniqueId: null,
    described: false,
    schema: 'None',
    name: 'None',
    path: null,
    columnName: undefined,
    metadata: false,
    metadataName: null,
    kwargColumn: undefined,
    kwargArg: undefined,
    dependsOn: null,
    columns: null,
    skipped: 0,
    needed: all,
  };
}

const kindOf = (type: string | null): NodeKind =>
  isTableType(type) ? 'table' : type === 'test' ? 'test' : type === 'unit_test' ? 'unitTest' : 'other';

const isTableType = (t: string | null): t is TableType => t !== null && (TABLE_TYPES as readonly string[]).includes(t);

export class ManifestReader extends FactsReader<ManifestFacts> {
  private readonly meta: Record<'dbtVersion' | 'schemaVersion' | 'projectName' | 'generatedAt', string | null> = {
    dbtVersion: null,
    schemaVersion: null,
    projectName: null,
    generatedAt: null,
  };
  private readonly names: Interner;
  private readonly tables = new Map<string, ManifestTable>();
  /** Table id -> lower-cased column name -> tests attached. */
  private readonly tests = new Map<string, Map<string, number>>();
  private readonly unitTests = new Map<string, number>();
  /** Models at least one test attaches to. */
  private readonly tested = new FingerprintSet();
  private readonly models = { total: 0, documented: 0, tested: 0, tests: 0, unitTests: 0, unitTested: 0 };
  private nodes = 0;
  private columnsKept = 0;
  /** Models, and whether each has a description; tests and unit tests seen: by their ids' fingerprints. */
  private readonly modelDescribed = new FingerprintSet();
  private readonly testIds = new FingerprintSet();

  private seen(id: string): boolean {
    return !this.testIds.add(id);
  }

  /**
   * Whether to keep each table's documented columns and each column's tests: needed only against a
   * catalog (a `docs generate` step). Without them a step's summary has the model-level facts, and a
   * manifest of any size costs a set of model ids.
   */
  private readonly keepTables: boolean;

  /** What each kind of node needs read: a mask of `node`'s fields by kind. */
  private readonly needs: Record<NodeKind, number>;

  /**
   * `tables: false` leaves out each table's columns and tests (no catalog to match); `measure` reads
   * only what that one coverage needs (`coverage compute doc` reads no test), its facts complete and
   * the others' not: the step summaries, which carry all three, read with every measure.
   */
  constructor(
    what = 'manifest.json',
    limits: Partial<Limits> = {},
    options: { tables?: boolean; measure?: CoverageType } = {},
  ) {
    super(what, limits);
    this.names = new Interner(this.limits.names);
    this.keepTables = options.tables ?? true;
    const measure = options.measure;
    const type = this.node.bit('resource_type');
    // Every measure: each kind its fields. One measure: the kinds it counts, their fields it needs;
    // every node still has its type read, which is what says it needs nothing else.
    this.needs = Object.fromEntries(
      KINDS.map((kind) => [
        kind,
        type |
          this.node.mask(
            (f) =>
              f.kinds.includes(kind) &&
              (measure === undefined ||
                (MEASURE_KINDS[measure].includes(kind) && (f.measures === undefined || f.measures.includes(measure)))),
          ),
      ]),
    ) as Record<NodeKind, number>;
  }

  /** The fields of a node, declared once: the key table, each key's visit, and what each is for. */
  private readonly node: Fields<NodeField> = fields<NodeField>([
    {
      key: 'resource_type',
      kinds: KINDS,
      visit: textVisit((t) => {
        const cur = this.cur;
        cur.type = t;
        cur.needed = this.neededBy(t);
        if (cur.needed === this.node.bit('resource_type')) {
          // Nothing else of this node is read (a test when only `doc` is computed): the rest of it is
          // passed whole. A second resource_type, which dbt never writes, is still seen, and refuses
          // the facts (endNode) if it names a type that needs what was passed.
          cur.skipped |= this.node.all & ~cur.needed;
          this.nodeVisit.keys = TYPE_KEY;
        }
      }),
    },
    { key: 'unique_id', kinds: KINDS, visit: textVisit((t) => (this.cur.uniqueId = t)) },
    { key: 'description', kinds: KINDS, visit: describedVisit((yes) => (this.cur.described = yes)) },
    { key: 'schema', kinds: ['table'], visit: strVisit((t) => (this.cur.schema = t)) },
    { key: 'name', kinds: ['table'], visit: strVisit((t) => (this.cur.name = t)) },
    { key: 'original_file_path', kinds: ['table'], visit: textVisit((t) => (this.cur.path = t)) },
    { key: 'column_name', kinds: ['test'], visit: candidateVisit((c) => (this.cur.columnName = c)) },
    {
      key: 'test_metadata',
      kinds: ['test'],
      // An object (a generic test); null or anything else, as if there were none.
      // A repeated test_metadata: its last value, read whole again.
      visit: {
        object: () => {
          this.cur.metadata = true;
          this.cur.metadataName = null;
          this.cur.kwargColumn = undefined;
          this.cur.kwargArg = undefined;
          return this.testMetadataVisit;
        },
        scalar: () => {
          this.cur.metadata = false;
          this.cur.metadataName = null;
        },
      },
    },
    {
      key: 'depends_on',
      kinds: ['test', 'unitTest'],
      // A repeated depends_on: its last value, whatever it is.
      visit: {
        object: () => {
          this.cur.dependsOn = null;
          return this.dependsOnVisit;
        },
        scalar: () => (this.cur.dependsOn = null),
      },
    },
    {
      key: 'columns',
      kinds: ['table'],
      // Only documentation reads a column's description; test coverage counts the catalog's columns.
      measures: ['doc'],
      // Skipped at byte level when no catalog will need them. A repeated `columns`: its last value,
      // read whole again (JSON keeps the last).
      visit: {
        object: () => {
          this.cur.columns = null;
          return this.keepTables ? this.columnsVisit : null;
        },
        scalar: () => (this.cur.columns = null),
      },
    },
  ]);

  private neededBy(type: string | null): number {
    return type === null ? this.node.all : this.needs[kindOf(type)];
  }

  /** The root's sections shown so far: one shown twice has its facts refused (reader.ts, repeatedKey). */
  private readonly rootSeen = new KeysSeen();

  protected rootObject(): ObjectVisit {
    return {
      keys: ROOT,
      member: (k) => {
        const key = k as number;
        if (this.rootSeen.again(key) && key !== 0) throw repeatedKey('the manifest', ROOT.names[key]!);
        return key === 0 ? this.metadataVisit() : this.sectionVisit();
      },
    };
  }

  private metadataVisit(): Visit {
    const fields = ['dbtVersion', 'schemaVersion', 'projectName', 'generatedAt'] as const;
    return {
      object: () => ({
        keys: METADATA,
        member: (k) => textVisit((t) => (this.meta[fields[k as number]!] = t)),
      }),
    };
  }

  private sectionVisit(): Visit {
    return { object: () => this.sectionObject };
  }

  private readonly nodeOpen: Visit = {
    object: () => {
      this.cur = newNode(this.node.all);
      this.nodeVisit.keys = this.node.keys;
      return this.nodeVisit;
    },
  };
  private readonly sectionObject: ObjectVisit = { keys: ANY_KEY, member: () => this.nodeOpen };

  /** The node being read (nodes do not nest): the visits above are made once and write into it. */
  private cur: NodeState = newNode(0);

  private readonly nodeVisit: ObjectVisit = {
    keys: TYPE_KEY,
    member: (key) => {
      const k = key as number;
      // Once the node's type is known, the fields other types need are passed by at byte level.
      if ((this.cur.needed & (1 << k)) === 0) {
        this.cur.skipped |= 1 << k;
        return null;
      }
      return this.node.visits[k];
    },
    end: () => this.endNode(this.cur),
  };

  private readonly kwargsOpen: Visit = {
    object: () => {
      this.cur.kwargColumn = undefined;
      this.cur.kwargArg = undefined;
      return this.kwargsVisit;
    },
  };
  private readonly kwargsVisit: ObjectVisit = {
    keys: KWARGS,
    member: (k) => (k === 0 ? this.kwargColumnVisit : this.kwargArgVisit),
  };

  private readonly kwargColumnVisit = candidateVisit((c) => (this.cur.kwargColumn = c));
  private readonly kwargArgVisit = candidateVisit((c) => (this.cur.kwargArg = c));
  private readonly metadataNameVisit = textVisit((t) => (this.cur.metadataName = t));

  private readonly testMetadataVisit: ObjectVisit = {
    keys: TEST_METADATA,
    member: (k) => (k === 0 ? this.metadataNameVisit : this.kwargsOpen),
  };

  private readonly dependsOnItem: Visit = {
    text: true,
    scalar: (kind, t) => {
      if (kind === 'string' && t !== undefined) this.cur.dependsOn?.push(t);
    },
  };

  private readonly dependsOnVisit: ObjectVisit = {
    keys: DEPENDS_ON,
    member: () => {
      this.cur.dependsOn = null;
      return {
        array: () => {
          this.cur.dependsOn = [];
          return { item: () => this.dependsOnItem };
        },
      };
    },
  };

  /** The column being read: its name and whether it is documented. */
  private columnName: string | null = null;
  private columnDescribed = false;

  private readonly columnVisit: ObjectVisit = {
    keys: COLUMN,
    member: (k) => (k === 0 ? this.columnNameVisit : this.columnDescriptionVisit),
    end: () => {
      const name = this.columnName;
      if (name === null) return;
      const columns = this.cur.columns ?? new Map<string, boolean>();
      this.cur.columns = columns;
      columns.set(this.names.of(name.toLowerCase()), this.columnDescribed);
      // Counted as they are read: a node of millions of columns stops here, not once it closes.
      checkCount(columns.size, this.limits.tableColumns, 'columns in one node');
    },
  };

  private readonly columnNameVisit = textVisit((t) => (this.columnName = t));
  private readonly columnDescriptionVisit = describedVisit((yes) => (this.columnDescribed = yes));
  private readonly columnOpen: Visit = {
    object: () => {
      this.columnName = null;
      this.columnDescribed = false;
      return this.columnVisit;
    },
  };

  // Columns by their `name`, not their key: the key is passed by, never decoded.
  private readonly columnsVisit: ObjectVisit = { keys: ANY_KEY, member: () => this.columnOpen };

  private endNode(n: NodeState): void {
    checkCount(++this.nodes, this.limits.nodes, 'nodes');
    const type = n.type;
    // Only a node whose resource_type is given twice (a duplicated key: JSON keeps the later) can
    // need a field passed by as another type's; dbt never writes one.
    if ((n.skipped & this.neededBy(type)) !== 0)
      throw new JsonBoundError(`node ${n.uniqueId ?? this.nodes} gives its resource_type twice, as different types`);
    if (isTableType(type)) {
      // Counted by id: a node given twice (a duplicated key) counts once, as its later form.
      if (type === 'model') this.modelDescribed.set(n.uniqueId ?? `\u0000(node ${this.nodes})`, n.described);
      if (n.uniqueId === null || !this.keepTables) return;
      const documented = new Set<string>();
      for (const [name, yes] of n.columns ?? []) if (yes) documented.add(name);
      this.columnsKept += documented.size;
      checkCount(this.columnsKept, this.limits.columns, 'documented columns');
      this.tables.set(n.uniqueId, {
        uniqueId: n.uniqueId,
        resourceType: type,
        name: `${n.schema}.${n.name}`.toLowerCase(),
        path: normalizePath(n.path ?? ''),
        documented,
      });
      checkCount(this.tables.size, this.limits.tables, 'tables');
    } else if (type === 'test') {
      // A test given twice: JSON keeps the later, whose attachment cannot replace the earlier's.
      if (n.uniqueId !== null && this.seen(n.uniqueId)) throw repeatedKey('the manifest', n.uniqueId);
      this.models.tests++;
      this.attachTest(n);
    } else if (type === 'unit_test') {
      if (n.uniqueId !== null && this.seen(n.uniqueId)) throw repeatedKey('the manifest', n.uniqueId);
      this.models.unitTests++;
      const deps = n.dependsOn;
      if (!deps || deps.length === 0) return;
      // dbt-coverage reads `[table_id] = depends_on` (a unit test tests one model); where there are
      // more, the first model is the one it tests.
      const model = deps.length === 1 ? deps[0]! : (deps.find((d) => d.startsWith('model.')) ?? deps[0]!);
      this.unitTests.set(model, (this.unitTests.get(model) ?? 0) + 1);
    }
  }

  /** dbt-docs' rule: the table of a generic test, and its column; a singular test tests every model it reads. */
  private attachTest(n: NodeState): void {
    const deps = n.dependsOn;
    if (!deps || deps.length === 0) return;
    if (!n.metadata) {
      for (const d of deps) if (d.startsWith('model.')) this.tested.add(d);
      return;
    }
    const table = n.metadataName === 'relationships' ? deps[deps.length - 1]! : deps[0]!;
    if (table.startsWith('model.')) this.tested.add(table);
    if (!this.keepTables) return;
    // `node.get("column_name") or kwargs.get("column_name") or kwargs.get("arg")`: the first truthy one.
    const name = n.columnName !== undefined ? n.columnName : n.kwargColumn !== undefined ? n.kwargColumn : n.kwargArg;
    if (typeof name !== 'string') return;
    const column = this.names.of(name.toLowerCase());
    let perColumn = this.tests.get(table);
    if (perColumn === undefined) {
      perColumn = new Map();
      this.tests.set(table, perColumn);
    }
    perColumn.set(column, (perColumn.get(column) ?? 0) + 1);
  }

  protected facts(): ManifestFacts {
    const models = {
      ...this.models,
      total: this.modelDescribed.size,
      documented: this.modelDescribed.flagged,
      tested: this.tested.size,
    };
    models.unitTested = [...this.unitTests.keys()].filter((id) => id.startsWith('model.')).length;
    return { ...this.meta, tables: this.tables, tests: this.tests, unitTests: this.unitTests, models };
  }
}
