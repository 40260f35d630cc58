/**
 * A record's fields declared once: each field's key, its visit, and what it is for. From the list
 * come the scanner's key table (the keys in the order given), the visit of each key index, and a
 * bit per field, so that a reader that passes some fields by (a node whose type needs none of them)
 * asks for a mask of the fields it wants, never aligns a key list, a handler array and bit masks by
 * hand.
 * @module
 */
import { keyTable, type KeyTable, type Visit } from '../json/json-scan.ts';

export interface FieldSpec {
  readonly key: string;
  /** What is read of the field's value; null to pass it by. */
  readonly visit: Visit | null;
}

export interface Fields<F extends FieldSpec> {
  readonly list: readonly F[];
  readonly keys: KeyTable;
  /** Every field's bit. */
  readonly all: number;
  /** The visit of each field, by its key index in `keys` (an array, for the hot path). */
  readonly visits: readonly (Visit | null)[];
  /** The visit of the field at a key index of `keys`. */
  visit(index: number): Visit | null;
  /** A field's bit, by its key. */
  bit(key: F['key']): number;
  /** The bits of the fields that pass `filter`. */
  mask(filter: (field: F) => boolean): number;
}

export function fields<F extends FieldSpec>(list: readonly F[]): Fields<F> {
  if (list.length > 30) throw new Error('a record reads at most 30 fields (a bit each)');
  const keys = keyTable(list.map((f) => f.key));
  const index = new Map(list.map((f, i) => [f.key, i]));
  const visits = list.map((f) => f.visit);
  return {
    list,
    keys,
    all: (1 << list.length) - 1,
    visits,
    visit: (i) => visits[i] ?? null,
    bit: (key) => {
      const i = index.get(key);
      if (i === undefined) throw new Error(`no field ${key}`);
      return 1 << i;
    },
    mask: (filter) => list.reduce((m, f, i) => (filter(f) ? m | (1 << i) : m), 0),
  };
}
