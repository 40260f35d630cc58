import { isUtf8 } from 'node:buffer';

/**
 * The reference the scanner is held to: what a JSON parser reading bytes makes of them. JSON text
 * exchanged between systems is UTF-8 (RFC 8259 §8.1): Python's json (and so dbt-coverage) refuses
 * bytes that are not, where JSON.parse of a string decoded with replacements would not.
 */
export function jsonOf(bytes: Uint8Array): unknown {
  if (!isUtf8(bytes)) throw new SyntaxError('not valid UTF-8');
  return JSON.parse(Buffer.from(bytes).toString('utf8'));
}
