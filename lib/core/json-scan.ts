/**
 * A streaming JSON scanner: it validates a document as JSON.parse would (every byte: structure,
 * strings and their escapes, numbers, literals, nothing after the document), in chunks, holding
 * none of it, and hands a visitor only the parts it asks for. What no visitor asks for is skipped
 * at byte level: a string is found by `indexOf` of its closing quote and checked for control
 * characters and escapes in one loop, never decoded; a key is matched against the visitor's table
 * by its bytes. So reading a manifest costs about what checking its bytes costs, not what building
 * it would (JSON.parse of a 420 MB manifest builds about a gigabyte of objects).
 *
 * Bounded whatever the content: nesting is held as one byte a level (at most MAX_DEPTH), and what
 * a visitor asks to see (a string, a number's text) at most `maxText` bytes. A value past that
 * bound is a JsonBoundError for the facts (the visitor is dropped, the scan goes on validating), not
 * a broken document.
 * @module
 */

/** A document that is not JSON, or ended before it did: what and where. */
export class JsonScanError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'JsonScanError';
    this.offset = offset;
  }
}

/** A valid document whose facts could not all be read within the bounds. */
export class JsonBoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonBoundError';
  }
}

export type ScalarKind = 'string' | 'number' | 'true' | 'false' | 'null';

/** What to do with one value; a missing callback means "not asked". */
export interface Visit {
  /** An object: its visitor, or null to skip its contents. */
  object?(): ObjectVisit | null | undefined;
  /** An array: its visitor, or null to skip its contents. */
  array?(): ArrayVisit | null | undefined;
  /** A container that was skipped or visited, once it closes, and whether it was empty. */
  container?(kind: 'object' | 'array', empty: boolean): void;
  /**
   * A scalar: its kind, its text when `text` is set (a string decoded, a number as written), and
   * whether a string was empty.
   */
  scalar?(kind: ScalarKind, text: string | undefined, empty: boolean): void;
  text?: boolean;
}

export interface ObjectVisit {
  /**
   * The keys this object cares about, compiled (`keyTable`): member() is then called with a key's
   * index, and only for these keys; other members are skipped. Without it, member() gets every key's
   * text.
   */
  keys?: KeyTable;
  member(key: number | string): Visit | null | undefined;
  end?(): void;
}

export interface ArrayVisit {
  item(): Visit | null | undefined;
  end?(): void;
}

/** Keys compiled for matching by their bytes. */
export interface KeyTable {
  readonly names: readonly string[];
  readonly byText: ReadonlyMap<string, number>;
  /** Length -> [index, bytes] of the ASCII keys of that length. */
  readonly byLength: ReadonlyMap<number, readonly [number, Uint8Array][]>;
}

export function keyTable(names: readonly string[]): KeyTable {
  const byLength = new Map<number, [number, Uint8Array][]>();
  names.forEach((name, i) => {
    const bytes = Buffer.from(name, 'utf8');
    const list = byLength.get(bytes.length) ?? [];
    list.push([i, bytes]);
    byLength.set(bytes.length, list);
  });
  return { names, byText: new Map(names.map((n, i) => [n, i])), byLength };
}

export interface ScanOptions {
  /** The most bytes of one string or number a visitor may ask to see (default 1 MiB). */
  maxText?: number;
  /** The deepest nesting (default MAX_DEPTH). */
  maxDepth?: number;
  /** Accept a UTF-8 byte order mark before the document, as the artifacts' first-byte rule does. */
  byteOrderMark?: boolean;
}

const BOM = [0xef, 0xbb, 0xbf];

export const MAX_DEPTH = 100_000;

// Expected next token, per container and at the root.
const ROOT = 0; // a value
const VALUE = 1; // a value (after `:` or `,` in an array)
const VALUE_OR_END = 2; // after `[`
const KEY_OR_END = 3; // after `{`
const KEY = 4; // after `,` in an object
const COLON = 5;
const COMMA_OR_END = 6;
const DONE = 7;

// Inside a token that may span chunks.
const T_NONE = 0;
const T_STRING = 1;
const T_NUMBER = 2;
const T_LITERAL = 3;

// Number sub-states, as JSON's grammar reads them.
const N_MINUS = 0; // after '-'
const N_ZERO = 1; // a leading 0
const N_INT = 2; // digits
const N_DOT = 3; // after '.'
const N_FRAC = 4; // fraction digits
const N_E = 5; // after 'e'
const N_ESIGN = 6; // after the exponent's sign
const N_EXP = 7; // exponent digits

const OBJECT = 1;
const ARRAY = 2;

/** The literals, by their first byte. */
const LITERALS = new Map<number, [ScalarKind, Uint8Array]>(
  (['true', 'false', 'null'] as const).map((word) => [word.charCodeAt(0), [word, Buffer.from(word)]]),
);

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
/** The characters a backslash may escape. */
const ESCAPES = new Uint8Array(256);
for (const c of '"\\/bfnrtu') ESCAPES[c.charCodeAt(0)] = 1;

interface Frame {
  /** The visitor of this container, or null when its contents are skipped. */
  object: ObjectVisit | null;
  array: ArrayVisit | null;
  /** What the container's own value visit asked for, told when it closes. */
  visit: Visit | null;
  empty: boolean;
}

export class JsonScanner {
  private readonly maxText: number;
  private readonly maxDepth: number;
  /** One byte a level: OBJECT or ARRAY. */
  private kinds = new Uint8Array(64);
  private depth = 0;
  /** Visited containers, from the root down; deeper levels are skipped. */
  private readonly frames: Frame[] = [];
  private state = ROOT;
  private offset = 0;
  /** The visit of the value about to start (for the root: the root's). */
  private pending: Visit | null;

  // A token in progress across chunks.
  private token = T_NONE;
  private isKey = false;
  /** Bytes of a string or number being collected for a visitor (or a key to match), else null. */
  private collected: Buffer[] | null = null;
  private collectedBytes = 0;
  /** Bytes of the string so far (escapes included): none means "". */
  private stringBytes = 0;
  private escapes = false;
  /** Inside an escape: -1 none, 0 the escaped character next, 1..4 hex digits of \u left. */
  private escape = -1;
  private numberState = N_MINUS;
  private literal: Uint8Array | null = null;
  private literalKind: ScalarKind = 'null';
  private literalAt = 0;
  private tokenVisit: Visit | null = null;

  /** The next byte of a leading byte order mark to expect, or -1. */
  private bomAt: number;

  /** Why the facts are incomplete, when a bound was passed (the document may still be valid). */
  bound: JsonBoundError | null = null;

  constructor(root: Visit | null, options: ScanOptions = {}) {
    this.pending = root;
    this.maxText = options.maxText ?? 1024 * 1024;
    this.maxDepth = options.maxDepth ?? MAX_DEPTH;
    this.bomAt = options.byteOrderMark ? 0 : -1;
  }

  /** Bytes read so far. */
  get bytes(): number {
    return this.offset;
  }

  write(chunk: Uint8Array): void {
    const len = chunk.length;
    let i = 0;
    // A UTF-8 byte order mark may open the document (RFC 8259 lets a reader ignore it).
    while (this.bomAt >= 0 && i < len) {
      if (this.offset + i === this.bomAt && chunk[i] === BOM[this.bomAt]) {
        this.bomAt = this.bomAt === 2 ? -1 : this.bomAt + 1;
        i++;
      } else {
        if (this.bomAt > 0) this.fail(chunk, i, 'the rest of a byte order mark');
        this.bomAt = -1;
      }
    }
    while (i < len) {
      if (this.token !== T_NONE) {
        i = this.continueToken(chunk, i);
        continue;
      }
      const b = chunk[i]!;
      // Whitespace between tokens.
      if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) {
        i++;
        continue;
      }
      switch (this.state) {
        case ROOT:
        case VALUE:
        case VALUE_OR_END:
          if (b === 0x5d && this.state === VALUE_OR_END) {
            i = this.close(ARRAY, chunk, i);
            continue;
          }
          i = this.startValue(chunk, i);
          continue;
        case KEY_OR_END:
        case KEY:
          if (b === 0x7d && this.state === KEY_OR_END) {
            i = this.close(OBJECT, chunk, i);
            continue;
          }
          if (b !== 0x22) this.fail(chunk, i, 'a key (a string in double quotes)');
          i = this.startString(chunk, i, true);
          continue;
        case COLON:
          if (b !== 0x3a) this.fail(chunk, i, '":" after a key');
          this.state = VALUE;
          i++;
          continue;
        case COMMA_OR_END: {
          const kind = this.kinds[this.depth - 1];
          if (b === 0x2c) {
            this.state = kind === OBJECT ? KEY : VALUE;
            i++;
            continue;
          }
          if ((b === 0x7d && kind === OBJECT) || (b === 0x5d && kind === ARRAY)) {
            i = this.close(kind, chunk, i);
            continue;
          }
          this.fail(chunk, i, kind === OBJECT ? '"," or "}"' : '"," or "]"');
          break;
        }
        case DONE:
          this.fail(chunk, i, 'nothing after the end of the document');
      }
    }
    this.offset += len;
  }

  /** The document ended: throws JsonScanError when it ended before its value did. */
  end(): void {
    if (this.token === T_NUMBER && this.depth === 0 && this.numberEnds()) {
      this.finishNumber();
      this.afterValue();
    }
    if (this.state !== DONE) {
      throw new JsonScanError(
        this.offset === 0 ? 'the document is empty' : 'the document ended before its JSON value did (cut short?)',
        this.offset,
      );
    }
  }

  // ---- values --------------------------------------------------------------------------------

  private startValue(chunk: Uint8Array, i: number): number {
    const b = chunk[i]!;
    // An object's member was resolved by its key; an array's item is asked for as it starts.
    let visit = this.pending;
    this.pending = null;
    if (this.depth > 0 && this.kinds[this.depth - 1] === ARRAY && this.frames.length === this.depth) {
      const array = this.frames[this.depth - 1]!.array;
      visit = array ? this.safely(() => array.item() ?? null) : null;
    }
    if (b === 0x7b || b === 0x5b) {
      const kind = b === 0x7b ? OBJECT : ARRAY;
      this.push(kind, chunk, i);
      // Visited containers get a frame; inside a skipped one, nothing does.
      if (this.frames.length === this.depth - 1 && visit) {
        const object = kind === OBJECT && visit.object ? this.safely(() => visit.object!() ?? null) : null;
        const array = kind === ARRAY && visit.array ? this.safely(() => visit.array!() ?? null) : null;
        if (object || array || visit.container) this.frames.push({ object, array, visit, empty: true });
      }
      this.state = kind === OBJECT ? KEY_OR_END : VALUE_OR_END;
      return i + 1;
    }
    this.markNotEmpty();
    if (b === 0x22) {
      this.tokenVisit = visit;
      return this.startString(chunk, i, false);
    }
    if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
      this.tokenVisit = visit;
      this.token = T_NUMBER;
      this.numberState = b === 0x2d ? N_MINUS : b === 0x30 ? N_ZERO : N_INT;
      this.collected = visit?.scalar && visit.text ? [] : null;
      this.collectedBytes = 0;
      this.collect(chunk, i, i + 1);
      return i + 1;
    }
    const lit = LITERALS.get(b);
    if (lit) {
      this.tokenVisit = visit;
      this.token = T_LITERAL;
      [this.literalKind, this.literal] = lit;
      this.literalAt = 1;
      return i + 1;
    }
    return this.fail(chunk, i, 'a JSON value');
  }

  private markNotEmpty(): void {
    const frame = this.frames.length === this.depth && this.depth > 0 ? this.frames[this.depth - 1] : undefined;
    if (frame) frame.empty = false;
  }

  private push(kind: number, chunk: Uint8Array, i: number): void {
    if (this.depth > 0) this.markNotEmpty();
    if (this.depth >= this.maxDepth) this.fail(chunk, i, `at most ${this.maxDepth} levels of nesting`);
    if (this.depth === this.kinds.length) {
      const more = new Uint8Array(this.kinds.length * 2);
      more.set(this.kinds);
      this.kinds = more;
    }
    this.kinds[this.depth++] = kind;
  }

  private close(kind: number, _chunk: Uint8Array, i: number): number {
    this.depth--;
    if (this.frames.length === this.depth + 1) {
      const frame = this.frames.pop()!;
      frame.object?.end?.();
      frame.array?.end?.();
      this.safely(() => frame.visit?.container?.(kind === OBJECT ? 'object' : 'array', frame.empty));
    }
    this.afterValue();
    return i + 1;
  }

  private afterValue(): void {
    this.state = this.depth === 0 ? DONE : COMMA_OR_END;
  }

  // ---- strings ------------------------------------------------------------------------------

  private startString(chunk: Uint8Array, i: number, isKey: boolean): number {
    this.token = T_STRING;
    this.isKey = isKey;
    this.stringBytes = 0;
    this.escapes = false;
    this.escape = -1;
    const frame = isKey && this.frames.length === this.depth ? this.frames[this.depth - 1] : undefined;
    const wanted = isKey ? frame?.object != null : Boolean(this.tokenVisit?.scalar && this.tokenVisit.text);
    this.collected = wanted ? [] : null;
    this.collectedBytes = 0;
    if (isKey) this.markNotEmpty();
    return this.continueString(chunk, i + 1);
  }

  /**
   * Scans string content from `i`: the position after its closing quote, or the chunk's end. The
   * closing quote is found by indexOf; the bytes before it are checked in one loop for control
   * characters and backslashes, whose escapes are checked as they come (across chunks too).
   */
  private continueString(chunk: Uint8Array, i: number): number {
    const len = chunk.length;
    let j = i;
    for (;;) {
      while (this.escape >= 0 && j < len) {
        const c = chunk[j]!;
        if (this.escape === 0) {
          if (!ESCAPES[c]) this.fail(chunk, j, 'a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)');
          this.escape = c === 0x75 ? 4 : -1;
        } else {
          if (!HEX[c]) this.fail(chunk, j, 'four hex digits after \\u');
          this.escape = this.escape === 1 ? -1 : this.escape - 1;
        }
        j++;
      }
      const quote = j >= len ? -1 : chunk.indexOf(0x22, j);
      const stop = quote === -1 ? len : quote;
      let k = j;
      for (; k < stop; k++) {
        const c = chunk[k]!;
        if (c === 0x5c) break;
        if (c < 0x20) this.fail(chunk, k, 'no control character inside a string (it must be escaped)');
      }
      if (k < stop) {
        this.escapes = true;
        this.escape = 0;
        j = k + 1;
        continue;
      }
      this.stringBytes += stop - i;
      this.collect(chunk, i, stop);
      if (quote === -1) return len;
      this.token = T_NONE;
      this.finishString(chunk, quote);
      return quote + 1;
    }
  }

  private finishString(chunk: Uint8Array, quoteAt: number): void {
    const collected = this.collected;
    this.collected = null;
    if (this.isKey) {
      this.state = COLON;
      const frame = this.frames.length === this.depth ? this.frames[this.depth - 1] : undefined;
      if (!frame?.object || collected === null) {
        this.pending = null;
        return;
      }
      const object = frame.object;
      let key: number | string | undefined;
      if (object.keys) {
        key = this.matchKey(object.keys, collected, chunk, quoteAt);
        this.pending = key === undefined ? null : this.safely(() => object.member(key!) ?? null);
      } else {
        key = this.text(collected);
        this.pending = this.safely(() => object.member(key!) ?? null);
      }
      return;
    }
    const visit = this.tokenVisit;
    this.tokenVisit = null;
    if (visit?.scalar) {
      const text = collected === null ? undefined : this.text(collected);
      this.safely(() => visit.scalar!('string', text, this.stringBytes === 0));
    }
    this.afterValue();
  }

  /** A key's index in the table, or undefined for a key the object does not care about. */
  private matchKey(table: KeyTable, collected: Buffer[], _chunk: Uint8Array, _quoteAt: number): number | undefined {
    if (!this.escapes && collected.length === 1) {
      const bytes = collected[0]!;
      const candidates = table.byLength.get(bytes.length);
      if (!candidates) return undefined;
      for (const [index, want] of candidates) if (bytes.equals(want)) return index;
      return undefined;
    }
    return table.byText.get(this.text(collected));
  }

  /** The text of a string's collected bytes: JSON's own decoding when it had escapes. */
  private text(collected: Buffer[]): string {
    const raw = collected.length === 1 ? collected[0]! : Buffer.concat(collected);
    return this.escapes ? (JSON.parse(`"${raw.toString('utf8')}"`) as string) : raw.toString('utf8');
  }

  /** Keeps bytes [from, to) of the current token for its visitor, within the bound. */
  private collect(chunk: Uint8Array, from: number, to: number): void {
    if (this.collected === null || to <= from) return;
    this.collectedBytes += to - from;
    if (this.collectedBytes > this.maxText) {
      this.overBound(`a value longer than ${this.maxText} bytes`);
      return;
    }
    // A copy: the caller may reuse its chunk once write() returns.
    this.collected.push(Buffer.from(chunk.subarray(from, to)));
  }

  /** A bound was passed: the facts stop here (every visitor is dropped), the validation goes on. */
  private overBound(what: string): void {
    this.bound ??= new JsonBoundError(`the document holds ${what}, past what is read for its facts`);
    this.collected = null;
    this.tokenVisit = null;
    this.pending = null;
    for (const f of this.frames) {
      f.object = null;
      f.array = null;
      f.visit = null;
    }
  }

  /** A visitor's own failure drops the facts, never the validation. */
  private safely<T>(fn: () => T): T | null {
    if (this.bound) return null;
    try {
      return fn();
    } catch (err) {
      this.overBound(`a part its reader could not take (${err instanceof Error ? err.message : String(err)})`);
      return null;
    }
  }

  // ---- numbers and literals -----------------------------------------------------------------

  private continueToken(chunk: Uint8Array, i: number): number {
    if (this.token === T_STRING) return this.continueString(chunk, i);
    if (this.token === T_LITERAL) {
      const lit = this.literal!;
      while (i < chunk.length && this.literalAt < lit.length) {
        if (chunk[i] !== lit[this.literalAt]) this.fail(chunk, i, `"${this.literalKind}"`);
        this.literalAt++;
        i++;
      }
      if (this.literalAt === lit.length) {
        this.token = T_NONE;
        const visit = this.tokenVisit;
        this.tokenVisit = null;
        if (visit?.scalar) this.safely(() => visit.scalar!(this.literalKind, undefined, false));
        this.afterValue();
      }
      return i;
    }
    return this.continueNumber(chunk, i);
  }

  private continueNumber(chunk: Uint8Array, i: number): number {
    const start = i;
    const len = chunk.length;
    for (; i < len; i++) {
      const c = chunk[i]!;
      const digit = c >= 0x30 && c <= 0x39;
      switch (this.numberState) {
        case N_MINUS:
          if (!digit) this.fail(chunk, i, 'a digit after "-"');
          this.numberState = c === 0x30 ? N_ZERO : N_INT;
          continue;
        case N_ZERO:
        case N_INT:
          if (digit && this.numberState === N_INT) continue;
          if (digit) this.fail(chunk, i, 'no digit after a leading 0');
          if (c === 0x2e) {
            this.numberState = N_DOT;
            continue;
          }
          if (c === 0x65 || c === 0x45) {
            this.numberState = N_E;
            continue;
          }
          break;
        case N_DOT:
          if (!digit) this.fail(chunk, i, 'a digit after "."');
          this.numberState = N_FRAC;
          continue;
        case N_FRAC:
          if (digit) continue;
          if (c === 0x65 || c === 0x45) {
            this.numberState = N_E;
            continue;
          }
          break;
        case N_E:
          if (c === 0x2b || c === 0x2d) {
            this.numberState = N_ESIGN;
            continue;
          }
          if (!digit) this.fail(chunk, i, 'a digit in the exponent');
          this.numberState = N_EXP;
          continue;
        case N_ESIGN:
          if (!digit) this.fail(chunk, i, 'a digit in the exponent');
          this.numberState = N_EXP;
          continue;
        case N_EXP:
          if (digit) continue;
          break;
      }
      // The number ended before this byte, which is read as the next token.
      this.collect(chunk, start, i);
      this.finishNumber();
      this.afterValue();
      return i;
    }
    this.collect(chunk, start, len);
    return len;
  }

  private numberEnds(): boolean {
    return (
      this.numberState === N_ZERO ||
      this.numberState === N_INT ||
      this.numberState === N_FRAC ||
      this.numberState === N_EXP
    );
  }

  private finishNumber(): void {
    if (!this.numberEnds()) throw new JsonScanError('a number that ends before its digits do', this.offset);
    this.token = T_NONE;
    const visit = this.tokenVisit;
    this.tokenVisit = null;
    const collected = this.collected;
    this.collected = null;
    if (visit?.scalar) {
      const text = collected === null ? undefined : Buffer.concat(collected).toString('latin1');
      this.safely(() => visit.scalar!('number', text, false));
    }
  }

  private fail(chunk: Uint8Array, i: number, expected: string): never {
    const found = i < chunk.length ? JSON.stringify(String.fromCharCode(chunk[i]!)) : 'the end';
    throw new JsonScanError(`not JSON: expected ${expected}, found ${found}`, this.offset + i);
  }
}

/** Scans a whole text or buffer (tests, small answers): throws JsonScanError when it is not JSON. */
export function scanAll(input: Uint8Array | string, root: Visit | null, options?: ScanOptions): JsonScanner {
  const scanner = new JsonScanner(root, options);
  scanner.write(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  scanner.end();
  return scanner;
}
