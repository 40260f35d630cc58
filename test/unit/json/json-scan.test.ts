import { describe, expect, it } from 'vitest';
import { jsonOf } from '../../json-oracle.ts';
import {
  JsonScanError,
  JsonScanner,
  keyTable,
  type ArrayVisit,
  type ObjectVisit,
  scanAll,
  type Visit,
} from '../../../lib/json/json-scan.ts';
import { seededRandom as random } from '../../../harness/fake-dbt-cloud/prng.ts';

/**
 * The scanner against JSON.parse: on random documents, cut into random chunks, a visitor that asks
 * for everything rebuilds exactly what JSON.parse builds; on random corruptions of them, it rebuilds
 * the same where JSON.parse accepts the bytes, and throws JsonScanError where JSON.parse throws.
 */
function rebuild(): { visit: Visit; value: () => unknown } {
  let root: unknown;
  const into = (set: (v: unknown) => void): Visit => ({
    text: true,
    scalar: (kind, text) =>
      set(
        kind === 'string'
          ? text
          : kind === 'number'
            ? Number(text)
            : kind === 'true'
              ? true
              : kind === 'false'
                ? false
                : null,
      ),
    object: (): ObjectVisit => {
      const o: Record<string, unknown> = {};
      set(o);
      return {
        member: (key) =>
          into((v) =>
            Object.defineProperty(o, String(key), { value: v, enumerable: true, writable: true, configurable: true }),
          ),
      };
    },
    array: (): ArrayVisit => {
      const a: unknown[] = [];
      set(a);
      return { item: () => into((v) => a.push(v)) };
    },
  });
  return {
    visit: into((v) => {
      root = v;
    }),
    value: () => root,
  };
}

const PIECES = [
  'a',
  'Z',
  ' ',
  'é',
  '日本',
  '😀',
  '"',
  '\\',
  '\n',
  '\t',
  '\u0001',
  '\u2028',
  '/',
  'name',
  'x'.repeat(40),
];

function randomJson(r: () => number, depth = 0): string {
  const pick = r();
  if (depth > 6 || pick < 0.35) {
    const s = r();
    if (s < 0.3)
      return JSON.stringify(
        Array.from({ length: Math.floor(r() * 6) }, () => PIECES[Math.floor(r() * PIECES.length)]).join(''),
      );
    if (s < 0.6) {
      const forms = [
        '0',
        '-0',
        '1',
        '-12',
        '3.25',
        '1e5',
        '1E-7',
        '-2.5e+3',
        '123456789012345678901234567890',
        '0.1e1',
      ];
      return forms[Math.floor(r() * forms.length)]!;
    }
    return ['true', 'false', 'null'][Math.floor(r() * 3)]!;
  }
  const ws = (): string => [' ', '', '\n', '\t ', '\r\n'][Math.floor(r() * 5)]!;
  const n = Math.floor(r() * 5);
  if (pick < 0.7) {
    const keys = ['a', 'name', 'columns', 'a', 'é', '__proto__', 'k\\"q', 'x'.repeat(20)];
    return `{${ws()}${Array.from({ length: n }, () => `${JSON.stringify(keys[Math.floor(r() * keys.length)])}${ws()}:${ws()}${randomJson(r, depth + 1)}`).join(`${ws()},${ws()}`)}${ws()}}`;
  }
  return `[${ws()}${Array.from({ length: n }, () => randomJson(r, depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
}

function scanInChunks(bytes: Buffer, r: () => number): unknown {
  const { visit, value } = rebuild();
  const scanner = new JsonScanner(visit);
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(r() * 17);
    scanner.write(bytes.subarray(i, i + n));
    i += n;
  }
  scanner.end();
  expect(scanner.bound).toBeNull();
  return value();
}

/** Bytes that mean something to JSON's grammar, and some that mean nothing. */
const JUNK = [
  0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x30, 0x31, 0x2d, 0x2b, 0x65, 0x45, 0x2e, 0x01, 0x1f, 0x20, 0x0a,
  0x74, 0x6e, 0x66, 0x75, 0x61, 0xff, 0xc3,
];

function corrupt(bytes: Buffer, r: () => number): Buffer {
  const b = Buffer.from(bytes);
  const at = Math.floor(r() * Math.max(1, b.length));
  const what = r();
  const junk = JUNK[Math.floor(r() * JUNK.length)]!;
  if (what < 0.3) return b.subarray(0, at);
  if (what < 0.6) {
    if (b.length > 0) b[at] = junk;
    return b;
  }
  if (what < 0.8) return Buffer.concat([b.subarray(0, at), Buffer.from([junk]), b.subarray(at)]);
  return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
}

describe('the JSON scanner against JSON.parse', () => {
  it('rebuilds what JSON.parse builds, on 3,000 random documents cut into random chunks', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const r = random(seed);
      const text = randomJson(r);
      expect(scanInChunks(Buffer.from(text), r), `seed ${seed}: ${text}`).toEqual(JSON.parse(text));
    }
  });

  it('agrees with JSON.parse on 20,000 random corruptions: the same value, or a JsonScanError', () => {
    let refused = 0;
    for (let seed = 1; seed <= 20_000; seed++) {
      const r = random(seed);
      const bytes = corrupt(Buffer.from(randomJson(r)), r);
      let expected: unknown;
      let valid = true;
      try {
        expected = jsonOf(bytes);
      } catch {
        valid = false;
      }
      if (valid) expect(scanInChunks(bytes, r), `seed ${seed}`).toEqual(expected);
      else {
        refused++;
        expect(() => scanInChunks(bytes, r), `seed ${seed}: ${bytes.toString()}`).toThrow(JsonScanError);
      }
    }
    expect(refused).toBeGreaterThan(10_000);
  });

  it.each([
    ['with the WebAssembly kernel', true],
    ['with the scanner’s own loop', false],
  ])(
    'skips what no visitor asks for exactly as strictly (%s): a null visitor and a one-key visitor, in random and whole chunks',
    (_, kernel) => {
      /** Only the root's "a" member is rebuilt; the rest goes through the skipping paths. */
      const scanA = (bytes: Buffer, chunks: (() => number) | null): unknown => {
        const inner = rebuild();
        let seen = false;
        const keys = keyTable(['a']);
        const scanner = new JsonScanner(
          {
            object: () => ({
              keys,
              member: () => {
                seen = true;
                return inner.visit;
              },
            }),
          },
          { kernel },
        );
        const step = (): number => (chunks ? 1 + Math.floor(chunks() * 97) : bytes.length);
        for (let i = 0; i < bytes.length; ) {
          const n = step();
          scanner.write(bytes.subarray(i, i + n));
          i += n;
        }
        scanner.end();
        return seen ? inner.value() : undefined;
      };
      let refused = 0;
      for (let seed = 1; seed <= 20_000; seed++) {
        const r = random(seed);
        const text = `{"skipped": ${randomJson(r)}, "a": ${randomJson(r)}, "after": [${randomJson(r)}]}`;
        const bytes = seed % 4 === 0 ? Buffer.from(text) : corrupt(Buffer.from(text), r);
        let expected: unknown;
        let valid = true;
        try {
          const parsed: unknown = jsonOf(bytes);
          expected =
            parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && Object.hasOwn(parsed, 'a')
              ? (parsed as Record<string, unknown>).a
              : undefined;
        } catch {
          valid = false;
        }
        const whole = seed % 2 === 0;
        const chunks = whole ? null : r;
        if (valid) {
          expect(scanA(bytes, chunks), `seed ${seed}`).toEqual(expected);
          const skipper = new JsonScanner(null, { kernel });
          skipper.write(bytes);
          skipper.end();
        } else {
          refused++;
          expect(() => scanA(bytes, chunks), `seed ${seed}: ${bytes.toString()}`).toThrow(JsonScanError);
          expect(() => {
            const skipper = new JsonScanner(null, { kernel });
            skipper.write(bytes);
            skipper.end();
          }, `seed ${seed}`).toThrow(JsonScanError);
        }
      }
      expect(refused).toBeGreaterThan(5_000);
    },
  );

  it('takes nesting as deep as JSON.parse does (ten million levels) in one bit a level', () => {
    const n = 10_000_000;
    const scanner = new JsonScanner(null);
    scanner.write(Buffer.from('['.repeat(n)));
    scanner.write(Buffer.from(']'.repeat(n)));
    scanner.end();
    expect(scanner.bytes).toBe(2 * n);
  });

  it('reads a visitor that visits every level as deep as the document goes, without running out of stack', () => {
    const K = keyTable(['a']);
    let deepest = 0;
    const deep = (level: number): Visit => ({
      object: () => ({ keys: K, member: () => deep(level + 1) }),
      array: () => ({ item: () => deep(level + 1) }),
      scalar: () => (deepest = Math.max(deepest, level)),
    });
    for (const n of [3_000, 50_000]) {
      deepest = 0;
      scanAll(Buffer.from(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`), deep(0));
      expect(deepest).toBe(n);
      expect(() => scanAll(Buffer.from(`${'{"a":'.repeat(n)}1${'}'.repeat(n - 1)}`), deep(0))).toThrow(JsonScanError);
    }
  });

  it('says where and what is wrong, and that a document was cut short', () => {
    const scan = (text: string) => () => {
      const s = new JsonScanner(null);
      s.write(Buffer.from(text));
      s.end();
    };
    expect(scan('{"a": [1, 2,]}')).toThrow(/expected a JSON value, found "\]" \(at byte 12\)/);
    expect(scan('{"a": 1')).toThrow(/ended before its JSON value did/);
    expect(scan('')).toThrow(/the document is empty/);
    expect(scan('{} {}')).toThrow(/nothing after the end/);
    expect(scan('<html>')).toThrow(/not JSON/);
  });

  it('matches keys by their bytes and skips everything else, and tells a container emptiness', () => {
    const seen: string[] = [];
    const keys = keyTable(['name', 'columns']);
    const node: Visit = {
      object: () => ({
        keys,
        member: (k) =>
          k === 0
            ? { text: true, scalar: (_kind, text) => seen.push(`name=${text}`) }
            : { container: (kind, empty) => seen.push(`columns ${kind} ${empty ? 'empty' : 'full'}`) },
      }),
    };
    const s = new JsonScanner({ object: () => ({ member: () => node }) });
    s.write(
      Buffer.from(
        '{"n1": {"raw_code": "select \\"x\\"", "name": "orders", "columns": {}}, "n2": {"columns": [1], "na\\u006de": "é"}}',
      ),
    );
    s.end();
    expect(seen).toEqual(['name=orders', 'columns object empty', 'columns array full', 'name=é']);
  });

  it('takes a byte order mark where asked, and only there', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);
    const withBom = new JsonScanner(null, { byteOrderMark: true });
    withBom.write(bom);
    withBom.end();
    expect(() => new JsonScanner(null).write(bom)).toThrow(JsonScanError);
  });

  it('stays bounded: deep nesting is refused at its limit, and an overlong value stops the facts, not the check', () => {
    const deep = new JsonScanner(null, { maxDepth: 1000 });
    expect(() => deep.write(Buffer.from('['.repeat(1001)))).toThrow(/nested deeper than 1000 levels/);
    const long = new JsonScanner(
      { object: () => ({ member: () => ({ text: true, scalar: () => {} }) }) },
      { maxText: 10 },
    );
    long.write(Buffer.from(`{"a": "${'x'.repeat(100)}", "b": ${'9'.repeat(100)}}`));
    long.end();
    expect(long.bound?.message).toMatch(/longer than 10 bytes/);
  });
});
