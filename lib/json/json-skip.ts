/**
 * The scanner's skipping in WebAssembly (json-skip.wat, assembled into json-skip-wasm.ts): strings
 * sixteen bytes at a time; a skipped container checked token by token as the scanner's own loop
 * (skipHere) checks it; and the members of a visited object that its key table does not name,
 * passed whole up to the next key it does. One instance serves every scanner of the process: a
 * write's chunk is copied into its memory the first time the kernel is asked about it.
 *
 * A kernel is lent to one scanner at a time (KernelLender): the scanner keeps it from the first
 * chunk it has the kernel read to its end (or its first error), then gives it back for the next
 * scanner. A process reading a hundred thousand files one after the other thus uses one instance
 * and its memory, not one per file left for the garbage collector (whose instances, each holding
 * its chunk's megabyte, pile up between collections: docs/performance.md, issue 38).
 *
 * Where WebAssembly or its SIMD is missing, `skipKernel()` is null and the scanner's own loops do
 * the work; the two give the same answers (test/unit/json/json-skip.test.ts).
 * @module
 */
import { JSON_SKIP_WASM } from './json-skip-wasm.ts';

const HEX_AT = 0;
const ESCAPES_AT = 256;
/** Where a call leaves the state, depth, lowest level written, escaped flag and key index: five i32s. */
const OUT_AT = 512 / 4;
const STACK_AT = 4096;
/** Key tables, written as they are first used: each name a length byte and its bytes, 0 at the end. */
const TABLES_AT = 8192;
/** Levels one call may have open below its floor: deeper regions are left to the scanner's loop. */
export const KERNEL_LEVELS = 4096;
const DATA_AT = 65536;
/** What a vector load may read past a chunk's end. */
const PAD = 16;
/**
 * Larger chunks (a whole document handed over at once) are left to the scanner's loop: the memory
 * a chunk needs is kept for the process's life (files come in 1 MiB, the network in 64 KiB).
 */
const MAX_CHUNK = 4 * 1024 * 1024;
const PAGE = 65536;
/** The state members leaves after a key its table names, and that key's colon: the value is next. */
export const NAMED = 8;

/** What the module exports (json-skip.wat). */
interface Exports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  string: (q: number, end: number) => number;
  members: (p: number, end: number, table: number) => number;
  skip: (p: number, end: number, state: number, depth: number, floor: number, limit: number) => number;
}

/** The part of the WebAssembly API used here (the project's TypeScript libraries do not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: unknown };
}

export class SkipKernel {
  private bytes: Uint8Array;
  private words: Int32Array;
  /** The write whose chunk is in memory. */
  private loaded = -1;

  private readonly exports: Exports;

  /** Forgets which chunk is in memory: the kernel is lent to another scanner, whose writes count anew. */
  reset(): void {
    this.loaded = -1;
  }

  constructor(exports: Exports) {
    this.exports = exports;
    this.bytes = new Uint8Array(exports.memory.buffer);
    this.words = new Int32Array(exports.memory.buffer, 0, 1024);
    for (const c of '0123456789abcdefABCDEF') this.bytes[HEX_AT + c.charCodeAt(0)] = 1;
    for (const c of '"\\/bfnrtu') this.bytes[ESCAPES_AT + c.charCodeAt(0)] = 1;
  }

  /** Puts a write's chunk in memory, unless it is there: false when it is too large to. */
  load(chunk: Uint8Array, write: number): boolean {
    if (this.loaded === write) return true;
    if (chunk.length > MAX_CHUNK) return false;
    const needed = DATA_AT + chunk.length + PAD;
    if (needed > this.bytes.length) {
      this.exports.memory.grow(Math.ceil((needed - this.bytes.length) / PAGE));
      this.bytes = new Uint8Array(this.exports.memory.buffer);
      this.words = new Int32Array(this.exports.memory.buffer, 0, 1024);
    }
    this.bytes.set(chunk, DATA_AT);
    this.loaded = write;
    return true;
  }

  /** Tables by their names array, and by their names (a table made anew each time is written once). */
  private readonly tables = new WeakMap<readonly string[], number>();
  private readonly tablesByNames = new Map<string, number>();
  private tablesEnd = TABLES_AT;

  /**
   * Where a key table is in memory (written the first time it is asked for), or -1 when it cannot
   * be: a name empty or longer than 255 bytes, or no room left (objects of that table are then read
   * by the scanner alone).
   */
  tableAt(names: readonly string[]): number {
    const known = this.tables.get(names);
    if (known !== undefined) return known;
    const text = names.join('\u0000');
    const same = this.tablesByNames.get(text);
    if (same !== undefined) {
      this.tables.set(names, same);
      return same;
    }
    const encoded = names.map((n) => Buffer.from(n));
    const size = encoded.reduce((sum, b) => sum + 1 + b.length, 1);
    let at = -1;
    if (encoded.every((b) => b.length > 0 && b.length < 256) && this.tablesEnd + size <= DATA_AT) {
      at = this.tablesEnd;
      let k = at;
      for (const b of encoded) {
        this.bytes[k++] = b.length;
        this.bytes.set(b, k);
        k += b.length;
      }
      this.bytes[k] = 0;
      this.tablesEnd += size;
    }
    this.tables.set(names, at);
    this.tablesByNames.set(text, at);
    return at;
  }

  /**
   * Passes the members of a visited object that its table (at `table`) does not name, from the key
   * at `from` in the loaded chunk; returns where it stopped, `state` the state there (json-skip.wat).
   */
  members(from: number, end: number, table: number): number {
    return this.exports.members(DATA_AT + from, DATA_AT + end, table) - DATA_AT;
  }

  /** The kinds of the open levels from the floor up (1 object, 2 array): set before, read after skip. */
  stack(level: number): number {
    return this.bytes[STACK_AT + level]!;
  }

  setStack(level: number, kind: number): void {
    this.bytes[STACK_AT + level] = kind;
  }

  /**
   * Checks the loaded chunk from `i` to `end` as skipHere does; never opens a level at `limit`
   * (at most floor + KERNEL_LEVELS). Returns where it stopped; `state`, `depth` and `low` (the
   * lowest level whose kind it wrote) say the rest.
   */
  skip(i: number, end: number, state: number, depth: number, floor: number, limit: number): number {
    return this.exports.skip(DATA_AT + i, DATA_AT + end, state, depth, floor, limit) - DATA_AT;
  }

  /**
   * Where the loaded chunk's string whose content starts at `from` ends (after its closing quote),
   * or -1 when it goes on past `end` or holds what is not JSON (the scanner's loop says what).
   * `escaped` says whether it held an escape.
   */
  string(from: number, end: number): number {
    const after = this.exports.string(DATA_AT + from, DATA_AT + end);
    return after < 0 ? -1 : after - DATA_AT;
  }

  /** After members stopped in state NAMED: the index of the key it read in its table. */
  get key(): number {
    return this.words[OUT_AT + 4]!;
  }

  get escaped(): boolean {
    return this.words[OUT_AT + 3] === 1;
  }

  get state(): number {
    return this.words[OUT_AT]!;
  }

  get depth(): number {
    return this.words[OUT_AT + 1]!;
  }

  get low(): number {
    return this.words[OUT_AT + 2]!;
  }
}

/** The compiled module, once per process; null where this runtime cannot run it. */
const MODULE: { readonly api: WebAssemblyApi; readonly module: object } | null = (() => {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  try {
    if (api === undefined) return null;
    // Compiling fails where SIMD is missing (V8 has had it since 9.1, Node 16.4).
    return { api, module: new api.Module(Buffer.from(JSON_SKIP_WASM, 'base64')) };
  } catch {
    return null;
  }
})();

/** Idle kernels a lender keeps: as many as scanners commonly read at once in one process. */
const IDLE_KEPT = 8;

/**
 * Lends kernels to scanners, one scanner at a time: a scanner that is reading holds its own (a
 * visitor may start another scanner in the middle of a write, which is lent another), and gives it
 * back when its document ended. One that never gives its kernel back (dropped half-read) only costs
 * that instance, which goes with it.
 */
export class KernelLender {
  private readonly idle: SkipKernel[] = [];
  /** Instances this lender made: how many scanners ever read at once, or dropped theirs. */
  made = 0;

  /** A kernel for one scanner's use until it gives it back; null where this runtime has none. */
  lend(): SkipKernel | null {
    const kept = this.idle.pop();
    if (kept !== undefined) return kept;
    const made = skipKernel();
    if (made !== null) this.made++;
    return made;
  }

  /** Takes back a kernel its scanner will not use again. */
  giveBack(kernel: SkipKernel): void {
    kernel.reset();
    if (this.idle.length < IDLE_KEPT && !this.idle.includes(kernel)) this.idle.push(kernel);
  }
}

/**
 * The process's lender, the JSON layer's one piece of shared state at module level: what it holds is
 * idle kernels, no scanner's bytes that another could read (test/repo/layers.test.ts).
 */
export const KERNELS = new KernelLender();

/** A new kernel instance, lent by no one (the lender's, and the tests' to call it directly); null where there is none. */
export function skipKernel(): SkipKernel | null {
  if (MODULE === null) return null;
  return new SkipKernel(new MODULE.api.Instance(MODULE.module).exports as Exports);
}
