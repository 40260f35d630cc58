import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  computeCoverage,
  formatMarkdown,
  formatString,
  reportJson,
  type CoverageType,
} from '../../../lib/core/coverage.ts';
import { catalogCollector, collect, manifestCollector } from '../../../lib/coverage/extract.ts';

/**
 * Parity with dbt-coverage 0.4.2 on the real artifacts of public dbt projects
 * (test/fixtures/coverage/README.md): the printed tables and the JSON report must be what
 * dbt-coverage itself printed and wrote for them (scripts/coverage-expected.ts recorded those).
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

describe.each(projects)('dbt-coverage parity on %s', (project) => {
  const expected = (name: string): string => readFileSync(join(FIXTURES, project, name), 'utf8');
  const facts = async () => ({
    manifest: await collect(stream(project, 'manifest.json'), manifestCollector({ tables: true })),
    catalog: await collect(stream(project, 'catalog.json'), catalogCollector()),
  });
  const filter = JSON.parse(expected('filter.json')) as string[];

  it.each(['doc', 'test'] as CoverageType[])(
    '%s coverage: the same table, markdown and JSON report',
    async (covType) => {
      const { manifest, catalog } = await facts();
      const report = computeCoverage(manifest, catalog, covType);
      expect(report.unmatched).toEqual([]);
      expect(formatString(report)).toBe(expected(`expected-${covType}.txt`));
      expect(formatMarkdown(report)).toBe(expected(`expected-${covType}.md`));
      expect(reportJson(report)).toBe(expected(`expected-${covType}.json`));
    },
  );

  it.each(['doc', 'test'] as CoverageType[])('%s coverage under --model-path-filter', async (covType) => {
    const { manifest, catalog } = await facts();
    const report = computeCoverage(manifest, catalog, covType, filter);
    expect(formatString(report)).toBe(expected(`expected-${covType}-filtered.txt`));
    expect(reportJson(report)).toBe(expected(`expected-${covType}-filtered.json`));
  });
});
