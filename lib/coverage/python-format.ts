/**
 * Python's formatting, as dbt-coverage prints and writes with it: fixed-point with round-half-even
 * on exact ties (JavaScript's toFixed rounds those up), percentages, float repr, json.dumps of a
 * string (ensure_ascii), and the alignment of format specs.
 * @module
 */

/** Python's `format(x, '.Nf')`: correctly rounded, half-even on an exact tie, as Python does. */
export function pythonFixed(x: number, digits: number): string {
  let text = x.toFixed(digits);
  const scale = 10 ** digits;
  const doubled = x * scale * 2;
  // An exact tie (x * 10^digits ends in .5 exactly): Python keeps the even last digit.
  if (Number.isInteger(doubled) && doubled / 2 / scale === x && Math.abs(doubled) % 2 === 1) {
    const down = Math.floor(x * scale);
    text = ((down % 2 === 0 ? down : down + 1) / scale).toFixed(digits);
  }
  return text;
}

/** Python's `format(x, '.N%')`: x times 100 (a float product, as CPython's), fixed, then %. */
export function pythonPercent(x: number, digits: number, sign = false): string {
  const text = pythonFixed(x * 100, digits);
  return `${sign && !text.startsWith('-') ? '+' : ''}${text}%`;
}

/** Python's `format(n, '+d')`. */
export const signed = (n: number): string => (n < 0 ? String(n) : `+${n}`);

/** Python's right, left and centre alignment of a text in a width (`>w`, `<w`, `^w`). */
export const right = (text: string, width: number): string => text.padStart(width);
export const left = (text: string, width: number): string => text.padEnd(width);
export function centre(text: string, width: number): string {
  const pad = Math.max(0, width - text.length);
  const before = Math.floor(pad / 2);
  return ' '.repeat(before) + text + ' '.repeat(pad - before);
}

/** A float as Python's repr writes it (1.0, 0.5, 5e-05). */
export function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : x < 0 ? '-Infinity' : 'NaN';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e >= -4 && e < 16) {
    // Both write the shortest digits that read back; JS writes these magnitudes without an exponent.
    const text = String(x);
    return text.includes('.') ? text : `${text}.0`;
  }
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/**
 * Python's `str()` of a JSON number as `json.loads` reads it: an integer literal is an int, printed
 * in full (`-0` as `0`); any other a float, printed as Python prints floats (`1e2` as `100.0`,
 * `1e-7` as `1e-07`, past the largest double `inf`).
 */
export function pythonStrOfNumber(text: string): string {
  if (/^-?\d+$/.test(text)) return BigInt(text).toString();
  const x = Number(text);
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (Object.is(x, -0)) return '-0.0';
  return pythonFloat(x);
}

/** A JSON string as Python's json.dumps writes it (ensure_ascii). */
export function pythonString(s: string): string {
  // Most names are printable ASCII with nothing to escape: quoted as they are.
  if (PLAIN.test(s)) return `"${s}"`;
  const json = JSON.stringify(s);
  return NON_ASCII.test(json)
    ? json.replace(NON_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : json;
}
const PLAIN = /^[\u0020\u0021\u0023-\u005b\u005d-\u007e]*$/;
const NON_ASCII = /[\u007f-\uffff]/;
const NON_ASCII_ALL = /[\u007f-\uffff]/g;

/**
 * Python's sort of strings: by code point. JavaScript's default compares UTF-16 units, which
 * orders a character past U+FFFF (a surrogate pair, 0xD800-0xDFFF) before one in U+E000-U+FFFF;
 * at the first unit that differs, surrogates are moved above every other unit.
 */
export function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}
const codePointRank = (unit: number): number => (unit >= 0xd800 && unit <= 0xdfff ? unit + 0x10000 : unit);
