/**
 * Time: one parser for every timestamp format dbt Cloud sends:
 *   2021-12-07 10:32:24.326116+00:00   (runs: space, microseconds, offset)
 *   2021-11-18T15:19:03.185668+00:00   (jobs)
 *   2022-03-15T10:17:35.755212Z
 * and the CLI's input forms (2022-06-01T00:00:00, 2022-06-01, with or without offset).
 * A timestamp without an offset is UTC. Fractions beyond milliseconds are truncated, so ordering
 * between two timestamps is kept (truncation is monotonic). Only times from 1970 to 9999 are read.
 * Windows are half-open UTC intervals.
 * @module
 */
import { z } from 'zod';
import { InputError } from './errors.ts';

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

export function tryParseTimestamp(text: string): Date | null {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  const millis = Number(frac.padEnd(3, '0').slice(0, 3));
  let offsetMinutes = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0 to 99 as 1900 to 1999.
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, millis);
  // Reject dates that JavaScript silently rolled over (2022-02-30).
  if (local.getUTCDate() !== day) return null;
  const date = new Date(local.getTime() - offsetMinutes * 60_000);
  // Every time this product meets lies between 1970 and 9999: anything else would make odd object
  // paths (date=0050-..., date=+010000-...) out of odd data.
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1970 || date.getUTCFullYear() > 9999) return null;
  return date;
}

export function parseTimestamp(text: string, what = 'timestamp'): Date {
  const date = tryParseTimestamp(text);
  if (!date) {
    throw new InputError(`Invalid ${what} "${text}"`, [
      'expected an ISO-8601 time such as 2022-06-01T00:00:00 or 2022-06-01T00:00:00Z (no offset means UTC)',
    ]);
  }
  return date;
}

/**
 * A time as it entered the process, parsed once: `at` to compute with, and the text as it came,
 * which is what JSON writes (toJSON), so that a run stored whole (`_run.json`) keeps dbt Cloud's
 * own text.
 */
export class Timestamp {
  readonly text: string;
  readonly at: Date;
  constructor(text: string, at: Date) {
    this.text = text;
    this.at = at;
  }
  toJSON(): string {
    return this.text;
  }
  toString(): string {
    return this.text;
  }
  static parse(text: string, what = 'timestamp'): Timestamp {
    return new Timestamp(text, parseTimestamp(text, what));
  }
}

/** A timestamp in any of dbt Cloud's formats, parsed into a Timestamp where it enters. */
export const timestampSchema = z.string().transform((text, ctx) => {
  const at = tryParseTimestamp(text);
  if (at) return new Timestamp(text, at);
  ctx.addIssue({ code: 'custom', message: 'not a timestamp dbt Cloud sends (ISO 8601, 1970 to 9999)' });
  return z.NEVER;
});

/** An ISO 8601 time a person or tool typed (no offset means UTC), parsed into a Date. */
export const timeSchema = z.string().transform((text, ctx) => {
  const at = tryParseTimestamp(text);
  if (at) return at;
  ctx.addIssue({
    code: 'custom',
    message: `"${text}" is not an ISO-8601 time such as 2022-06-01T00:00:00Z (no offset means UTC)`,
  });
  return z.NEVER;
});

export const HOUR_MS = 3_600_000;

/** A half-open UTC interval [start, end). */
export interface Window {
  readonly start: Date;
  readonly end: Date;
}

export function floorToHour(t: Date): Date {
  return new Date(Math.floor(t.getTime() / HOUR_MS) * HOUR_MS);
}

/** The previous full hour of the scheduled time T: [floor(T) - 1h, floor(T)). */
export function hourlyWindow(scheduledTime: Date): Window {
  const end = floorToHour(scheduledTime);
  return { start: new Date(end.getTime() - HOUR_MS), end };
}

export function inWindow(t: Date, w: Window): boolean {
  const ms = t.getTime();
  return ms >= w.start.getTime() && ms < w.end.getTime();
}

export function formatWindow(w: Window): { start: string; end: string } {
  return { start: w.start.toISOString(), end: w.end.toISOString() };
}
