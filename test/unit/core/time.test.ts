import { describe, expect, it } from 'vitest';
import { hourlyWindow, inWindow, parseTimestamp, tryParseTimestamp } from '../../../lib/core/time.ts';

describe('parseTimestamp', () => {
  it.each([
    ['2021-12-07 10:32:24.326116+00:00', '2021-12-07T10:32:24.326Z'],
    ['2021-11-18T15:19:03.185668+00:00', '2021-11-18T15:19:03.185Z'],
    ['2022-03-15T10:17:35.755212Z', '2022-03-15T10:17:35.755Z'],
    ['2022-03-15T10:17:35Z', '2022-03-15T10:17:35.000Z'],
    ['2022-06-01T00:00:00', '2022-06-01T00:00:00.000Z'],
    ['2022-06-01 02:30:00+02:00', '2022-06-01T00:30:00.000Z'],
    ['2022-06-01T00:00:00-0530', '2022-06-01T05:30:00.000Z'],
    ['2022-06-01', '2022-06-01T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseTimestamp(text).toISOString()).toBe(iso);
  });

  it.each([
    '',
    'yesterday',
    '2022-13-01T00:00:00',
    '2022-02-30',
    '2022-06-01T25:00:00',
    '1654041600',
    '0050-06-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '9999-12-31T23:00:00-05:00',
  ])('rejects %j', (text) => {
    expect(tryParseTimestamp(text)).toBeNull();
    expect(() => parseTimestamp(text, '--start-time')).toThrow(/--start-time/);
  });

  it('keeps the order of timestamps that differ below a millisecond', () => {
    const a = parseTimestamp('2022-06-01 00:59:59.999999+00:00');
    const b = parseTimestamp('2022-06-01 01:00:00.000000+00:00');
    expect(a.getTime()).toBeLessThan(b.getTime());
  });
});

describe('windows', () => {
  it('takes the previous full hour of the scheduled time', () => {
    const w = hourlyWindow(new Date('2022-06-01T10:10:00Z'));
    expect([w.start.toISOString(), w.end.toISOString()]).toEqual([
      '2022-06-01T09:00:00.000Z',
      '2022-06-01T10:00:00.000Z',
    ]);
  });

  it('includes the start and excludes the end', () => {
    const w = { start: new Date('2022-06-01T09:00:00Z'), end: new Date('2022-06-01T10:00:00Z') };
    expect(inWindow(new Date('2022-06-01T09:00:00Z'), w)).toBe(true);
    expect(inWindow(new Date('2022-06-01T10:00:00Z'), w)).toBe(false);
    expect(inWindow(new Date('2022-06-01T09:59:59.999Z'), w)).toBe(true);
  });
});
