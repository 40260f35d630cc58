/**
 * How a value typed as text (a variable, a flag, an argument) is read, one schema for each kind, so
 * that a count, an id, a list of jobs, a switch or a time means the same wherever it is typed. The
 * options table and the CLI's arguments both build on these.
 * @module
 */
import { z } from 'zod';
import { timeSchema } from '../core/time.ts';
import { parsePositiveInt } from '../core/numbers.ts';

/** A text schema: reads a string into a T, or says what is wrong in words a user can act on. */
export type TextSchema<T> = z.ZodType<T, string>;

export const positiveInt = (max?: number, maxHint?: string): TextSchema<number> =>
  z.string().transform((text, ctx) => {
    const n = parsePositiveInt(text);
    if (n === null) {
      ctx.addIssue({ code: 'custom', message: `must be a positive whole number, not "${text}"` });
      return z.NEVER;
    }
    if (max !== undefined && n > max) {
      ctx.addIssue({ code: 'custom', message: maxHint ?? `must be at most ${max}` });
      return z.NEVER;
    }
    return n;
  });

export const boolText: TextSchema<boolean> = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .refine((s) => ['true', 'false', '1', '0', 'yes', 'no'].includes(s), 'must be true or false')
  .transform((s) => ['true', '1', 'yes'].includes(s));

/** Job ids separated by commas ("1,2, 3"), each once. */
export const jobIdList: TextSchema<number[]> = z
  .string()
  .transform((s, ctx) => {
    const ids: number[] = [];
    for (const part of s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      const n = parsePositiveInt(part);
      if (n === null)
        ctx.addIssue({ code: 'custom', message: `must be job ids separated by commas ("${part}" is not one)` });
      else ids.push(n);
    }
    return [...new Set(ids)];
  })
  .pipe(z.array(z.number()).min(1, 'must name at least one job id'));

/** A time typed by a person (ISO 8601; no offset means UTC). */
export const timeText: TextSchema<Date> = timeSchema;

/** A day (2026-10-01, UTC): a time of day is refused rather than silently dropped. */
export const dayText: TextSchema<Date> = z.string().transform((text, ctx) => {
  const m = /^(\d{4}-\d{2}-\d{2})$/.exec(text.trim());
  const at = m ? new Date(`${m[1]}T00:00:00Z`) : null;
  if (!at || Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== m![1]) {
    ctx.addIssue({
      code: 'custom',
      message: /^\d{4}-\d{2}-\d{2}[T ]/.test(text.trim())
        ? `must be a day such as ${text.trim().slice(0, 10)}: the history counts whole days (UTC), so a time of day would be ignored`
        : `must be a day such as 2026-10-01 (UTC), not "${text}"`,
    });
    return z.NEVER;
  }
  return at;
});

/** A ratio from 0 to 1 (0.8 for 80 %). */
export const ratioText: TextSchema<number> = z.string().transform((text, ctx) => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    ctx.addIssue({ code: 'custom', message: `must be a ratio from 0 to 1 (0.8 for 80 %), not "${text}"` });
    return z.NEVER;
  }
  return n;
});

/** One of a few words. */
export const oneOf = <const T extends string>(values: readonly T[]): TextSchema<T> =>
  z.string().transform((s, ctx) => {
    if ((values as readonly string[]).includes(s)) return s as T;
    ctx.addIssue({
      code: 'custom',
      message: `must be ${values.slice(0, -1).join(', ')} or ${values.at(-1)}, not "${s}"`,
    });
    return z.NEVER;
  });

/** Any text that is not empty once trimmed. */
export const nonEmptyText: TextSchema<string> = z.string().trim().min(1, 'must not be empty');

/** A schema from a parse function that answers a value or `{problem}`. */
export const fromParser = <T>(parse: (text: string) => T | { problem: string }): TextSchema<T> =>
  z.string().transform((text, ctx) => {
    const result = parse(text);
    if (result && typeof result === 'object' && 'problem' in result) {
      ctx.addIssue({ code: 'custom', message: result.problem });
      return z.NEVER;
    }
    return result as T;
  });

/** Any text, as given. */
export const anyText: TextSchema<string> = z.string();
