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
import { keyTable, type ObjectVisit, type Visit } from '../core/json-scan.ts';
import {
  MESSAGE_CHARS,
  type NodeResult,
  type RunResultsFacts,
  type SourceFreshness,
  type SourcesFacts,
} from '../core/run-facts.ts';
import { FactsReader, checkCount, type Limits } from './reader.ts';

const ROOT = keyTable(['metadata', 'results', 'elapsed_time', 'args']);
const METADATA = keyTable(['generated_at', 'dbt_schema_version']);
const ARGS = keyTable(['which']);
const RESULT = keyTable(['unique_id', 'status', 'execution_time', 'adapter_response', 'message']);
const ADAPTER = keyTable(['bytes_processed', 'slot_ms']);
const SOURCE = keyTable(['unique_id', 'status', 'max_loaded_at_time_ago_in_s', 'max_loaded_at']);

const SUCCESSES = new Set(['success', 'pass', 'no-op', 'reused']);

/** A number as written, or null for anything else (or a negative figure no adapter reports). */
function amount(kind: string, text: string | undefined): number | null {
  if (kind !== 'number' || text === undefined) return null;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

const stringOf = (kind: string, text: string | undefined): string | null => (kind === 'string' ? (text ?? null) : null);

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

export class RunResultsReader extends FactsReader<RunResultsFacts> {
  private readonly meta = { generatedAt: null as string | null, schemaVersion: null as string | null };
  private elapsed: number | null = null;
  private which: string | null = null;
  private readonly results: NodeResult[] = [];
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

  protected rootObject(): ObjectVisit {
    return {
      keys: ROOT,
      member: (k) => {
        if (k === 0) return metadataVisit((field, t) => (this.meta[field] = t));
        if (k === 2) return { text: true, scalar: (kind, text) => (this.elapsed = amount(kind, text)) };
        if (k === 3)
          return {
            object: () => ({
              keys: ARGS,
              member: () => ({ text: true, scalar: (kind, text) => (this.which = stringOf(kind, text)) }),
            }),
          };
        return { array: () => ({ item: () => this.resultOpen }) };
      },
    };
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

  private readonly fieldVisits: readonly Visit[] = [
    { text: true, scalar: (kind, text) => (this.cur.id = stringOf(kind, text)) },
    { text: true, scalar: (kind, text) => (this.cur.status = stringOf(kind, text)) },
    { text: true, scalar: (kind, text) => (this.cur.seconds = amount(kind, text)) },
    { object: () => this.adapterVisit },
    {
      text: true,
      scalar: (kind, text) => {
        const message = stringOf(kind, text);
        this.cur.message = message === null ? null : message.slice(0, MESSAGE_CHARS);
      },
    },
  ];

  private readonly resultVisit: ObjectVisit = {
    keys: RESULT,
    member: (k) => this.fieldVisits[k as number],
    end: () => {
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
  };

  private readonly resultOpen: Visit = {
    object: () => {
      this.cur = { id: null, status: null, seconds: null, bytes: null, slots: null, message: null };
      return this.resultVisit;
    },
  };

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

export class SourcesReader extends FactsReader<SourcesFacts> {
  private readonly meta = { generatedAt: null as string | null, schemaVersion: null as string | null };
  private readonly results: SourceFreshness[] = [];
  private cur: SourceFreshness = { id: '', status: '', lagSeconds: null, maxLoadedAt: null };

  constructor(what = 'sources.json', limits: Partial<Limits> = {}) {
    super(what, limits);
  }

  protected rootObject(): ObjectVisit {
    return {
      keys: ROOT,
      member: (k) => {
        if (k === 0) return metadataVisit((field, t) => (this.meta[field] = t));
        if (k === 1) return { array: () => ({ item: () => this.sourceOpen }) };
        return null;
      },
    };
  }

  private readonly fieldVisits: readonly Visit[] = [
    { text: true, scalar: (kind, text) => (this.cur.id = stringOf(kind, text) ?? '') },
    // Fusion writes Pass, Warn and Error; dbt Core pass, warn, error and runtime error.
    { text: true, scalar: (kind, text) => (this.cur.status = (stringOf(kind, text) ?? '').toLowerCase()) },
    { text: true, scalar: (kind, text) => (this.cur.lagSeconds = amount(kind, text)) },
    { text: true, scalar: (kind, text) => (this.cur.maxLoadedAt = stringOf(kind, text)) },
  ];

  private readonly sourceVisit: ObjectVisit = {
    keys: SOURCE,
    member: (k) => this.fieldVisits[k as number],
    end: () => {
      if (this.cur.id === '' || this.cur.status === '') return;
      checkCount(this.results.length + 1, this.limits.tables, 'sources');
      this.results.push(this.cur);
    },
  };

  private readonly sourceOpen: Visit = {
    object: () => {
      this.cur = { id: '', status: '', lagSeconds: null, maxLoadedAt: null };
      return this.sourceVisit;
    },
  };

  protected facts(): SourcesFacts {
    return { generatedAt: this.meta.generatedAt, schemaVersion: this.meta.schemaVersion, results: this.results };
  }
}
