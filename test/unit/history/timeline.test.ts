import { describe, expect, it } from 'vitest';
import { timeline } from '../../../lib/history/report-html.ts';

/** A model's view draws its time over the period: a point a day, a week past 120 days, each saying its value. */
describe('a model’s timeline', () => {
  const day = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);

  it('draws a point a day for a month, each titled with its day and time', () => {
    const svg = timeline(Array.from({ length: 30 }, (_, n) => ({ date: day(n), seconds: 60 + n })));
    const titles = [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]);
    expect(titles).toHaveLength(30);
    expect(titles[0]).toBe('2026-01-01: 1 min 00 s (median)');
    expect(titles[29]).toBe('2026-01-30: 1 min 29 s (median)');
    expect(svg).toContain('each day’s median');
  });

  it('draws a year a week at a time, each week the median of its days', () => {
    const svg = timeline(Array.from({ length: 365 }, (_, n) => ({ date: day(n), seconds: n % 7 === 0 ? 100 : 10 })));
    const titles = [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]);
    expect(titles).toHaveLength(53);
    expect(titles[0]).toBe('2026-01-01 to 2026-01-07: 10.0 s (median)');
    expect(svg).toContain('each week’s median');
  });

  it('says when there is no time to draw', () => {
    expect(timeline([])).toContain('No execution time stored');
  });
});
