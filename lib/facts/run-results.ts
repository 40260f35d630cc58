/**
 * The facts the history needs of run_results.json and of sources.json or freshness.json (`dbt
 * freshness`, dbt v2: the same entries, for models too, with `resource_type`), read as they stream
 * by: per node its id, status, execution time, the adapter's bytes processed and slot
 * milliseconds, and dbt's message for a result that is not a success, and which command wrote the
 * file (`args.which`); per source or model its freshness status (lower-cased: Fusion writes `Pass`)
 * and lag. Compiled SQL, timings and the rest are skipped at byte level. Fields a writer leaves
 * out (Fusion's run_results.json has no `message`, `compiled` or `compiled_code` on some nodes) are
 * null.
 * @module
 */
import { keyTable, type ObjectVisit, type Visit } from '../json/json-scan.ts';
import {
  MESSAGE_CHARS,
  type NodeResult,
  type RunResultsFacts,
  type SourceFreshness,
  type SourcesFacts,
} from '../core/run-facts.ts';
import { fields, type FieldSpec, type Fields } from './fields.ts';
import { FactsReader, checkCount, type Limits } from './reader.ts';

const ROOT = keyTable(['metadata', 'results', 'elapsed_time', 'args']);
const METADATA = keyTable(['generated_at', 'dbt_schema_version']);
const ARGS = keyTable(['which']);
const ADAPTER = keyTable(['bytes_processed', 'slot_ms']);

const SUCCESSES = new Set(['success', 'pass', 'no-op', 'reused']);

/** A number as written, or null for anything else (or a negative figure no adapter reports). */
function amount(kind: string, text: string | undefined): number | null {
  if (kind !== 'number' || text === undefined) return null;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

const stringOf = (kind: string, text: string | undefined): string | null => (kind === 'string' ? (text ?? null) : null);

/** A scalar read as `read` makes it. */
const scalarVisit = <T>(read: (kind: string, text: string | undefined) => T, set: (value: T) => void): Visit => ({
  text: true,
  scalar: (kind, text) => set(read(kind, text)),
});

/** A visit of a list of records, each opened fresh (`open`), read with `record`'s fields, and kept by `end`. */
function recordsVisit(start: () => void, open: () => void, record: Fields<FieldSpec>, end: () => void): Visit {
  const visits = record.visits;
  const visit: ObjectVisit = { keys: record.keys, member: (k) => visits[k as number], end };
  const item: Visit = {
    object: () => {
      open();
      return visit;
    },
  };
  return {
    array: () => {
      // A repeated `results`: JSON keeps its last value, read whole again (the list is held).
      start();
      return { item: () => item };
    },
  };
}

/** A visit of the root's metadata: generated_at and dbt_schema_version, into `set`. */
function metadataVisit(set: (field: 'generatedAt' | 'schemaVersion', text: string | null) => void): Visit {
  return {
    object: () => ({
      keys: METADATA,
      member: (k) => ({
        text: true,
        scalar: (kind, text) => set(k === 0 ? 'generatedAt' : 'schemaVersion', stringOf(kind, text)),
      }),
    }),
  };
}

/**
 * What both files' readers share: the root's `metadata` (generated_at, dbt_schema_version) and its
 * `results`, read as `results` says; any other root member as `member` says.
 */
abstract class ResultsFileReader<T> extends FactsReader<T> {
  protected readonly meta = { generatedAt: null as string | null, schemaVersion: null as string | null };

  protected abstract readonly resultsVisit: Visit;
  protected member(_key: number): Visit | null {
    return null;
  }

  protected rootObject(): ObjectVisit {
    return {
      keys: ROOT,
      member: (k) => {
        if (k === 0) return metadataVisit((field, t) => (this.meta[field] = t));
        if (k === 1) return this.resultsVisit;
        return this.member(k as number);
      },
    };
  }
}

export class RunResultsReader extends ResultsFileReader<RunResultsFacts> {
  private elapsed: number | null = null;
  private which: string | null = null;
  private results: NodeResult[] = [];
  private cur: {
    id: string | null;
    status: string | null;
    seconds: number | null;
    bytes: number | null;
    slots: number | null;
    message: string | null;
  } = { id: null, status: null, seconds: null, bytes: null, slots: null, message: null };

  constructor(what = 'run_results.json', limits: Partial<Limits> = {}) {
    super(what, limits);
  }

  protected override member(k: number): Visit | null {
    if (k === 2) return scalarVisit(amount, (v) => (this.elapsed = v));
    if (k === 3)
      return { object: () => ({ keys: ARGS, member: () => scalarVisit(stringOf, (v) => (this.which = v)) }) };
    return null;
  }

  private readonly adapterVisit: ObjectVisit = {
    keys: ADAPTER,
    member: (k) => ({
      text: true,
      scalar: (kind, text) => {
        if (k === 0) this.cur.bytes = amount(kind, text);
        else this.cur.slots = amount(kind, text);
      },
    }),
  };

  /** A result's fields, declared once. */
  private readonly result = fields([
    { key: 'unique_id', visit: scalarVisit(stringOf, (v) => (this.cur.id = v)) },
    { key: 'status', visit: scalarVisit(stringOf, (v) => (this.cur.status = v)) },
    { key: 'execution_time', visit: scalarVisit(amount, (v) => (this.cur.seconds = v)) },
    {
      key: 'adapter_response',
      // A repeated adapter_response: its last value, read whole again.
      visit: {
        object: () => {
          this.cur.bytes = null;
          this.cur.slots = null;
          return this.adapterVisit;
        },
      },
    },
    {
      key: 'message',
      visit: scalarVisit(stringOf, (v) => (this.cur.message = v === null ? null : v.slice(0, MESSAGE_CHARS))),
    },
  ]);

  protected readonly resultsVisit = recordsVisit(
    () => (this.results = []),
    () => (this.cur = { id: null, status: null, seconds: null, bytes: null, slots: null, message: null }),
    this.result,
    () => {
      const c = this.cur;
      if (c.id === null || c.status === null) return;
      checkCount(this.results.length + 1, this.limits.nodes, 'results');
      this.results.push({
        id: c.id,
        status: c.status,
        seconds: c.seconds,
        bytesProcessed: c.bytes,
        slotMs: c.slots,
        message: SUCCESSES.has(c.status) ? null : c.message,
      });
    },
  );

  protected facts(): RunResultsFacts {
    return {
      generatedAt: this.meta.generatedAt,
      schemaVersion: this.meta.schemaVersion,
      elapsedSeconds: this.elapsed,
      which: this.which,
      results: this.results,
    };
  }
}

export class SourcesReader extends ResultsFileReader<SourcesFacts> {
  private results: SourceFreshness[] = [];
  private cur: SourceFreshness = { id: '', status: '', lagSeconds: null, maxLoadedAt: null };

  constructor(what = 'sources.json', limits: Partial<Limits> = {}) {
    super(what, limits);
  }

  /** A source's (or model's) fields, declared once. Fusion writes Pass, Warn and Error; dbt Core pass, warn, error and runtime error. */
  private readonly source = fields([
    { key: 'unique_id', visit: scalarVisit(stringOf, (v) => (this.cur.id = v ?? '')) },
    { key: 'status', visit: scalarVisit(stringOf, (v) => (this.cur.status = (v ?? '').toLowerCase())) },
    { key: 'max_loaded_at_time_ago_in_s', visit: scalarVisit(amount, (v) => (this.cur.lagSeconds = v)) },
    { key: 'max_loaded_at', visit: scalarVisit(stringOf, (v) => (this.cur.maxLoadedAt = v)) },
  ]);

  protected readonly resultsVisit = recordsVisit(
    () => (this.results = []),
    () => (this.cur = { id: '', status: '', lagSeconds: null, maxLoadedAt: null }),
    this.source,
    () => {
      if (this.cur.id === '' || this.cur.status === '') return;
      checkCount(this.results.length + 1, this.limits.tables, 'sources');
      this.results.push(this.cur);
    },
  );

  protected facts(): SourcesFacts {
    return { generatedAt: this.meta.generatedAt, schemaVersion: this.meta.schemaVersion, results: this.results };
  }
}
