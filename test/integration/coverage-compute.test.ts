import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli.ts';

/** dbt-harvester coverage compute, as a user of dbt-coverage runs it, on a real project's artifacts. */
const FIXTURE = 'test/fixtures/coverage/harmony';
let dir: string;
let artifacts: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coverage-compute-'));
  artifacts = join(dir, 'target');
  await mkdir(artifacts);
  for (const file of ['manifest.json', 'catalog.json'])
    await writeFile(join(artifacts, file), gunzipSync(readFileSync(join(FIXTURE, `${file}.gz`))));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const expected = (name: string): string => readFileSync(join(FIXTURE, name), 'utf8');

describe('coverage compute', () => {
  it.each(['doc', 'test'])("prints dbt-coverage's %s table and writes its report", async (type) => {
    const report = join(dir, `${type}.json`);
    const res = await cli(['coverage', 'compute', type, '--run-artifacts-dir', artifacts, '--cov-report', report], {});
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe(expected(`expected-${type}.txt`));
    expect(await readFile(report, 'utf8')).toBe(expected(`expected-${type}.json`));
  });

  it('prints markdown, and keeps to --model-path-filter', async () => {
    const md = await cli(
      [
        'coverage',
        'compute',
        'test',
        '--run-artifacts-dir',
        artifacts,
        '--cov-format',
        'markdown',
        '--cov-report',
        join(dir, 'md.json'),
      ],
      {},
    );
    expect(md.stdout).toBe(expected('expected-test.md'));
    const filters = (JSON.parse(expected('filter.json')) as string[]).flatMap((f) => ['--model-path-filter', f]);
    const filtered = await cli(
      ['coverage', 'compute', 'doc', '--run-artifacts-dir', artifacts, ...filters, '--cov-report', join(dir, 'f.json')],
      {},
    );
    expect(filtered.stdout).toBe(expected('expected-doc-filtered.txt'));
  });

  it('exits 1 under --cov-fail-under, or when the filter leaves no table', async () => {
    const report = JSON.parse(expected('expected-doc.json')) as { coverage: number };
    const above = await cli(
      [
        'coverage',
        'compute',
        'doc',
        '--run-artifacts-dir',
        artifacts,
        '--cov-fail-under',
        String(Math.min(1, report.coverage + 0.01)),
        '--cov-report',
        join(dir, 'x.json'),
      ],
      {},
    );
    expect(above.code).toBe(1);
    expect(above.stderr).toMatch(/Measured coverage 0\.\d{3} lower than min required coverage/);
    const below = await cli(
      [
        'coverage',
        'compute',
        'doc',
        '--run-artifacts-dir',
        artifacts,
        '--cov-fail-under',
        String(report.coverage - 0.01),
        '--cov-report',
        join(dir, 'x.json'),
      ],
      {},
    );
    expect(below.code).toBe(0);
    const none = await cli(
      [
        'coverage',
        'compute',
        'doc',
        '--run-artifacts-dir',
        artifacts,
        '--model-path-filter',
        'nowhere/',
        '--cov-report',
        join(dir, 'x.json'),
      ],
      {},
    );
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no tables/);
  });

  it('computes over the rest, and names it, when the catalog has a table the manifest lacks', async () => {
    const partial = join(dir, 'partial');
    await mkdir(partial);
    const manifest = JSON.parse(await readFile(join(artifacts, 'manifest.json'), 'utf8')) as {
      nodes: Record<string, unknown>;
    };
    const [dropped] = Object.keys(manifest.nodes).filter((id) => id.startsWith('model.'));
    delete manifest.nodes[dropped!];
    await writeFile(join(partial, 'manifest.json'), JSON.stringify(manifest));
    await writeFile(join(partial, 'catalog.json'), await readFile(join(artifacts, 'catalog.json')));
    const res = await cli(
      ['coverage', 'compute', 'doc', '--run-artifacts-dir', partial, '--cov-report', join(dir, 'p.json')],
      {},
    );
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(`${dropped} is in the catalog but not in the manifest`);
  });

  it.each([
    [['compute'], /name the coverage type: doc, test, unit-test/],
    [['compute', 'docs', '--run-artifacts-dir', 'x'], /not "docs"/],
    [['compute', 'doc', '--project-dir', '/tmp'], /\/tmp\/target\/manifest.json not found: a dbt command writes/],
    [['compute', 'doc', '--project-dir', '/tmp', '--run-artifacts-dir', '/tmp'], /give one of them/],
    [['compute', 'doc', '--output-format', 'string', '--cov-format', 'markdown'], /disagree/],
    [['compare', 'a.json'], /name the baseline report/],
    [['compute', 'doc', '--run-artifacts-dir', '/nonexistent'], /--run-artifacts-dir \/nonexistent does not exist/],
    [['compute', 'doc', '--run-artifacts-dir', '.', '--cov-fail-under', '80'], /ratio from 0 to 1/],
    [['compute', 'doc', '--run-artifacts-dir', '.', '--cov-format', 'html'], /string or markdown/],
  ])('refuses %j as bad usage (exit 2)', async (args, message) => {
    const res = await cli(['coverage', ...args], {});
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
  });

  it('refuses a catalog that is not JSON, naming it (exit 2)', async () => {
    const broken = join(dir, 'broken');
    await mkdir(broken);
    await writeFile(join(broken, 'manifest.json'), await readFile(join(artifacts, 'manifest.json')));
    await writeFile(join(broken, 'catalog.json'), '<html>Sign in</html>');
    const res = await cli(
      ['coverage', 'compute', 'doc', '--run-artifacts-dir', broken, '--cov-report', join(dir, 'b.json')],
      {},
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/catalog.json is not a whole JSON document: not JSON: expected a JSON value, found "<"/);
  });

  it('names at most 20 catalog tables the manifest lacks, then how many more', async () => {
    const ghosts = join(dir, 'ghosts');
    await mkdir(ghosts);
    await writeFile(join(ghosts, 'manifest.json'), await readFile(join(artifacts, 'manifest.json')));
    const catalog = JSON.parse(await readFile(join(artifacts, 'catalog.json'), 'utf8')) as {
      nodes: Record<string, unknown>;
    };
    for (let i = 0; i < 30; i++) catalog.nodes[`model.ghost.g${i}`] = { unique_id: `model.ghost.g${i}`, columns: {} };
    await writeFile(join(ghosts, 'catalog.json'), JSON.stringify(catalog));
    const res = await cli(
      ['coverage', 'compute', 'doc', '--run-artifacts-dir', ghosts, '--cov-report', join(dir, 'g.json')],
      {},
    );
    expect(res.code).toBe(0);
    expect(res.stderr.split('\n').filter((l) => l.includes('is in the catalog but not in the manifest'))).toHaveLength(
      20,
    );
    expect(res.stderr).toContain('... and 10 more catalog tables left out');
  });
});

describe('unit-test coverage and compare, as dbt-coverage users run them', () => {
  const JAFFLE = 'test/fixtures/coverage/jaffle-shop';
  const jaffle = (name: string): string => readFileSync(join(JAFFLE, name), 'utf8');
  let project: string;
  beforeAll(async () => {
    // A dbt project folder: compute reads its target/ when no folder is named, as dbt-coverage does.
    project = join(dir, 'jaffle');
    await mkdir(join(project, 'target'), { recursive: true });
    for (const file of ['manifest.json', 'catalog.json'])
      await writeFile(join(project, 'target', file), gunzipSync(readFileSync(join(JAFFLE, `${file}.gz`))));
  });

  it('computes unit-test coverage from the project folder, with --output-format and exclusion filters', async () => {
    const report = join(dir, 'unit.json');
    const res = await cli(['coverage', 'compute', 'unit-test', '--project-dir', project, '--cov-report', report], {});
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe(jaffle('expected-unit-test.txt'));
    expect(await readFile(report, 'utf8')).toBe(jaffle('expected-unit-test.json'));
    const drops = (JSON.parse(jaffle('filter.json')) as string[]).flatMap((f) => ['--model-path-exclusion-filter', f]);
    const md = await cli(
      [
        'coverage',
        'compute',
        'unit-test',
        '--project-dir',
        project,
        '--output-format',
        'markdown',
        ...drops,
        '--cov-report',
        join(dir, 'u2.json'),
      ],
      {},
    );
    expect(md.stdout).toBe(jaffle('expected-unit-test-excluded.md'));
  });

  it('compares two reports; exits 1 on a decrease only when asked; refuses reports of different types', async () => {
    const report = join(JAFFLE, 'expected-test.json');
    const baseline = join(JAFFLE, 'baseline-test.json');
    const plain = await cli(['coverage', 'compare', report, baseline], {});
    expect(plain.code, plain.stderr).toBe(0);
    // The summary is dbt-coverage's, byte for byte (the new misses are listed in our order).
    expect(plain.stdout.split('\n\n')[0]).toBe(jaffle('expected-compare-test.txt').split('\n\n')[0]);
    const md = await cli(['coverage', 'compare', report, baseline, '--output-format', 'markdown'], {});
    expect(md.stdout.split('\n\n')[0]).toBe(jaffle('expected-compare-test.md').split('\n\n')[0]);
    const failing = await cli(['coverage', 'compare', report, baseline, '--cov-fail-compare'], {});
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/^Coverage decreased from 18\.10% to 11\.61%\n$/);
    const rising = await cli(['coverage', 'compare', baseline, report, '--cov-fail-compare'], {});
    expect(rising.code).toBe(0);
    const mixed = await cli(['coverage', 'compare', report, join(JAFFLE, 'expected-doc.json')], {});
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/cannot compare a test coverage report with a doc one/);
    const notReport = await cli(['coverage', 'compare', report, join(JAFFLE, 'filter.json')], {});
    expect(notReport.code).toBe(2);
    expect(notReport.stderr).toMatch(/filter.json is not a coverage report/);
  });

  it('compute --cov-fail-compare prints the comparison and exits 1 when coverage fell', async () => {
    const res = await cli(
      [
        'coverage',
        'compute',
        'test',
        '--project-dir',
        project,
        '--cov-report',
        join(dir, 'c.json'),
        '--cov-fail-compare',
        join(JAFFLE, 'baseline-test.json'),
      ],
      {},
    );
    expect(res.code).toBe(1);
    expect(res.stdout.startsWith(jaffle('expected-test.txt'))).toBe(true);
    expect(res.stdout).toContain(jaffle('expected-compare-test.txt').split('\n\n')[0]);
    expect(res.stderr).toMatch(/Coverage decreased from 18\.10% to 11\.61%/);
  });
});
