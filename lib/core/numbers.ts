/*
 * Values read from text (environment variables, flags, headers): one rule for each, so that a count
 * or an id means the same wherever it is typed.
 */

/** A positive whole number that JavaScript holds exactly, from text; null for anything else. */
export function parsePositiveInt(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  const n = Number(trimmed);
  return n > 0 && Number.isSafeInteger(n) ? n : null;
}
