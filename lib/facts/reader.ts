/**
 * What every facts reader shares: a document fed in chunks (as it is harvested, or from a file or
 * a bucket) to a validating JSON scanner (json/json-scan.ts) whose visitors keep only the facts
 * asked for; the two ways it can fail; and the bounds that keep its memory small whatever the
 * document holds.
 * @module
 */
import { Transform } from 'node:stream';
import { pythonStrOfNumber } from '../coverage/python-format.ts';
import { HarvesterError } from '../core/errors.ts';
import { JsonBoundError, JsonScanError, JsonScanner, type ObjectVisit, type Visit } from '../json/json-scan.ts';

/**
 * An artifact that is not a whole document of its kind (JSON, Parquet), or ended before it did: it
 * is not to be stored. What a reader throws to fail the stream it reads.
 */
export class ArtifactContentError extends HarvesterError {}

/** An artifact that is not JSON, or ended before its document did: it is not to be stored. */
export class ArtifactJsonError extends ArtifactContentError {
  constructor(what: string, cause: JsonScanError) {
    super('ARTIFACT_JSON', `${what} is not a whole JSON document: ${cause.message}`, { cause, exitCode: 2 });
  }
}

/** What reads an artifact as its bytes pass: checks it, keeps what it reads, and says so once it ends. */
export interface ArtifactReader<T> {
  /** Throws ArtifactContentError as soon as the bytes cannot be the document. */
  write(chunk: Uint8Array): void;
  /** Its facts, once the whole document was read: ArtifactContentError when it was not whole. */
  finish(): T;
}

/**
 * A valid artifact whose facts could not all be kept within the bounds below: the artifact is
 * stored, the facts (coverage, run health) of that step are skipped with one warning.
 */
export class FactsBoundError extends HarvesterError {
  constructor(what: string, cause: JsonBoundError) {
    super('FACTS_BOUND', `${what}: facts not read, ${cause.message}`, { cause, exitCode: 2 });
  }
}

/**
 * The bounds, whatever an artifact holds, counted as the facts are read (never only once a table
 * closes), so that a reader stops at them holding no more than they allow. A name, id or path
 * longer than MAX_TEXT bytes (dbt's are a few hundred at most) stops the facts. Tables and columns
 * are counted: the largest project measured (scripts/bench.ts, a public project copied 300 times:
 * 23,400 tables, 216,000 catalog columns) keeps its facts in about 25 MB of heap; the limits are
 * ten times the largest project the coverage issue describes (23,700 tables, 859,500 columns), so a
 * real project never meets them. One table holds at most MAX_TABLE_COLUMNS columns (ten times
 * BigQuery's own limit of 10,000 a table), and the distinct column names kept at most MAX_NAMES: a
 * hostile catalog of millions of columns in one table, or of millions of distinct names, stops
 * there, within tens of megabytes, and only its facts are dropped.
 */
export const MAX_TEXT = 64 * 1024;
export const MAX_TABLES = 250_000;
export const MAX_COLUMNS = 8_000_000;
export const MAX_TABLE_COLUMNS = 100_000;
export const MAX_NAMES = 1_000_000;
/** Nodes of a manifest (tables, tests, unit tests, and the rest), each a small record. */
export const MAX_NODES = 1_000_000;

/** The counts a reader keeps at most (tests lower them; the defaults are the constants above). */
export interface Limits {
  tables: number;
  columns: number;
  /** Columns of one table. */
  tableColumns: number;
  /** Distinct column names kept (interned). */
  names: number;
  nodes: number;
}

export const LIMITS: Limits = {
  tables: MAX_TABLES,
  columns: MAX_COLUMNS,
  tableColumns: MAX_TABLE_COLUMNS,
  names: MAX_NAMES,
  nodes: MAX_NODES,
};

/**
 * A repeated key: JSON (JSON.parse, Python's json, dbt-coverage) keeps its last value. A reader
 * takes a repeated field's last value where it can (a scalar, or a container it reads again
 * whole); where the first value's facts are already counted (a manifest's `nodes` read twice) it
 * cannot take them back, and its facts are refused with this, never merged.
 */
export function repeatedKey(where: string, key: string): JsonBoundError {
  return new JsonBoundError(
    `${where} repeats the key "${key}": JSON keeps its last value, and the facts of the first are already counted, so none are read`,
  );
}

/** The keys (by their index in a key table) an object has shown so far. */
export class KeysSeen {
  private seen = 0;
  /** Notes a key; true when the object showed it before. */
  again(key: number): boolean {
    const bit = 1 << key;
    const before = (this.seen & bit) !== 0;
    this.seen |= bit;
    return before;
  }
  reset(): void {
    this.seen = 0;
  }
}

/** Throws the bound a count passed. */
export function checkCount(count: number, limit: number, what: string): void {
  if (count > limit) throw new JsonBoundError(`more than ${limit.toLocaleString('en-US')} ${what}`);
}

/**
 * One string object for equal texts (a column name repeated over thousands of tables is kept once),
 * at most `limit` of them: past it, the facts stop (a bound, not a document error).
 */
export class Interner {
  private readonly seen = new Map<string, string>();
  private readonly limit: number;
  constructor(limit = MAX_NAMES) {
    this.limit = limit;
  }
  of(text: string): string {
    const known = this.seen.get(text);
    if (known !== undefined) return known;
    checkCount(this.seen.size + 1, this.limit, 'distinct column names');
    this.seen.set(text, text);
    return text;
  }
}

/** A reader of one JSON artifact's facts, fed its bytes as they come. */
export abstract class FactsReader<T> implements ArtifactReader<T> {
  protected readonly what: string;
  protected readonly limits: Limits;
  private readonly scanner: JsonScanner;

  /** `maxText`: the longest value a visitor may ask to see (a reader of compiled SQL asks for more). */
  constructor(what: string, limits: Partial<Limits> = {}, maxText = MAX_TEXT) {
    this.what = what;
    this.limits = { ...LIMITS, ...limits };
    // The document's root object is visited as rootObject() says, asked when it opens (the
    // subclass is built by then); anything else at the root is only checked.
    // A UTF-8 byte order mark may open an artifact (dbt-cloud/artifact-body.ts lets it through).
    this.scanner = new JsonScanner({ object: () => this.rootObject() }, { maxText, byteOrderMark: true });
  }

  /** The visit of the document's root object; null to check it without reading anything. */
  protected abstract rootObject(): ObjectVisit | null;

  /** Throws ArtifactJsonError as soon as the bytes stop being JSON. */
  write(chunk: Uint8Array): void {
    try {
      this.scanner.write(chunk);
    } catch (err) {
      throw err instanceof JsonScanError ? new ArtifactJsonError(this.what, err) : err;
    }
  }

  /** The facts, once the whole document was read: ArtifactJsonError or FactsBoundError otherwise. */
  finish(): T {
    try {
      this.scanner.end();
    } catch (err) {
      throw err instanceof JsonScanError ? new ArtifactJsonError(this.what, err) : err;
    }
    if (this.scanner.bound) throw new FactsBoundError(this.what, this.scanner.bound);
    return this.facts();
  }

  /** Bytes read so far. */
  get bytes(): number {
    return this.scanner.bytes;
  }

  protected abstract facts(): T;
}

/** A document checked whole, keeping nothing: every JSON artifact the harvester stores passes one. */
export class JsonCheck extends FactsReader<void> {
  protected rootObject(): null {
    return null;
  }
  protected facts(): void {}
}

/** What a reader made of a whole file: its facts, or why it has none (a bound passed). */
export type Read<T> = { facts: T } | { error: Error };

/**
 * Passes the bytes on through a reader, failing before its end when what passes is not one whole
 * JSON document (at the byte where it stops being JSON, or at its end when it was cut short): a
 * writer that gets the error leaves nothing behind (the stores' rule), so a body cut short or
 * replaced by a proxy's page is never written. A reader that passed a bound only loses its facts:
 * `done` gets them, or the bound.
 */
export function readThrough<T>(reader: ArtifactReader<T>, done: (read: Read<T>) => void = () => {}): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, next) {
      try {
        reader.write(chunk);
      } catch (err) {
        next(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      next(null, chunk);
    },
    flush(next) {
      try {
        done({ facts: reader.finish() });
      } catch (err) {
        if (err instanceof ArtifactContentError) {
          next(err);
          return;
        }
        done({ error: err instanceof Error ? err : new Error(String(err)) });
      }
      next();
    },
  });
}

/** A pass-through that checks one whole JSON document: every artifact a command writes passes one. */
export const jsonChecked = (what: string): Transform => readThrough(new JsonCheck(what));

/** Reads a whole stream into a reader. */
export async function readFacts<T>(source: AsyncIterable<unknown>, reader: ArtifactReader<T>): Promise<T> {
  for await (const chunk of source)
    reader.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
  return reader.finish();
}

// Visits that keep one field of a node as a primitive, with Python's reading of it (dbt-coverage's).

/** A string's text; anything else, null. */
export function textVisit(set: (text: string | null) => void): Visit {
  return {
    text: true,
    scalar: (kind, text) => set(kind === 'string' ? (text ?? null) : null),
    container: () => set(null),
  };
}

/** Python's `str(value)` of a scalar (None, True, False, a number as Python prints it); of a container, its brackets. */
export function strVisit(set: (text: string) => void): Visit {
  return {
    text: true,
    scalar: (kind, text) =>
      set(
        kind === 'null'
          ? 'None'
          : kind === 'true'
            ? 'True'
            : kind === 'false'
              ? 'False'
              : kind === 'number'
                ? pythonStrOfNumber(text ?? '0')
                : (text ?? ''),
      ),
    container: (kind) => set(kind === 'object' ? '{}' : '[]'),
  };
}

/** dbt-coverage's test of a description: anything but null (or absent) and "". */
export function describedVisit(set: (yes: boolean) => void): Visit {
  return {
    scalar: (kind, _text, empty) => set(kind !== 'null' && !(kind === 'string' && empty)),
    container: () => set(true),
  };
}

/**
 * A candidate of `a or b or c` (dbt-coverage's choice of a test's column): undefined when falsy in
 * Python (absent, null, false, 0, "", empty), its text when a truthy string, null when truthy but
 * not a string (which dbt-coverage cannot lower-case: the test is left out).
 */
export type Candidate = string | null | undefined;

export function candidateVisit(set: (candidate: Candidate) => void): Visit {
  return {
    text: true,
    scalar: (kind, text, empty) => {
      if (kind === 'string') set(empty ? undefined : (text ?? null));
      else if (kind === 'number') set(Number(text) !== 0 ? null : undefined);
      else set(kind === 'true' ? null : undefined);
    },
    container: (_kind, empty) => set(empty ? undefined : null),
  };
}
