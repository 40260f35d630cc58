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

/** A JSON string as Python's json.dumps writes it (ensure_ascii). */
export function pythonString(s: string): string {
  const json = JSON.stringify(s);
  return NON_ASCII.test(json)
    ? json.replace(NON_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : json;
}
const NON_ASCII = /[\u007f-\uffff]/;
const NON_ASCII_ALL = /[\u007f-\uffff]/g;

/** Python's sort of strings: by code point (JavaScript's default compares UTF-16 units). */
export function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
  }
  return x.length - y.length;
}
