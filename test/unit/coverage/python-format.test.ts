import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../harness/fake-dbt-cloud/prng.ts';
import { byCodePoint, pythonString } from '../../../lib/coverage/python-format.ts';

/** Python's order, spelled out: the code points of each string, compared one by one. */
function pythonOrder(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

describe('byCodePoint', () => {
  it('sorts names as Python does, past U+FFFF too (where UTF-16 order differs)', () => {
    // JavaScript's own sort puts U+1F600 (a surrogate pair) before U+FF21; Python after.
    expect(['\u{1F600}', '\uFF21', 'a'].sort(byCodePoint)).toEqual(['a', '\uFF21', '\u{1F600}']);
    const r = seededRandom(7);
    const alphabet = ['a', 'b', 'Z', '_', 'é', '\uE000', '\uFFFD', '\u{10000}', '\u{1F600}', '\u{10FFFF}'];
    const word = () =>
      Array.from({ length: Math.floor(r() * 4) }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
    for (let i = 0; i < 5000; i++) {
      const a = word();
      const b = word();
      expect(Math.sign(byCodePoint(a, b)), `${a} ${b}`).toBe(Math.sign(pythonOrder(a, b)));
    }
  });
});

describe('pythonString', () => {
  it('writes json.dumps with ensure_ascii: plain names as they are, the rest escaped', () => {
    expect(pythonString('order_id')).toBe('"order_id"');
    expect(pythonString('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(pythonString('café\u007f')).toBe('"caf\\u00e9\\u007f"');
    expect(pythonString('\u{1F600}\n')).toBe('"\\ud83d\\ude00\\n"');
  });
});
