import { describe, expect, it } from 'vitest';
import { jsonOf } from '../../json-oracle.ts';
import { JsonScanError, JsonScanner, keyTable, scanAll, type Visit } from '../../../lib/json/json-scan.ts';
import { JSON_SKIP_WASM } from '../../../lib/json/json-skip-wasm.ts';
import { KERNEL_LEVELS, KernelLender, skipKernel } from '../../../lib/json/json-skip.ts';
import { seededRandom as random } from '../../../harness/fake-dbt-cloud/prng.ts';
import { assembleJsonSkip, JSON_SKIP_SOURCE } from '../../../harness/wasm.ts';

/**
 * The WebAssembly skip loop against the scanner's own: on documents whose skipped parts hold long
 * strings (past the 16 bytes a vector holds) with escapes, control characters, multi-byte
 * characters and corruptions anywhere, cut anywhere, both accept the same documents and refuse the
 * others with the same message at the same byte.
 */
type Outcome = { ok: true; a: string | undefined; bytes: number } | { ok: false; message: string };

/** A visitor of the root object's "a", handing its text to `found`. */
const visitA = (found: (text: string | undefined) => void): Visit => ({
  object: () => ({
    keys: keyTable(['a']),
    member: () => ({ text: true, scalar: (_kind, text) => found(text) }),
  }),
});

function scan(bytes: Buffer, cuts: number[], kernel: boolean): Outcome {
  let a: string | undefined;
  const scanner = new JsonScanner(
    visitA((text) => {
      a = text;
    }),
    // The kernel reads every chunk, however small, so that both sides are compared everywhere.
    { kernel, kernelFrom: 0 },
  );
  try {
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      scanner.write(bytes.subarray(at, cut));
      at = cut;
    }
    scanner.end();
    return { ok: true, a, bytes: scanner.bytes };
  } catch (error) {
    if (!(error instanceof JsonScanError)) throw error;
    return { ok: false, message: error.message };
  }
}

const STRING_PARTS = ['x', 'SELECT id FROM t ', '\\"', '\\\\', '\\n', '\\u00e9', '\\u2028', 'é', '日本', '😀'];
/** What makes a string invalid: a raw control character, a lone backslash, escapes JSON does not have. */
const BAD_PARTS = ['\t', '\u0001', '\\', '\\q', '\\a', '\\U00e9', '\\u00g9', '\\u12'];

function longString(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) {
    // Rarely bad, so that most documents pass.
    const bad = r() < 0.02;
    const parts = bad ? BAD_PARTS : STRING_PARTS;
    s += parts[Math.floor(r() * parts.length)]!.repeat(bad ? 1 : 1 + Math.floor(r() * 5));
  }
  return `"${s}"`;
}

function skipped(r: () => number, depth = 0): string {
  const pick = r();
  if (depth > 5 || pick < 0.4) {
    const s = r();
    if (s < 0.6) return longString(r);
    if (s < 0.8) return ['0', '-1.5e+3', '12345678901234567890', '0.25'][Math.floor(r() * 4)]!;
    return ['true', 'false', 'null'][Math.floor(r() * 3)]!;
  }
  const n = Math.floor(r() * 5);
  const items = Array.from({ length: n }, () => skipped(r, depth + 1));
  return pick < 0.7
    ? `{${items.map((v) => `${longString(r)}:${v}`).join(',')}}`
    : `[${items.join(r() < 0.1 ? ' , ' : ',')}]`;
}

function corrupt(bytes: Buffer, r: () => number): Buffer {
  const b = Buffer.from(bytes);
  const at = Math.floor(r() * b.length);
  const junk = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x01, 0x75, 0x30, 0x2e, 0x65, 0xff][
    Math.floor(r() * 14)
  ]!;
  const what = r();
  if (what < 0.5) b[at] = junk;
  else if (what < 0.8) return Buffer.concat([b.subarray(0, at), Buffer.from([junk]), b.subarray(at)]);
  else return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  return b;
}

describe('the WebAssembly skip loop', () => {
  it('runs on this runtime, from a module assembled from json-skip.wat as committed', async () => {
    expect(skipKernel()).not.toBeNull();
    const assembled = Buffer.from(await assembleJsonSkip()).toString('base64');
    expect(JSON_SKIP_WASM, `${JSON_SKIP_SOURCE} changed: run npm run build:wasm`).toBe(assembled);
  });

  it('accepts and refuses exactly what the scanner’s own loop does, message for message, on 20,000 documents', () => {
    let refused = 0;
    for (let seed = 1; seed <= 20_000; seed++) {
      const r = random(seed);
      const text = `{"s":${skipped(r)},"a":${longString(r)},"t":[${skipped(r)}]}`;
      const bytes = seed % 3 === 0 ? Buffer.from(text) : corrupt(Buffer.from(text), r);
      const cuts: number[] = [];
      for (let at = Math.floor(r() * 40); at < bytes.length; at += 1 + Math.floor(r() * 60)) cuts.push(at);
      const ours = scan(bytes, seed % 5 === 0 ? [] : cuts, true);
      expect(ours, `seed ${seed}`).toEqual(scan(bytes, cuts, false));
      let valid = true;
      try {
        jsonOf(bytes);
      } catch {
        valid = false;
      }
      expect(ours.ok, `seed ${seed}`).toBe(valid);
      if (!valid) refused++;
    }
    expect(refused).toBeGreaterThan(5_000);
  });

  it('leaves a key with an escape to the scanner, which decodes it to match', () => {
    for (const kernel of [true, false]) {
      const doc = Buffer.from('{"s":[1,{"a":2}],"\\u0061":"found","\\"a":"not this"}');
      expect(scan(doc, [], kernel)).toEqual({ ok: true, a: 'found', bytes: doc.length });
    }
  });

  it('reads file after file with one kernel, lent to each scanner in turn, even after a document failed', () => {
    // A kernel per file, left to the garbage collector with its chunk's megabyte, made a long
    // history's first read grow with its runs (issue 38).
    const lender = new KernelLender();
    const big = (a: string) => Buffer.from(`{"s":"${'x'.repeat(20_000)}","a":"${a}","t":[${'1,'.repeat(5000)}2]}`);
    const found: (string | undefined)[] = [];
    for (let n = 0; n < 30; n++) {
      let a: string | undefined;
      const scanner = new JsonScanner(
        visitA((text) => {
          a = text;
        }),
        { lender },
      );
      const doc = big(`v${n}`);
      try {
        // Every third document is cut by a byte that is not JSON, after its kernel read a chunk.
        scanner.write(n % 3 === 2 ? Buffer.concat([doc.subarray(0, 30_000), Buffer.from('}}')]) : doc);
        scanner.end();
        found.push(a);
      } catch (err) {
        expect(err).toBeInstanceOf(JsonScanError);
        found.push('failed');
      }
    }
    expect(found).toEqual(Array.from({ length: 30 }, (_, n) => (n % 3 === 2 ? 'failed' : `v${n}`)));
    expect(lender.made).toBe(1);
  });

  it('serves a scanner whose visitor scans another document in the middle of a write, each with a kernel of its own', () => {
    const values: string[] = [];
    const lender = new KernelLender();
    const outer = new JsonScanner(
      {
        object: () => ({
          keys: keyTable(['a', 'b']),
          member: () => ({
            text: true,
            scalar: (_kind, text) => {
              values.push(text!);
              // Another document, scanned in the middle of the outer one's write: were the kernel
              // shared, its memory would now hold these bytes, where the outer document's next key
              // starts this one has a key the outer object names.
              scanAll(Buffer.from(`{"a":"1","b":"9","inner":[${'"xxxxxxxxxxxxxxxxxxxx",'.repeat(50)}0]}`), null, {
                kernelFrom: 0,
                lender,
              });
            },
          }),
        }),
      },
      { kernelFrom: 0, lender },
    );
    outer.write(
      Buffer.from(`{"a":"1","s":"not this","t":[${'2,'.repeat(40)}3],"u":"${'y'.repeat(300)}","b":"4","c":{}}`),
    );
    outer.end();
    expect(values).toEqual(['1', '4']);
    // The outer scanner held one kernel while the inner ones borrowed another, in turn.
    expect(lender.made).toBe(2);
  });

  it('leaves a region nested deeper than it holds to the scanner, and reads on past it', () => {
    const deep = KERNEL_LEVELS * 3;
    const good = Buffer.from(`{"s":${'['.repeat(deep)}"${'q'.repeat(40)}"${']'.repeat(deep)},"a":"found"}`);
    const cuts = [4096, 9000, 20_000];
    expect(scan(good, cuts, true)).toEqual({ ok: true, a: 'found', bytes: good.length });
    const bad = Buffer.from(`{"s":${'['.repeat(deep)}1${']'.repeat(deep - 1)}},"a":"found"}`);
    const refused = scan(bad, cuts, true);
    expect(refused).toEqual(scan(bad, cuts, false));
    expect(refused).toMatchObject({ ok: false, message: expect.stringMatching(/expected "," or "\]"/) });
  });
});
