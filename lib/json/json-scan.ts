/**
 * A streaming JSON scanner: it validates a document as JSON.parse would (every byte: structure,
 * strings and their escapes, numbers, literals, nothing after the document), in chunks, holding
 * none of it, and hands a visitor only the parts it asks for. What no visitor asks for is skipped
 * at byte level: a string is found by `indexOf` of its closing quote and checked for control
 * characters and escapes in one loop, never decoded; a key is matched against the visitor's table
 * by its bytes. So reading a manifest costs about what checking its bytes costs, not what building
 * it would (JSON.parse of a 420 MB manifest builds about a gigabyte of objects). A WebAssembly
 * kernel (json-skip.ts) does the same checks with strings sixteen bytes at a time, inside skipped
 * containers, for skipped strings, and over the members of a visited object that its key table does
 * not name; this file's loops do them where the kernel stops short, or where there is none.
 *
 * Bounded whatever the content: nesting is held as one bit a level (ten million levels, which
 * JSON.parse accepts, hold 1.25 MB; at most MAX_DEPTH), and what
 * a visitor asks to see (a string, a number's text) at most `maxText` bytes. A value past that
 * bound is a JsonBoundError for the facts (the visitor is dropped, the scan goes on validating), not
 * a broken document.
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { KERNEL_LEVELS, KERNELS, type KernelLender, NAMED, type SkipKernel } from './json-skip.ts';

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
   * text. It is read again before each key: a visitor may narrow it for the members still to come
   * (member() then gets indexes in the new table).
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
  /** By byte length: the keys of that length, their index and bytes. */
  readonly byLength: readonly (readonly KeyBytes[] | undefined)[];
  /** Every key is wanted, none decoded: member() gets -1 (ANY_KEY). */
  readonly any?: true;
}

/** For an object whose every member is wanted but whose keys are not read (the columns of a table). */
export const ANY_KEY: KeyTable = { names: [], byText: new Map(), byLength: [], any: true };

interface KeyBytes {
  readonly index: number;
  readonly bytes: Uint8Array;
}

export function keyTable(names: readonly string[]): KeyTable {
  const byLength: KeyBytes[][] = [];
  names.forEach((name, index) => {
    const bytes = Buffer.from(name, 'utf8');
    const list = byLength[bytes.length] ?? [];
    list.push({ index, bytes });
    byLength[bytes.length] = list;
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
  /** Skip with the WebAssembly kernel (json-skip.ts) where the runtime has it (default true). */
  kernel?: boolean;
  /**
   * The smallest chunk the kernel reads (default 8 KiB): a document of a few kilobytes read whole is
   * checked as fast by the loop, and borrows no kernel.
   */
  kernelFrom?: number;
  /** Who lends the kernel (default the process's, KERNELS): a test's own to count instances. */
  lender?: KernelLender;
}

const BOM = [0xef, 0xbb, 0xbf];

/** The bytes of the UTF-8 character a lead byte starts (1 for a byte that starts none). */
function utf8Length(lead: number): number {
  return lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 1;
}

/** Whether the bytes (fewer than a whole character) can begin a valid UTF-8 character. */
function isUtf8Prefix(bytes: Uint8Array): boolean {
  const n = utf8Length(bytes[0]!);
  if (n === 1 || bytes.length >= n) return false;
  const probe = Buffer.alloc(n, 0x80);
  probe.set(bytes);
  // The smallest continuation completing it: valid only if what is there already is.
  for (let k = bytes.length; k < n; k++) probe[k] = 0x80;
  if (isUtf8(probe)) return true;
  for (let k = bytes.length; k < n; k++) probe[k] = 0xbf;
  return isUtf8(probe);
}

/** The index of the first byte of `bytes` that is not (the start of) a valid UTF-8 character. */
function firstNotUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const n = utf8Length(b);
    if (n === 1 || i + n > bytes.length || !isUtf8(bytes.subarray(i, i + n))) return i;
    i += n;
  }
  return bytes.length;
}

/** Visited levels read in place (members, nested); deeper ones by the general loop. */
const FAST_LEVELS = 256;

/** The smallest chunk the kernel reads, by default. */
const KERNEL_FROM = 8 * 1024;

/** Deeper than any document of a few GB can nest: 32 MB of bits. */
export const MAX_DEPTH = 2 ** 28;

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
/** The bytes a string's content stops at: its closing quote, a backslash, a control character. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[0x22] = 1;
STRING_STOP[0x5c] = 1;
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
  /** One bit a level: set for an array, clear for an object (kindAt). */
  private kinds = new Uint8Array(64);
  private depth = 0;
  /** Visited containers, from the root down; deeper levels are skipped. */
  private readonly frames: Frame[] = [];
  private readonly framePool: Frame[] = [];
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
    this.useKernel = options.kernel !== false;
    this.kernelFrom = options.kernelFrom ?? KERNEL_FROM;
    this.lender = options.lender ?? KERNELS;
  }

  private readonly useKernel: boolean;
  private readonly kernelFrom: number;
  private readonly lender: KernelLender;
  /** The kernel lent to this scanner: undefined before it needs one, null once given back or where there is none. */
  private lent: SkipKernel | null | undefined;
  /** The kernel lent to this scanner, borrowed when it first needs one (null where there is none). */
  private get kernel(): SkipKernel | null {
    if (this.lent === undefined) this.lent = this.useKernel ? this.lender.lend() : null;
    return this.lent;
  }
  /** Gives the kernel back: the document ended or failed; should it be written on, the loop reads alone. */
  private giveBack(): void {
    if (this.lent) this.lender.giveBack(this.lent);
    this.lent = null;
    this.writeKernel = null;
  }
  /** This scanner's writes so far: which of its chunks its kernel holds. */
  private writeStamp = 0;

  /** The kernel for this write's chunk (set as the write starts): none for a chunk smaller than kernelFrom. */
  private writeKernel: SkipKernel | null = null;

  /** Bytes read so far. */
  get bytes(): number {
    return this.offset;
  }

  write(chunk: Uint8Array): void {
    // JSON exchanged between systems is UTF-8 (RFC 8259 §8.1): bytes that are not are refused where
    // they stand, after whatever else is wrong before them.
    try {
      const bad = this.utf8Invalid(chunk);
      if (bad !== null) {
        const at = this.offset + bad;
        if (bad > 0) this.scan(chunk.subarray(0, bad));
        throw new JsonScanError('not valid UTF-8 (JSON exchanged between systems must be UTF-8: RFC 8259 §8.1)', at);
      }
      this.scan(chunk);
    } catch (err) {
      // The document failed (or a visitor did): the kernel goes back for the next scanner.
      this.giveBack();
      throw err;
    }
  }

  /** What the previous chunk ended with of a character not yet whole (0 to 3 bytes). */
  private utf8Tail: Buffer = Buffer.alloc(0);

  /**
   * Where the chunk's first byte that is not UTF-8 is, relative to the chunk's start (negative: in
   * the character the previous chunk began), or null when there is none.
   */
  private utf8Invalid(chunk: Uint8Array): number | null {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    if (this.utf8Tail.length > 0) {
      const tail = this.utf8Tail;
      const need = utf8Length(tail[0]!) - tail.length;
      const joined = Buffer.concat([tail, bytes.subarray(0, need)]);
      if (joined.length < tail.length + need) {
        if (!isUtf8Prefix(joined)) return -tail.length;
        this.utf8Tail = joined;
        return null;
      }
      if (!isUtf8(joined)) return -tail.length;
      this.utf8Tail = Buffer.alloc(0);
      start = need;
    }
    // A character cut by the chunk's end waits for the next chunk.
    let cut = bytes.length;
    for (let k = 1; k <= 3 && cut - k >= start; k++) {
      const b = bytes[cut - k]!;
      if ((b & 0xc0) === 0x80) continue;
      if (b >= 0xc0 && utf8Length(b) > k) cut -= k;
      break;
    }
    if (isUtf8(bytes.subarray(start, cut))) {
      if (cut < bytes.length) {
        if (!isUtf8Prefix(bytes.subarray(cut))) return cut;
        this.utf8Tail = Buffer.from(bytes.subarray(cut));
      }
      return null;
    }
    return start + firstNotUtf8(bytes.subarray(start, cut));
  }

  private scan(chunk: Uint8Array): void {
    const len = chunk.length;
    let i = 0;
    this.writeStamp++;
    this.writeKernel = len >= this.kernelFrom ? this.kernel : null;
    this.view = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
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
      // Inside a container no visitor asked for: the fast loop, which only checks.
      if (this.depth > this.frames.length) {
        const j = this.skipRegion(chunk, i);
        if (j !== i || this.depth <= this.frames.length) {
          i = j;
          continue;
        }
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
          i = this.key(chunk, i);
          continue;
        case COLON:
          if (b !== 0x3a) this.fail(chunk, i, '":" after a key');
          this.state = VALUE;
          i++;
          continue;
        case COMMA_OR_END: {
          const kind = kindAt(this.kinds, this.depth - 1);
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

  /**
   * Checks the inside of a skipped container (skipHere below says how and where it stops): by the
   * WebAssembly kernel where there is one, which does the same sixteen string bytes at a time; by
   * this thread's loop where the kernel stops short of what the loop reads (a region nested deeper
   * than KERNEL_LEVELS below the visited levels, a chunk too large to copy) or has none.
   */
  private skipRegion(chunk: Uint8Array, i: number): number {
    const kernel = this.writeKernel;
    const floor = this.frames.length;
    const open = this.depth - floor;
    if (kernel !== null && open < KERNEL_LEVELS && kernel.load(chunk, this.writeStamp)) {
      const kinds = this.kinds;
      for (let l = 0; l < open; l++) kernel.setStack(l, kindAt(kinds, floor + l));
      const limit = Math.min(this.maxDepth, kinds.length * 8, floor + KERNEL_LEVELS);
      i = kernel.skip(i, chunk.length, this.state, this.depth, floor, limit);
      const depth = kernel.depth;
      for (let l = kernel.low; l < depth; l++) setKind(kinds, l, kernel.stack(l - floor));
      this.state = kernel.state;
      this.depth = depth;
      if (depth <= floor || i >= chunk.length) return i;
    }
    return this.skipHere(chunk, i);
  }

  /**
   * Checks the inside of a skipped container with local state, as fast as it can: the usual next
   * byte of each state is tested first (whitespace last: artifacts are mostly compact), a key's
   * colon is taken with it, strings are passed by plainEnd (one comparison a byte) or
   * skipStringEnd, numbers and literals checked in place. It returns where it stops: the byte after
   * the container closes back to a visited level, the end of the chunk, or a token it leaves to the
   * general path (one that crosses the chunk's end, or a byte that is not JSON, which the general
   * path names).
   */
  private skipHere(chunk: Uint8Array, i: number): number {
    const len = chunk.length;
    const floor = this.frames.length;
    const kinds = this.kinds;
    let state = this.state;
    let depth = this.depth;
    /** The kind of the innermost container (depth > 0 here). */
    let kind = kindAt(kinds, depth - 1);
    while (i < len) {
      const b = chunk[i]!;
      if (state === COMMA_OR_END) {
        if (b === 0x2c) {
          state = kind === OBJECT ? KEY : VALUE;
          i++;
          continue;
        }
        if ((b === 0x7d && kind === OBJECT) || (b === 0x5d && kind === ARRAY)) {
          i++;
          depth--;
          if (depth <= floor) {
            state = depth === 0 ? DONE : COMMA_OR_END;
            break;
          }
          kind = kindAt(kinds, depth - 1);
          continue;
        }
      } else if (state === KEY || state === KEY_OR_END) {
        if (b === 0x22) {
          let end = plainEnd(chunk, i + 1);
          if (end < 0) {
            end = this.skipStringEnd(chunk, i + 1);
            if (end < 0) break;
          }
          i = end;
          // The colon, nearly always right after the key.
          if (i < len && chunk[i] === 0x3a) {
            i++;
            state = VALUE;
          } else state = COLON;
          continue;
        }
        if (b === 0x7d && state === KEY_OR_END) {
          i++;
          depth--;
          if (depth <= floor) {
            state = depth === 0 ? DONE : COMMA_OR_END;
            break;
          }
          kind = kindAt(kinds, depth - 1);
          state = COMMA_OR_END;
          continue;
        }
      } else if (state === COLON) {
        if (b === 0x3a) {
          state = VALUE;
          i++;
          continue;
        }
      } else {
        // A value (VALUE, VALUE_OR_END).
        if (b === 0x22) {
          let end = plainEnd(chunk, i + 1);
          if (end < 0) {
            end = this.skipStringEnd(chunk, i + 1);
            if (end < 0) break;
          }
          i = end;
          state = COMMA_OR_END;
          continue;
        }
        if (b === 0x7b || b === 0x5b) {
          if (depth >= this.maxDepth || depth >>> 3 >= kinds.length) break;
          kind = b === 0x7b ? OBJECT : ARRAY;
          setKind(kinds, depth++, kind);
          state = kind === OBJECT ? KEY_OR_END : VALUE_OR_END;
          i++;
          continue;
        }
        if (b === 0x5d && state === VALUE_OR_END) {
          i++;
          depth--;
          if (depth <= floor) {
            state = depth === 0 ? DONE : COMMA_OR_END;
            break;
          }
          kind = kindAt(kinds, depth - 1);
          state = COMMA_OR_END;
          continue;
        }
        if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
          const end = numberEnd(chunk, i);
          if (end < 0) break;
          i = end;
          state = COMMA_OR_END;
          continue;
        }
        if (b === 0x74 || b === 0x66 || b === 0x6e) {
          const end = literalEnd(chunk, i, b);
          if (end < 0) break;
          i = end;
          state = COMMA_OR_END;
          continue;
        }
      }
      if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) {
        i++;
        continue;
      }
      // Not JSON here: the general path says what was expected.
      break;
    }
    this.state = state;
    this.depth = depth;
    return i;
  }

  /**
   * Where a string whose content starts at `from` ends within the chunk (after its closing quote),
   * or -1 when it goes on past the chunk (the general path reads those). Its escapes and the absence
   * of control characters are checked on the way: by the kernel sixteen bytes at a time where there
   * is one; else here, plain bytes one comparison each (plainEnd), then stringStop's words.
   */
  private skipStringEnd(chunk: Uint8Array, from: number): number {
    const kernel = this.writeKernel;
    if (kernel?.load(chunk, this.writeStamp)) {
      const end = kernel.string(from, chunk.length);
      if (end >= 0) {
        this.escaped = kernel.escaped;
        return end;
      }
    }
    this.escaped = false;
    const plain = plainEnd(chunk, from);
    if (plain >= 0) return plain;
    const len = chunk.length;
    let k = from;
    for (;;) {
      k = this.stringStop(chunk, k, len);
      if (k >= len) return -1;
      const c = chunk[k]!;
      if (c === 0x22) return k + 1;
      if (c !== 0x5c) this.fail(chunk, k, 'no control character inside a string (it must be escaped)');
      // An escape: \X, or \uXXXX.
      this.escaped = true;
      const e = chunk[k + 1];
      if (e === undefined) return -1;
      if (!ESCAPES[e]) this.fail(chunk, k + 1, 'a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)');
      if (e === 0x75) {
        if (k + 6 > len) return -1;
        for (let h = k + 2; h < k + 6; h++) if (!HEX[chunk[h]!]) this.fail(chunk, h, 'four hex digits after \\u');
        k += 6;
      } else k += 2;
    }
  }

  /**
   * The first quote, backslash or control character in [from, to), or `to`: byte by byte up to a
   * word boundary, then four bytes at a time (a word with none of them is passed in a few
   * operations: the has-zero-byte test on the word xor'ed with '"' and with '\\', and the has-less
   * test for 0x20), then byte by byte to the exact place.
   */
  private stringStop(chunk: Uint8Array, from: number, to: number): number {
    let k = from;
    // Most strings are short (keys, names): a byte loop whose usual byte costs one comparison.
    const short = Math.min(to, from + 24);
    for (; k < short; k++) {
      const c = chunk[k]!;
      if (c < 0x23 || c === 0x5c) {
        if (c === 0x22 || c === 0x5c || c < 0x20) return k;
      }
    }
    if (k === to) return to;
    const base = chunk.byteOffset;
    while (k < to && ((base + k) & 3) !== 0) {
      const c = chunk[k]!;
      if (c === 0x22 || c === 0x5c || c < 0x20) return k;
      k++;
    }
    if (to - k >= 8) {
      const words = this.wordsOfChunk(chunk);
      let w = (base + k) >>> 2;
      const end = (base + to) >>> 2;
      for (; w < end; w++) {
        const x = words[w]!;
        const q = x ^ 0x22222222;
        const b = x ^ 0x5c5c5c5c;
        if ((((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b) | ((x - 0x20202020) & ~x)) & 0x80808080) break;
      }
      k = w * 4 - base;
    }
    for (; k < to; k++) {
      const c = chunk[k]!;
      if (c === 0x22 || c === 0x5c || c < 0x20) return k;
    }
    return to;
  }

  /** The document ended: throws JsonScanError when it ended before its value did. */
  end(): void {
    this.giveBack();
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
    if (this.depth > 0 && kindAt(this.kinds, this.depth - 1) === ARRAY && this.frames.length === this.depth) {
      const array = this.frames[this.depth - 1]!.array;
      visit = array ? this.item(array) : null;
    }
    if (b === 0x7b || b === 0x5b) {
      const kind = b === 0x7b ? OBJECT : ARRAY;
      this.push(kind, i);
      // Visited containers get a frame; inside a skipped one, nothing does.
      if (this.frames.length === this.depth - 1 && visit) {
        const object = kind === OBJECT && visit.object ? (this.open(visit, OBJECT) as ObjectVisit | null) : null;
        const array = kind === ARRAY && visit.array ? (this.open(visit, ARRAY) as ArrayVisit | null) : null;
        if (object || array || visit.container) {
          // Frames are reused by level: a visited document opens and closes hundreds of thousands.
          const n = this.frames.length;
          const frame = this.framePool[n] ?? { object: null, array: null, visit: null, empty: true };
          this.framePool[n] = frame;
          frame.object = object;
          frame.array = array;
          frame.visit = visit;
          frame.empty = true;
          this.frames.push(frame);
        }
      }
      this.state = kind === OBJECT ? KEY_OR_END : VALUE_OR_END;
      return i + 1;
    }
    this.markNotEmpty();
    const scalar = visit?.scalar ? visit : null;
    if (b === 0x22) {
      // A string whole within the chunk: checked in place, decoded only when asked for.
      const end = this.skipStringEnd(chunk, i + 1);
      if (end >= 0) {
        if (scalar) {
          const text = scalar.text ? this.textOf(i + 1, end - 1) : undefined;
          this.scalar(scalar, 'string', text, end === i + 2);
        }
        this.afterValue();
        return end;
      }
      this.tokenVisit = visit;
      return this.startString(chunk, i, false);
    }
    if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
      const end = numberEnd(chunk, i);
      if (end >= 0) {
        if (scalar) {
          const text = scalar.text ? this.textOf(i, end, false) : undefined;
          this.scalar(scalar, 'number', text, false);
        }
        this.afterValue();
        return end;
      }
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
      const end = literalEnd(chunk, i, b);
      if (end >= 0) {
        if (scalar) this.scalar(scalar, lit[0], undefined, false);
        this.afterValue();
        return end;
      }
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

  private push(kind: number, i: number): void {
    if (this.depth > 0) this.markNotEmpty();
    if (this.depth >= this.maxDepth)
      throw new JsonScanError(`nested deeper than ${this.maxDepth} levels, past what is read whole`, this.offset + i);
    if (this.depth >>> 3 >= this.kinds.length) {
      const more = new Uint8Array(this.kinds.length * 2);
      more.set(this.kinds);
      this.kinds = more;
    }
    setKind(this.kinds, this.depth++, kind);
  }

  private close(kind: number, _chunk: Uint8Array, i: number): number {
    this.depth--;
    if (this.frames.length === this.depth + 1) {
      const frame = this.frames.pop()!;
      const { object, array, visit, empty } = frame;
      frame.object = null;
      frame.array = null;
      frame.visit = null;
      if (!this.bound) {
        try {
          object?.end?.();
          array?.end?.();
          visit?.container?.(kind === OBJECT ? 'object' : 'array', empty);
        } catch (err) {
          this.visitorFailed(err);
        }
      }
    }
    this.afterValue();
    return i + 1;
  }

  private afterValue(): void {
    this.state = this.depth === 0 ? DONE : COMMA_OR_END;
  }

  // ---- strings ------------------------------------------------------------------------------

  /**
   * A key. Whole within the chunk (nearly always), it is checked in place and matched against the
   * object's key table by its bytes, with no copy; otherwise the general path collects it.
   */
  private key(chunk: Uint8Array, i: number): number {
    const end = this.skipStringEnd(chunk, i + 1);
    if (end < 0) return this.startString(chunk, i, true);
    this.markNotEmpty();
    this.state = COLON;
    this.pending = null;
    const frame = this.frames.length === this.depth ? this.frames[this.depth - 1] : undefined;
    const object = frame?.object;
    if (!object || this.bound) return end;
    const from = i + 1;
    const to = end - 1;
    let key: number | string | undefined;
    if (object.keys && (!this.escaped || object.keys.any)) key = matchBytes(object.keys, chunk, from, to);
    else {
      const text = this.textOf(from, to);
      if (text === undefined) return end;
      key = object.keys ? object.keys.byText.get(text) : text;
    }
    if (key !== undefined) this.pending = this.member(object, key);
    return object.keys ? this.members(chunk, end, object, object.keys) : end;
  }

  /**
   * The members of an object with a key table, from just after a key (state COLON, the key's visit
   * pending), in place, without a turn of the general loop per token: scalar values are checked
   * and, when asked for, handed to their visit here; keys the object does not care about are
   * matched and passed. Returns where the general path takes over (with the state set): a
   * container value (its visit pending), the object's end, a token that crosses the chunk's end,
   * or a byte that is not JSON (which the general path names).
   */
  private members(chunk: Uint8Array, i: number, object: ObjectVisit, keys: KeyTable): number {
    const len = chunk.length;
    // The members no key names are passed by the kernel, where there is one: the table it matches
    // against (-1: none), made for `keys` when first needed.
    const kernel = this.writeKernel;
    let table = -1;
    let tableOf: KeyTable | null = null;
    /** Whether the kernel read the key and its colon: the value is next. */
    let named = false;
    for (;;) {
      if (!named) {
        if (i < len && chunk[i] !== 0x3a) i = skipSpace(chunk, i);
        if (i >= len || chunk[i] !== 0x3a) return i;
        i++;
        this.state = VALUE;
      }
      named = false;
      if (i < len && isSpace(chunk[i]!)) i = skipSpace(chunk, i);
      if (i >= len) return i;
      const b = chunk[i]!;
      const visit = this.pending;
      let end: number;
      if (b === 0x22) {
        end = plainEnd(chunk, i + 1);
        if (end < 0) end = this.skipStringEnd(chunk, i + 1);
        else this.escaped = false;
        if (end < 0) return i;
        if (visit !== null && visit.scalar !== undefined) {
          const text = visit.text ? this.textOf(i + 1, end - 1) : undefined;
          this.scalar(visit, 'string', text, end === i + 2);
        }
      } else if (b === 0x7b || b === 0x5b) {
        const depth = this.depth;
        if (visit !== null) {
          // A container asked for: read in place too, as far as it goes; deeper than FAST_LEVELS
          // (the in-place path recurses a few calls a level), by the general loop, which does not.
          if (depth >= FAST_LEVELS) return i;
          end = this.nested(chunk, i);
          if (this.depth !== depth) return end;
        } else if (i + 1 < len && chunk[i + 1] === b + 2) {
          // An empty one, `{}` or `[]` (a node's meta, tags, sources): passed whole.
          end = i + 2;
        } else {
          // One that is not: passed.
          this.push(b === 0x7b ? OBJECT : ARRAY, i);
          this.state = b === 0x7b ? KEY_OR_END : VALUE_OR_END;
          end = this.skipRegion(chunk, i + 1);
          if (this.depth > this.frames.length) return end;
        }
      } else if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
        end = numberEnd(chunk, i);
        if (end < 0) return i;
        if (visit !== null && visit.scalar !== undefined)
          this.scalar(visit, 'number', visit.text ? this.textOf(i, end, false) : undefined, false);
      } else {
        end = literalEnd(chunk, i, b);
        if (end < 0) return i;
        if (visit !== null && visit.scalar !== undefined) this.scalar(visit, LITERALS.get(b)![0], undefined, false);
      }
      this.pending = null;
      i = end;
      this.state = COMMA_OR_END;
      if (i < len && chunk[i] !== 0x2c) i = skipSpace(chunk, i);
      if (i >= len || chunk[i] !== 0x2c) return i;
      i++;
      this.state = KEY;
      if (i < len && chunk[i] !== 0x22) i = skipSpace(chunk, i);
      if (i >= len || chunk[i] !== 0x22) return i;
      // The visitor may have narrowed its table for the members still to come.
      keys = object.keys ?? keys;
      if (tableOf !== keys) {
        tableOf = keys;
        table = kernel !== null && !keys.any ? kernel.tableAt(keys.names) : -1;
      }
      // Loaded again if need be: a visitor called above may have scanned another document.
      if (table >= 0 && kernel?.load(chunk, this.writeStamp)) {
        i = kernel.members(i, len, table);
        const state = kernel.state;
        if (state === NAMED) {
          this.state = VALUE;
          this.pending = this.member(object, kernel.key);
          named = true;
          continue;
        }
        if (state !== KEY) {
          this.state = state;
          return i;
        }
        if (i >= len || chunk[i] !== 0x22) return i;
      }
      end = plainEnd(chunk, i + 1);
      if (end < 0) end = this.skipStringEnd(chunk, i + 1);
      else this.escaped = false;
      if (end < 0) return i;
      this.state = COLON;
      let key: number | undefined;
      if (!this.escaped || keys.any) key = matchBytes(keys, chunk, i + 1, end - 1);
      else {
        const text = this.textOf(i + 1, end - 1);
        if (text === undefined) return end;
        key = keys.byText.get(text);
      }
      i = end;
      if (key !== undefined) this.pending = this.member(object, key);
    }
  }

  /**
   * A container value whose visit members() holds, at `i`: opened, and read in place (keys by
   * members(), scalar items of an array here, containers within it the same way, what is not asked
   * for by skipRegion) until it closes, so that the few containers a reader visits in each of a
   * hundred thousand nodes (a test's metadata, a node's dependencies and columns) cost what the
   * members around them cost, not a turn of the general loop per token. Returns where it stops:
   * after the container (this.depth back to where it was), or where the general path takes over
   * (a token crossing the chunk's end, a member without a key table, a byte that is not JSON).
   */
  private nested(chunk: Uint8Array, i: number): number {
    const outer = this.depth;
    const len = chunk.length;
    i = this.startValue(chunk, i);
    while (this.depth > outer) {
      const level = this.depth;
      if (level > this.frames.length) {
        // Opened but not visited (its visit wanted only to hear it close, or declined it).
        i = this.skipRegion(chunk, i);
        if (this.depth >= level) return i;
        continue;
      }
      if (i < len && isSpace(chunk[i]!)) i = skipSpace(chunk, i);
      if (i >= len) return i;
      const b = chunk[i]!;
      const state = this.state;
      const frame = this.frames[level - 1]!;
      if (kindAt(this.kinds, level - 1) === OBJECT) {
        if (b === 0x7d && (state === KEY_OR_END || state === COMMA_OR_END)) {
          i = this.close(OBJECT, chunk, i);
        } else if (b === 0x22 && (state === KEY_OR_END || state === KEY) && frame.object?.keys) {
          i = this.key(chunk, i);
          // members() stopped before a value (the chunk ended): the general path goes on.
          if (this.state !== COMMA_OR_END || this.token !== T_NONE) return i;
        } else if (b === 0x2c && state === COMMA_OR_END) {
          this.state = KEY;
          i++;
        } else return i;
        continue;
      }
      const array = frame.array;
      if (array === null) return i;
      if (b === 0x5d && (state === VALUE_OR_END || state === COMMA_OR_END)) {
        i = this.close(ARRAY, chunk, i);
        continue;
      }
      if (state === COMMA_OR_END) {
        if (b !== 0x2c) return i;
        this.state = VALUE;
        i++;
        continue;
      }
      if (b === 0x22) {
        // A string item, whole in the chunk: handed to the item's visit here.
        let end = plainEnd(chunk, i + 1);
        if (end < 0) end = this.skipStringEnd(chunk, i + 1);
        else this.escaped = false;
        if (end < 0) return i;
        this.markNotEmpty();
        const visit = this.item(array);
        if (visit?.scalar)
          this.scalar(visit, 'string', visit.text ? this.textOf(i + 1, end - 1) : undefined, end === i + 2);
        this.state = COMMA_OR_END;
        i = end;
        continue;
      }
      // A container item is opened here (startValue asks the array for its visit); numbers and
      // literals are left to the general path.
      if (b !== 0x7b && b !== 0x5b) return i;
      i = this.startValue(chunk, i);
    }
    return i;
  }

  /**
   * The text of bytes [from, to) of the chunk: a string's content (decoded by JSON's rules when it
   * had escapes, as skipStringEnd found) or a number as written; undefined past the bound.
   */
  private textOf(from: number, to: number, string = true): string | undefined {
    if (to - from > this.maxText) {
      this.overBound(`a value longer than ${this.maxText} bytes`);
      return undefined;
    }
    const view = this.view as SlicingBuffer;
    // Buffer's own slicers: toString() checks its arguments and dispatches on the encoding first.
    const raw = string ? view.utf8Slice(from, to) : view.latin1Slice(from, to);
    return string && this.escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
  }

  /** The chunk being read, as a Buffer (a view, not a copy). */
  private view: Buffer | null = null;
  /** Whether the last string skipStringEnd passed had an escape. */
  private escaped = false;

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
      const quote = j >= len ? -1 : indexOfByte(chunk, 0x22, j);
      const stop = quote === -1 ? len : quote;
      const k = this.special(chunk, j, stop);
      if (k < stop && chunk[k] !== 0x5c)
        this.fail(chunk, k, 'no control character inside a string (it must be escaped)');
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

  /**
   * The first backslash or control character in [from, to), or `to`: four bytes at a time where the
   * chunk's memory allows (a word with none of them is passed in a few operations), else one by one.
   */
  /** The chunk's buffer as 32-bit words (made once per buffer), for the word-at-a-time searches. */
  private wordsOfChunk(chunk: Uint8Array): Uint32Array {
    if (this.wordsOf !== chunk.buffer) {
      this.wordsOf = chunk.buffer;
      this.words = new Uint32Array(chunk.buffer, 0, chunk.buffer.byteLength >>> 2);
    }
    return this.words!;
  }

  private special(chunk: Uint8Array, from: number, to: number): number {
    let k = from;
    const base = chunk.byteOffset;
    while (k < to && ((base + k) & 3) !== 0) {
      const c = chunk[k]!;
      if (c === 0x5c || c < 0x20) return k;
      k++;
    }
    if (to - k >= 16) {
      const words = this.wordsOfChunk(chunk);
      let w = (base + k) >>> 2;
      const end = (base + to) >>> 2;
      for (; w < end; w++) {
        const x = words[w]!;
        const y = x ^ 0x5c5c5c5c;
        // A byte below 0x20, or a byte equal to 0x5c, sets its high bit here (haszero/hasless).
        if (((x - 0x20202020) & ~x & 0x80808080) | ((y - 0x01010101) & ~y & 0x80808080)) break;
      }
      k = w * 4 - base;
    }
    for (; k < to; k++) {
      const c = chunk[k]!;
      if (c === 0x5c || c < 0x20) return k;
    }
    return to;
  }

  private wordsOf: ArrayBufferLike | null = null;
  private words: Uint32Array | null = null;

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
        this.pending = key === undefined ? null : this.member(object, key);
      } else {
        key = this.text(collected);
        this.pending = this.member(object, key);
      }
      return;
    }
    const visit = this.tokenVisit;
    this.tokenVisit = null;
    if (visit?.scalar) {
      const text = collected === null ? undefined : this.text(collected);
      this.scalar(visit, 'string', text, this.stringBytes === 0);
    }
    this.afterValue();
  }

  /** A key's index in the table, or undefined for a key the object does not care about. */
  private matchKey(table: KeyTable, collected: Buffer[], _chunk: Uint8Array, _quoteAt: number): number | undefined {
    if (table.any) return -1;
    if (!this.escapes && collected.length === 1) {
      const bytes = collected[0]!;
      return matchBytes(table, bytes, 0, bytes.length);
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
  private overBound(what: string | JsonBoundError): void {
    this.bound ??=
      typeof what === 'string'
        ? new JsonBoundError(`the document holds ${what}, past what is read for its facts`)
        : what;
    this.collected = null;
    this.tokenVisit = null;
    this.pending = null;
    for (const f of this.frames) {
      f.object = null;
      f.array = null;
      f.visit = null;
    }
  }

  // The visitor calls, each guarded: a visitor's own failure drops the facts, never the validation
  // (a JsonBoundError it throws, a limit of its own such as a count of tables, is the bound;
  // anything else is named). Written out, without a closure, as they are on the hot paths.
  private member(object: ObjectVisit, key: number | string): Visit | null {
    if (this.bound) return null;
    try {
      return object.member(key) ?? null;
    } catch (err) {
      this.visitorFailed(err);
      return null;
    }
  }

  private item(array: ArrayVisit): Visit | null {
    if (this.bound) return null;
    try {
      return array.item() ?? null;
    } catch (err) {
      this.visitorFailed(err);
      return null;
    }
  }

  private open(visit: Visit, kind: number): ObjectVisit | ArrayVisit | null {
    if (this.bound) return null;
    try {
      return (kind === OBJECT ? visit.object!() : visit.array!()) ?? null;
    } catch (err) {
      this.visitorFailed(err);
      return null;
    }
  }

  private scalar(visit: Visit, kind: ScalarKind, text: string | undefined, empty: boolean): void {
    if (this.bound) return;
    try {
      visit.scalar!(kind, text, empty);
    } catch (err) {
      this.visitorFailed(err);
    }
  }

  private visitorFailed(err: unknown): void {
    this.overBound(
      err instanceof JsonBoundError
        ? err
        : `a part its reader could not take (${err instanceof Error ? err.message : String(err)})`,
    );
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
        if (visit?.scalar) this.scalar(visit, this.literalKind, undefined, false);
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
      this.scalar(visit, 'number', text, false);
    }
  }

  private fail(chunk: Uint8Array, i: number, expected: string): never {
    const found = i < chunk.length ? JSON.stringify(String.fromCharCode(chunk[i]!)) : 'the end';
    throw new JsonScanError(`not JSON: expected ${expected}, found ${found}`, this.offset + i);
  }
}

/** A key's index in the table by its bytes [from, to) in the chunk, or undefined. */
function matchBytes(table: KeyTable, chunk: Uint8Array, from: number, to: number): number | undefined {
  if (table.any) return -1;
  const n = to - from;
  const candidates = table.byLength[n];
  if (candidates === undefined) return undefined;
  for (let c = 0; c < candidates.length; c++) {
    const { index, bytes } = candidates[c]!;
    let k = 0;
    while (k < n && chunk[from + k] === bytes[k]) k++;
    if (k === n) return index;
  }
  return undefined;
}

/**
 * Buffer's decoders, which toString(encoding, from, to) calls after checking its arguments: bounds
 * here are a string's own, inside the chunk. Present on every Buffer since Node.js 0.x
 * (lib/buffer.js), though not in @types/node.
 */
interface SlicingBuffer extends Buffer {
  utf8Slice(from: number, to: number): string;
  latin1Slice(from: number, to: number): string;
}

/** The kind of container at a level of the bit stack. */
function kindAt(kinds: Uint8Array, level: number): number {
  return (kinds[level >>> 3]! >>> (level & 7)) & 1 ? ARRAY : OBJECT;
}

function setKind(kinds: Uint8Array, level: number, kind: number): void {
  const bit = 1 << (level & 7);
  if (kind === ARRAY) kinds[level >>> 3]! |= bit;
  else kinds[level >>> 3]! &= ~bit;
}

/**
 * Where a string whose content starts at `from` ends (after its quote) when its bytes up to the
 * quote are all plain (no space, '!', backslash or control character: most keys, ids and names),
 * else -1 for skipStringEnd to read: one comparison a byte on the common path.
 */
function plainEnd(chunk: Uint8Array, from: number): number {
  const len = chunk.length;
  let k = from;
  while (k < len) {
    const c = chunk[k]!;
    if (c >= 0x23 && c !== 0x5c) {
      k++;
      continue;
    }
    return c === 0x22 ? k + 1 : -1;
  }
  return -1;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** The first byte at or after `i` that is not whitespace, or the chunk's length. */
function skipSpace(chunk: Uint8Array, i: number): number {
  while (i < chunk.length && isSpace(chunk[i]!)) i++;
  return i;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/**
 * Where a number that starts at `i` ends, when it is valid JSON and ends within the chunk (the next
 * byte is there, and not part of it), else -1 (the general path reads it, and says what is wrong).
 */
function numberEnd(chunk: Uint8Array, i: number): number {
  const len = chunk.length;
  let k = i;
  if (chunk[k] === 0x2d) k++;
  if (k >= len || !isDigit(chunk[k]!)) return -1;
  if (chunk[k] === 0x30) k++;
  else while (k < len && isDigit(chunk[k]!)) k++;
  if (k < len && chunk[k] === 0x2e) {
    k++;
    if (k >= len || !isDigit(chunk[k]!)) return -1;
    while (k < len && isDigit(chunk[k]!)) k++;
  }
  if (k < len && (chunk[k] === 0x65 || chunk[k] === 0x45)) {
    k++;
    if (k < len && (chunk[k] === 0x2b || chunk[k] === 0x2d)) k++;
    if (k >= len || !isDigit(chunk[k]!)) return -1;
    while (k < len && isDigit(chunk[k]!)) k++;
  }
  // The byte after must be there (the number may go on in the next chunk) and not a digit (0 then 1).
  if (k >= len || isDigit(chunk[k]!)) return -1;
  return k;
}

/** Where a literal that starts at `i` ends, when it is whole within the chunk, else -1. */
function literalEnd(chunk: Uint8Array, i: number, first: number): number {
  const lit = LITERALS.get(first);
  if (!lit) return -1;
  const word = lit[1];
  if (i + word.length > chunk.length) return -1;
  for (let k = 1; k < word.length; k++) if (chunk[i + k] !== word[k]) return -1;
  return i + word.length;
}

/** indexOf of one byte: Buffer's native search, for a Buffer or any Uint8Array. */
function indexOfByte(chunk: Uint8Array, byte: number, from: number): number {
  return Buffer.isBuffer(chunk) ? chunk.indexOf(byte, from) : chunk.indexOf(byte, from);
}

/** Scans a whole text or buffer (tests, small answers): throws JsonScanError when it is not JSON. */
export function scanAll(input: Uint8Array | string, root: Visit | null, options?: ScanOptions): JsonScanner {
  const scanner = new JsonScanner(root, options);
  scanner.write(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  scanner.end();
  return scanner;
}

/** The deepest nesting accepted in JSON read whole (API answers, stored summaries, requests). */
export const WHOLE_JSON_DEPTH = 64;

/**
 * JSON.parse, bounded in what it builds: the text is first checked by the scanner (no object
 * built), so that nesting deeper than `maxDepth` (a bracket bomb of a few MB builds gigabytes) is
 * a clear error. Bytes are bounded by the caller's read; with this, so is memory.
 */
export function parseJsonBounded(text: string, maxDepth = WHOLE_JSON_DEPTH): unknown {
  scanAll(text, null, { maxDepth });
  return JSON.parse(text);
}
