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
} from '../core/coverage.ts';
import { FingerprintSet } from '../core/fingerprints.ts';
import { ANY_KEY, JsonBoundError, keyTable, type ObjectVisit, type Visit } from '../core/json-scan.ts';
import {
  FactsReader,
  Interner,
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
const NODE = keyTable([
  'resource_type',
  'unique_id',
  'description',
  'schema',
  'name',
  'original_file_path',
  'column_name',
  'test_metadata',
  'depends_on',
  'columns',
]);
/** What a node still has read once its type needs nothing else: resource_type, at NODE's index 0. */
const TYPE_KEY = keyTable(['resource_type']);
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
  /** The fields (a bit each, by their index in NODE) passed by, the node being of a type that needs none of them. */
  skipped: number;
  /** The fields its type reads, as far as it is known (neededBy). */
  needed: number;
}

function newNode(): NodeState {
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
    needed: ALL_FIELDS,
  };
}

/** The fields of NODE (a bit each, by index) each type reads: the first three, every type's. */
const TABLE_FIELDS = 0b10_0011_1111; // resource_type, unique_id, description, schema, name, path, columns
const TEST_FIELDS = 0b01_1100_0111; // and column_name, test_metadata, depends_on
const UNIT_TEST_FIELDS = 0b01_0000_0111; // and depends_on
const OTHER_FIELDS = 0b00_0000_0111;
const ALL_FIELDS = TABLE_FIELDS | TEST_FIELDS;
const TYPE_ONLY = 0b00_0000_0001;
const COLUMNS = 0b10_0000_0000;

/** The fields each kind of node needs read: for every measure, or only for one (what `coverage compute` needs). */
interface Needs {
  table: number;
  test: number;
  unitTest: number;
  other: number;
}
const EVERY_MEASURE: Needs = {
  table: TABLE_FIELDS,
  test: TEST_FIELDS,
  unitTest: UNIT_TEST_FIELDS,
  other: OTHER_FIELDS,
};
/**
 * One measure's needs: `doc` reads no test, `test` and `unit-test` no column descriptions (the
 * catalog's columns are what they count) and no node of the other kind of test. A node passed by
 * still has its type read: that is what says it needs nothing else.
 */
const MEASURE_NEEDS: Record<CoverageType, Needs> = {
  doc: { table: TABLE_FIELDS, test: TYPE_ONLY, unitTest: TYPE_ONLY, other: TYPE_ONLY },
  test: { table: TABLE_FIELDS & ~COLUMNS, test: TEST_FIELDS, unitTest: TYPE_ONLY, other: TYPE_ONLY },
  'unit-test': { table: TABLE_FIELDS & ~COLUMNS, test: TYPE_ONLY, unitTest: UNIT_TEST_FIELDS, other: TYPE_ONLY },
};

function neededBy(needs: Needs, type: string | null): number {
  if (type === null) return ALL_FIELDS;
  return isTableType(type)
    ? needs.table
    : type === 'test'
      ? needs.test
      : type === 'unit_test'
        ? needs.unitTest
        : needs.other;
}

const isTableType = (t: string | null): t is TableType => t !== null && (TABLE_TYPES as readonly string[]).includes(t);

export class ManifestReader extends FactsReader<ManifestFacts> {
  private readonly meta: Record<'dbtVersion' | 'schemaVersion' | 'projectName' | 'generatedAt', string | null> = {
    dbtVersion: null,
    schemaVersion: null,
    projectName: null,
    generatedAt: null,
  };
  private readonly names = new Interner();
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

  /** What each kind of node needs read. */
  private readonly needs: Needs;

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
    this.keepTables = options.tables ?? true;
    this.needs = options.measure === undefined ? EVERY_MEASURE : MEASURE_NEEDS[options.measure];
  }

  protected rootObject(): ObjectVisit {
    return { keys: ROOT, member: (k) => (k === 0 ? this.metadataVisit() : this.sectionVisit()) };
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
      this.cur = newNode();
      this.nodeVisit.keys = NODE;
      return this.nodeVisit;
    },
  };
  private readonly sectionObject: ObjectVisit = { keys: ANY_KEY, member: () => this.nodeOpen };

  /** The node being read (nodes do not nest): the visits below are made once and write into it. */
  private cur: NodeState = newNode();

  private readonly fieldVisits: readonly Visit[] = [
    textVisit((t) => {
      const cur = this.cur;
      cur.type = t;
      cur.needed = neededBy(this.needs, t);
      if (cur.needed === TYPE_ONLY) {
        // Nothing else of this node is read (a test when only `doc` is computed): the rest of it is
        // passed whole. A second resource_type, which dbt never writes, is still seen, and refuses
        // the facts (endNode) if it names a type that needs what was passed.
        cur.skipped |= ALL_FIELDS & ~TYPE_ONLY;
        this.nodeVisit.keys = TYPE_KEY;
      }
    }),
    textVisit((t) => (this.cur.uniqueId = t)),
    describedVisit((yes) => (this.cur.described = yes)),
    strVisit((t) => (this.cur.schema = t)),
    strVisit((t) => (this.cur.name = t)),
    textVisit((t) => (this.cur.path = t)),
    candidateVisit((c) => (this.cur.columnName = c)),
    // test_metadata: an object (a generic test); null or anything else, as if there were none.
    {
      object: () => {
        this.cur.metadata = true;
        return this.testMetadataVisit;
      },
      scalar: () => {
        this.cur.metadata = false;
      },
    },
    { object: () => this.dependsOnVisit },
    // Skipped at byte level when no catalog will need them.
    { object: () => (this.keepTables ? this.columnsVisit : null) },
  ];

  private readonly nodeVisit: ObjectVisit = {
    keys: NODE,
    member: (key) => {
      const k = key as number;
      // Once the node's type is known, the fields other types need are passed by at byte level.
      if ((this.cur.needed & (1 << k)) === 0) {
        this.cur.skipped |= 1 << k;
        return null;
      }
      return this.fieldVisits[k];
    },
    end: () => this.endNode(this.cur),
  };

  private readonly kwargsOpen: Visit = { object: () => this.kwargsVisit };
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
    if ((n.skipped & neededBy(this.needs, type)) !== 0)
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
      if (n.uniqueId !== null && this.seen(n.uniqueId)) return;
      this.models.tests++;
      this.attachTest(n);
    } else if (type === 'unit_test') {
      if (n.uniqueId !== null && this.seen(n.uniqueId)) return;
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
