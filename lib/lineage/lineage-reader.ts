/**
 * What the lineage readers share: a document fed in chunks to a validating JSON scanner whose
 * visitors keep only what lineage needs, with the bounds of the facts readers (facts/reader.ts).
 * Unlike those, a value asked for may be up to 1 MiB (a model's compiled SQL, a description), not
 * 64 KiB: past that, the step's lineage is not read (a bound, reported), never its neighbours'.
 * @module
 */
import { keyTable, type ObjectVisit, type Visit } from '../json/json-scan.ts';
import { FactsReader, type Limits } from '../facts/reader.ts';

/** The longest string a lineage reader keeps (compiled SQL, descriptions). */
export const MAX_LINEAGE_TEXT = 1024 * 1024;

/** A facts reader whose visitors may ask for values of up to MAX_LINEAGE_TEXT. */
export abstract class LineageReader<T> extends FactsReader<T> {
  constructor(what: string, limits: Partial<Limits> = {}) {
    super(what, limits, MAX_LINEAGE_TEXT);
  }
}

/** A string's text (or null for anything else), into `set`. */
export const text = (set: (value: string | null) => void): Visit => ({
  text: true,
  scalar: (kind, t) => set(kind === 'string' ? (t ?? null) : null),
  container: () => set(null),
});

/** A non-negative number as written (or null for anything else), into `set`. */
export const amount = (set: (value: number | null) => void): Visit => ({
  text: true,
  scalar: (kind, t) => {
    const n = kind === 'number' && t !== undefined ? Number(t) : Number.NaN;
    set(Number.isFinite(n) && n >= 0 ? n : null);
  },
  container: () => set(null),
});

/** An array of strings (null when it is not an array), into `set`, at most `limit` items. */
export function strings(set: (value: string[] | null) => void, limit: number): Visit {
  return {
    array: () => {
      const items: string[] = [];
      set(items);
      return {
        item: () => ({
          text: true,
          scalar: (kind, t) => {
            if (kind === 'string' && t !== undefined && items.length < limit) items.push(t);
          },
        }),
      };
    },
    scalar: () => set(null),
    object: () => {
      set(null);
      return null;
    },
  };
}

/** An object whose members named in `members` are visited as given, the rest passed by. */
export function members(visits: Record<string, Visit | (() => Visit | null)>, end?: () => void): ObjectVisit {
  const names = Object.keys(visits);
  const keys = keyTable(names);
  return {
    keys,
    member: (k) => {
      const v = visits[names[k as number]!]!;
      return typeof v === 'function' ? v() : v;
    },
    ...(end ? { end } : {}),
  };
}
