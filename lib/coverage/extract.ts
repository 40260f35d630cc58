/**
 * The facts coverage needs, read from manifest.json and catalog.json as they stream by (while they
 * are harvested, or from a file or a bucket). @streamparser/json's tokenizer reads the bytes; a walk
 * over its tokens keeps only what coverage uses (a node's type, name, path, columns' documentation;
 * the tests per column), and builds no object for the rest: memory holds those facts, never a node,
 * let alone the document, and the garbage a 1 GiB manifest makes is its strings alone.
 * @module
 */
import { Tokenizer, TokenType } from '@streamparser/json';
import type { Readable } from 'node:stream';
import { HarvesterError } from '../core/errors.ts';
import {
  TABLE_TYPES,
  normalizePath,
  type CatalogFacts,
  type CatalogTable,
  type ManifestFacts,
  type TableType,
} from '../core/coverage.ts';

/** An artifact coverage cannot be read from: not JSON, cut short, or not a manifest or catalog. */
export class CoverageInputError extends HarvesterError {
  constructor(message: string) {
    super('COVERAGE_INPUT', message);
  }
}

export interface Collector<T> {
  write(chunk: Uint8Array): void;
  /** The facts, once the whole document was read; throws CoverageInputError otherwise. */
  finish(): T;
}

type Primitive = string | number | boolean | null;
type Key = string | number | undefined;

/**
 * What a walk reports: a container opening or closing, and a primitive value. `depth` counts the
 * containers around a value (for open and close: including the container itself, the root being
 * 1), and `keys[i]` is the current key (or index) of the i-th of them, so a value's path is
 * keys[0..depth-1]: a node object of the manifest opens at depth 3 (root, nodes, the node), and
 * its `name` is a value at depth 3 with keys[2] === 'name'.
 */
interface Walker {
  open(depth: number, keys: readonly Key[], array: boolean): void;
  close(depth: number, keys: readonly Key[]): void;
  value(depth: number, keys: readonly Key[], value: Primitive): void;
}

const WHITESPACE = new Set([0x20, 0x0a, 0x0d, 0x09]);

/** A JSON document fed in chunks, walked token by token. */
class Walk {
  // A string buffer: strings are built in it rather than by concatenation (faster by a third on a manifest).
  private readonly tokenizer = new Tokenizer({ stringBufferSize: 65_536 });
  private readonly keys: Key[] = [];
  private readonly arrays: boolean[] = [];
  private readonly awaitingKey: boolean[] = [];
  private readonly what: string;
  private error: Error | undefined;
  private started = false;
  /** The root object has closed: any other token is data after the document. */
  private done = false;

  constructor(what: string, walker: Walker) {
    this.what = what;
    this.tokenizer.onToken = ({ token, value }) => {
      const depth = this.arrays.length;
      if (this.done) {
        this.error ??= new Error('data after the end of the JSON document');
        return;
      }
      try {
        switch (token) {
          case TokenType.LEFT_BRACE:
          case TokenType.LEFT_BRACKET: {
            const array = token === TokenType.LEFT_BRACKET;
            walker.open(depth + 1, this.keys, array);
            this.arrays.push(array);
            this.awaitingKey.push(!array);
            this.keys.push(array ? 0 : undefined);
            return;
          }
          case TokenType.RIGHT_BRACE:
          case TokenType.RIGHT_BRACKET:
            walker.close(depth, this.keys);
            this.arrays.pop();
            this.awaitingKey.pop();
            this.keys.pop();
            if (depth === 1) this.done = true;
            return;
          case TokenType.COLON:
            this.awaitingKey[depth - 1] = false;
            return;
          case TokenType.COMMA:
            if (this.arrays[depth - 1]) this.keys[depth - 1] = (this.keys[depth - 1] as number) + 1;
            else this.awaitingKey[depth - 1] = true;
            return;
          case TokenType.STRING:
            if (this.awaitingKey[depth - 1]) {
              this.keys[depth - 1] = value as string;
              return;
            }
            walker.value(depth, this.keys, value as string);
            return;
          case TokenType.NUMBER:
          case TokenType.TRUE:
          case TokenType.FALSE:
          case TokenType.NULL:
            walker.value(depth, this.keys, value as Primitive);
            return;
          default:
            return;
        }
      } catch (err) {
        this.error ??= err instanceof Error ? err : new Error(String(err));
      }
    };
    this.tokenizer.onError = (err: Error) => {
      this.error ??= err;
    };
  }

  write(chunk: Uint8Array): void {
    if (this.error) return;
    if (this.tokenizer.isEnded) {
      // After the document, only whitespace may follow.
      if (chunk.some((b) => !WHITESPACE.has(b))) this.error = new Error('data after the end of the JSON document');
      return;
    }
    if (!this.started) {
      const first = chunk.find((b) => !WHITESPACE.has(b));
      if (first === undefined) return;
      this.started = true;
      if (first !== 0x7b) {
        this.error = new Error('it is not a JSON object');
        return;
      }
    }
    this.tokenizer.write(chunk);
    // The document ends when its root object closes.
    if (this.started && this.arrays.length === 0 && !this.tokenizer.isEnded) this.tokenizer.end();
  }

  end(): void {
    if (this.error) throw new CoverageInputError(`${this.what} cannot be read for coverage: ${this.error.message}`);
    if (!this.started || this.arrays.length > 0 || !this.tokenizer.isEnded)
      throw new CoverageInputError(`${this.what} ended before its JSON document did (cut short?)`);
  }
}

/** Python's truthiness of a primitive, for dbt-coverage's `a or b or c`. */
const truthy = (v: Primitive): boolean => v !== null && v !== false && v !== 0 && v !== '';
/** dbt-coverage's test of a description: anything but null (or absent) and "". */
const describes = (v: Primitive | undefined): boolean => v !== undefined && v !== null && v !== '';

/**
 * More tables than any dbt project has (the largest known have tens of thousands of models): past
 * this, a manifest's tables are not kept, so that memory stays bounded whatever the manifest.
 */
export const MAX_TABLES = 100_000;

/** A column's name, or a container where dbt-coverage reads one (truthy when not empty, never a name). */
type NameValue = { kind: 'value'; value: Primitive } | { kind: 'container'; empty: boolean };

interface NodeState {
  id: string;
  uniqueId?: string;
  type?: string;
  description?: Primitive;
  schema?: Primitive;
  name?: Primitive;
  path?: Primitive;
  columnName?: NameValue;
  hasMetadata: boolean;
  metadataName?: Primitive;
  kwargColumn?: NameValue;
  kwargArg?: NameValue;
  dependsOn: string[];
  columns: Map<string, boolean>;
  column?: { name?: Primitive; description?: Primitive };
}

const META_KEYS: Record<
  string,
  keyof Pick<ManifestFacts, 'dbtVersion' | 'schemaVersion' | 'projectName' | 'generatedAt'>
> = {
  dbt_version: 'dbtVersion',
  dbt_schema_version: 'schemaVersion',
  project_name: 'projectName',
  generated_at: 'generatedAt',
};

/**
 * The manifest's facts. With `tables`, every source, model, seed and snapshot is kept (name, path,
 * documented columns), to be matched with a catalog, up to `maxTables`; without, only counts and
 * tests are.
 */
export function manifestCollector(options: { tables: boolean; maxTables?: number }): Collector<ManifestFacts> {
  const maxTables = options.maxTables ?? MAX_TABLES;
  const facts: ManifestFacts = {
    dbtVersion: null,
    schemaVersion: null,
    projectName: null,
    generatedAt: null,
    tables: new Map(),
    tablesKept: options.tables,
    tests: new Map(),
    models: { total: 0, documented: 0, tested: 0, tests: 0 },
  };
  const testedModels = new Set<string>();
  let node: NodeState | undefined;
  /** The container being read as a name (column_name, kwargs.column_name, kwargs.arg), and its depth. */
  let nameContainer: { target: NameValue & { kind: 'container' }; depth: number } | undefined;

  const inNodes = (keys: readonly Key[]): boolean => keys[0] === 'nodes' || keys[0] === 'sources';
  const nameSlot = (depth: number, keys: readonly Key[]): 'columnName' | 'kwargColumn' | 'kwargArg' | undefined => {
    if (depth === 3 && keys[2] === 'column_name') return 'columnName';
    if (depth === 5 && keys[2] === 'test_metadata' && keys[3] === 'kwargs')
      return keys[4] === 'column_name' ? 'kwargColumn' : keys[4] === 'arg' ? 'kwargArg' : undefined;
    return undefined;
  };

  const walk = new Walk('manifest.json', {
    open(depth, keys) {
      if (nameContainer) nameContainer.target.empty = false;
      if (!inNodes(keys)) return;
      if (depth === 3) node = { id: String(keys[1]), hasMetadata: false, dependsOn: [], columns: new Map() };
      else if (node && depth === 4 && keys[2] === 'test_metadata') node.hasMetadata = true;
      else if (node && depth === 5 && keys[2] === 'columns') node.column = {};
      if (node && !nameContainer) {
        const slot = nameSlot(depth - 1, keys);
        if (slot) {
          const target = { kind: 'container' as const, empty: true };
          node[slot] = target;
          nameContainer = { target, depth };
        }
      }
    },
    close(depth, keys) {
      if (nameContainer?.depth === depth) nameContainer = undefined;
      if (!node || !inNodes(keys)) return;
      if (depth === 5 && keys[2] === 'columns' && node.column) {
        const name = node.column.name;
        if (typeof name === 'string') node.columns.set(name.toLowerCase(), describes(node.column.description));
        node.column = undefined;
      } else if (depth === 3) {
        endNode(node);
        node = undefined;
      }
    },
    value(depth, keys, value) {
      if (nameContainer) {
        nameContainer.target.empty = false;
        return;
      }
      if (keys[0] === 'metadata' && depth === 2 && typeof keys[1] === 'string') {
        const field = META_KEYS[keys[1]];
        if (field) facts[field] = typeof value === 'string' ? value : null;
        return;
      }
      if (!node || !inNodes(keys)) return;
      if (depth === 3) {
        switch (keys[2]) {
          case 'resource_type':
            node.type = typeof value === 'string' ? value : undefined;
            return;
          case 'unique_id':
            node.uniqueId = typeof value === 'string' ? value : undefined;
            return;
          case 'description':
            node.description = value;
            return;
          case 'schema':
            node.schema = value;
            return;
          case 'name':
            node.name = value;
            return;
          case 'original_file_path':
            node.path = value;
            return;
          case 'column_name':
            node.columnName = { kind: 'value', value };
            return;
          case 'test_metadata':
            // null: as if there were none (dbt writes test_metadata only for generic tests).
            node.hasMetadata = false;
            return;
          default:
            return;
        }
      }
      if (depth === 4 && keys[2] === 'test_metadata' && keys[3] === 'name') node.metadataName = value;
      else if (depth === 5 && keys[2] === 'test_metadata' && keys[3] === 'kwargs') {
        if (keys[4] === 'column_name') node.kwargColumn = { kind: 'value', value };
        else if (keys[4] === 'arg') node.kwargArg = { kind: 'value', value };
      } else if (depth === 5 && keys[2] === 'depends_on' && keys[3] === 'nodes' && typeof value === 'string')
        node.dependsOn.push(value);
      else if (depth === 5 && keys[2] === 'columns' && node.column) {
        if (keys[4] === 'name') node.column.name = value;
        else if (keys[4] === 'description') node.column.description = value;
      }
    },
  });

  function endNode(n: NodeState): void {
    const uniqueId = n.uniqueId ?? n.id;
    if (n.type === 'model') {
      facts.models.total++;
      if (describes(n.description)) facts.models.documented++;
    }
    if (n.type === 'test') {
      facts.models.tests++;
      attachTest(n);
      return;
    }
    if (!facts.tablesKept || n.type === undefined || !(TABLE_TYPES as readonly string[]).includes(n.type)) return;
    const part = (v: Primitive | undefined): string =>
      typeof v === 'string' ? v : v === undefined || v === null ? 'None' : String(v);
    facts.tables.set(uniqueId, {
      uniqueId,
      resourceType: n.type as TableType,
      name: `${part(n.schema)}.${part(n.name)}`.toLowerCase(),
      path: normalizePath(typeof n.path === 'string' ? n.path : ''),
      columns: n.columns,
    });
    if (facts.tables.size > maxTables) {
      facts.tablesKept = false;
      facts.tables.clear();
    }
  }

  /** dbt-docs' rule: the table of a generic test, and its column. */
  function attachTest(n: NodeState): void {
    if (n.dependsOn.length === 0) return;
    if (!n.hasMetadata) {
      // A singular test: it tests every model it reads.
      for (const d of n.dependsOn) if (d.startsWith('model.')) testedModels.add(d);
      return;
    }
    const table = n.metadataName === 'relationships' ? n.dependsOn[n.dependsOn.length - 1]! : n.dependsOn[0]!;
    if (table.startsWith('model.')) testedModels.add(table);
    const candidates = [n.columnName, n.kwargColumn, n.kwargArg];
    const first = candidates.find((c) => c !== undefined && (c.kind === 'container' ? !c.empty : truthy(c.value)));
    if (first?.kind !== 'value' || typeof first.value !== 'string') return;
    const perColumn = facts.tests.get(table) ?? new Map<string, number>();
    facts.tests.set(table, perColumn);
    const name = first.value.toLowerCase();
    perColumn.set(name, (perColumn.get(name) ?? 0) + 1);
  }

  return {
    write: (chunk) => walk.write(chunk),
    finish: () => {
      walk.end();
      facts.models.tested = testedModels.size;
      return facts;
    },
  };
}

/** The catalog's tables and columns, in dbt-coverage's order. */
export function catalogCollector(): Collector<CatalogFacts> {
  const sources = new Map<string, CatalogTable>();
  const nodes = new Map<string, CatalogTable>();
  let table:
    | {
        key: string;
        section: Map<string, CatalogTable>;
        uniqueId?: string;
        columns: Map<string, true>;
        column?: string;
      }
    | undefined;
  const walk = new Walk('catalog.json', {
    open(depth, keys) {
      if (depth === 3 && (keys[0] === 'nodes' || keys[0] === 'sources'))
        table = { key: String(keys[1]), section: keys[0] === 'sources' ? sources : nodes, columns: new Map() };
    },
    close(depth, keys) {
      if (!table) return;
      if (depth === 5 && keys[2] === 'columns') {
        if (table.column !== undefined) table.columns.set(table.column.toLowerCase(), true);
        table.column = undefined;
      } else if (depth === 3) {
        table.section.set(table.key, { uniqueId: table.uniqueId ?? table.key, columns: [...table.columns.keys()] });
        table = undefined;
      }
    },
    value(depth, keys, value) {
      if (!table) return;
      if (depth === 3 && keys[2] === 'unique_id' && typeof value === 'string') table.uniqueId = value;
      else if (depth === 5 && keys[2] === 'columns' && keys[4] === 'name' && typeof value === 'string')
        table.column = value;
    },
  });
  return {
    write: (chunk) => walk.write(chunk),
    finish: () => {
      walk.end();
      // {**sources, **nodes} without test. nodes (tables of stored test failures).
      const merged = new Map(sources);
      for (const [id, t] of nodes) merged.set(id, t);
      return { tables: [...merged].filter(([id]) => !id.startsWith('test.')).map(([, t]) => t) };
    },
  };
}

/** Reads a whole stream into a collector. */
export async function collect<T>(source: Readable, collector: Collector<T>): Promise<T> {
  for await (const chunk of source)
    collector.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
  return collector.finish();
}
