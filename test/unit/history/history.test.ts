import { describe, expect, it } from 'vitest';
import { csvCell, pointsCsv, type HistoryPoint } from '../../../lib/history/export.ts';

const point = (over: Partial<HistoryPoint> = {}): HistoryPoint => ({
  job_id: 1,
  job_name: 'nightly',
  run_id: 2,
  finished_at: '2022-06-01T00:00:00Z',
  step: 4,
  origin: 'stored',
  doc_coverage: 0.5,
  doc_covered: 1,
  columns: 2,
  test_coverage: null,
  test_covered: null,
  column_tests: null,
  unit_test_coverage: null,
  models: 3,
  models_documented: 1,
  models_tested: 0,
  tests: 0,
  ...over,
});

describe('the history as CSV', () => {
  it('writes one row per run under a header, quoting what needs it', () => {
    let csv = '';
    const w = pointsCsv({
      write: (t) => {
        csv += t;
      },
    });
    w.point(point());
    w.point(point({ job_name: 'a, "b"' }));
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]!.split(',').slice(0, 3)).toEqual(['job_id', 'job_name', 'run_id']);
    expect(lines[2]).toContain('"a, ""b"""');
  });

  it('never hands a spreadsheet a formula: a text starting with = + - @ tab or CR is quoted as text', () => {
    for (const text of ['=HYPERLINK("http://x")', '+1', '-2+3', '@SUM(A1)', '\tx', '\rx'])
      expect(csvCell(text).replace(/^"/, '').startsWith("'")).toBe(true);
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell(-2)).toBe('-2');
    expect(csvCell('nightly build')).toBe('nightly build');
  });
});
