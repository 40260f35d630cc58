import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  compareReports,
  formatCompare,
  formatNewMisses,
  formatSummary,
} from '../../../lib/coverage/coverage-compare.ts';
import { formatMarkdown, formatString, reportJson } from '../../../lib/coverage/coverage-report.ts';
import {
  COVERAGE_TYPES,
  computeCoverage,
  type CoverageType,
  type PathFilters,
} from '../../../lib/coverage/coverage.ts';
import { CatalogReader } from '../../../lib/facts/catalog.ts';
import { ReportReader } from '../../../lib/facts/coverage-report-reader.ts';
import { ManifestReader } from '../../../lib/facts/manifest.ts';
import { readFacts } from '../../../lib/facts/reader.ts';

/**
 * Parity with dbt-coverage 0.4.2 on the real artifacts of public dbt projects
 * (test/fixtures/coverage/README.md): the printed tables, the JSON reports and what compare prints
 * must be what dbt-coverage itself printed and wrote for them (scripts/coverage-expected.ts
 * recorded those), for doc, test and unit-test coverage, with and without path filters.
 */
const FIXTURES = 'test/fixtures/coverage';
const projects = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

/** A gzipped fixture as a stream of small chunks, as it would arrive over the network. */
function stream(project: string, file: string): Readable {
  const data = gunzipSync(readFileSync(join(FIXTURES, project, `${file}.gz`)));
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += 7919) yield data.subarray(i, i + 7919);
    })(),
  );
}

/**
 * What compare prints, split into its parts: the summary exactly, and the new misses as a set of
 * table blocks, each a set of rows (dbt-coverage prints them in Python's set order, which changes
 * from run to run, and marks the last column └── wherever that falls).
 */
function compareParts(text: string, format: 'string' | 'markdown'): { summary: string; blocks: string[] } {
  const [summary, misses] = text.split(/\n\n/, 2) as [string, string];
  const rows = misses.split('\n').filter((l) => l !== '');
  const blocks: string[][] = [];
  for (const row of rows) {
    if (/^=+$/.test(row) || row.startsWith('|:') || row.startsWith('|     |')) continue;
    if (row.includes('┌ ') || row.startsWith('Catalog') || row.startsWith('| Catalog')) blocks.push([row]);
    else blocks.at(-1)!.push(row.replace('└── ', '├── '));
  }
  void format;
  return { summary, blocks: blocks.map((b) => [b[0], ...b.slice(1).sort()].join('\n')).sort() };
}

describe.each(projects)('dbt-coverage parity on %s', (project) => {
  const expected = (name: string): string => readFileSync(join(FIXTURES, project, name), 'utf8');
  // As `coverage compute` reads them: the manifest for the one measure it computes.
  const facts = async (measure?: CoverageType) => ({
    manifest: await readFacts(stream(project, 'manifest.json'), new ManifestReader('manifest.json', {}, { measure })),
    catalog: await readFacts(stream(project, 'catalog.json'), new CatalogReader()),
  });
  const filter = JSON.parse(expected('filter.json')) as string[];
  const variants: [string, PathFilters][] = [
    ['', {}],
    ['-filtered', { keep: filter }],
    ['-excluded', { drop: filter }],
  ];

  describe.each(COVERAGE_TYPES)('%s coverage', (covType) => {
    it.each(variants)('prints the same tables and writes the same report (%s)', async (suffix, filters) => {
      const { manifest, catalog } = await facts(covType);
      const report = computeCoverage(manifest, catalog, covType, filters);
      // The step summaries read every measure at once: the same report.
      const everyMeasure = computeCoverage((await facts()).manifest, catalog, covType, filters);
      expect(reportJson(everyMeasure)).toBe(reportJson(report));
      expect(report.unmatched).toEqual([]);
      expect(formatString(report)).toBe(expected(`expected-${covType}${suffix}.txt`));
      expect(formatMarkdown(report)).toBe(expected(`expected-${covType}${suffix}.md`));
      expect(reportJson(report)).toBe(expected(`expected-${covType}${suffix}.json`));
    });

    it.each(['string', 'markdown'] as const)(
      'compares a report with a baseline as compare does (%s)',
      async (format) => {
        const read = (name: string) => readFacts(Readable.from([expected(name)]), new ReportReader(name));
        const diff = compareReports(await read(`expected-${covType}.json`), await read(`baseline-${covType}.json`));
        const ours = formatCompare(diff, format);
        const theirs = expected(`expected-compare-${covType}.${format === 'string' ? 'txt' : 'md'}`);
        expect(compareParts(ours, format)).toEqual(compareParts(theirs, format));
        // The parts are what formatCompare joins: nothing else is printed.
        expect(ours).toBe(`${formatSummary(diff, format)}\n${formatNewMisses(diff, format)}\n`);
        expect(ours.length).toBe(theirs.length);
        // Decreased exactly when dbt-coverage's own figures say so.
        const [before, after] = [
          ...theirs
            .split('\n')
            .find((l) => /Coverage/.test(l))!
            .matchAll(/(\d+\.\d+)%/g),
        ].map((m) => Number(m[1]));
        expect(diff.decreased).toBe(after! < before!);
      },
    );
  });
});
