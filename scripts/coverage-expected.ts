/**
 * Writes what dbt-coverage itself prints and reports for the real artifacts under
 * test/fixtures/coverage/<project>/, so that the coverage tests compare against the tool users
 * trust, not against our reading of it:
 *
 *   node scripts/coverage-expected.ts --dbt-coverage DIR [--ref v0.4.2]
 *
 * DIR is a git checkout of https://github.com/slidoapp/dbt-coverage; the module is taken at `ref`
 * and run by python3 with a stand-in for typer (its CLI library, which the computation does not
 * use), through its documented entry point do_compute. Nothing of it is copied into the project:
 * only its outputs are committed, as expected-<doc|test>.{txt,md,json} beside each fixture
 * (filtered variants as expected-<type>-filtered.*).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

const { values } = parseArgs({
  options: { 'dbt-coverage': { type: 'string' }, ref: { type: 'string', default: 'v0.4.2' } },
});
if (!values['dbt-coverage']) {
  process.stderr.write('usage: node scripts/coverage-expected.ts --dbt-coverage DIR [--ref v0.4.2]\n');
  process.exit(2);
}

const FIXTURES = 'test/fixtures/coverage';
const work = mkdtempSync(join(tmpdir(), 'dbt-coverage-'));
try {
  const module = execFileSync('git', ['-C', values['dbt-coverage'], 'show', `${values.ref}:dbt_coverage/__init__.py`], {
    maxBuffer: 1 << 24,
  });
  mkdirSync(join(work, 'dbt_coverage'));
  writeFileSync(join(work, 'dbt_coverage', '__init__.py'), module);
  // typer, reduced to what the module touches when it is imported.
  mkdirSync(join(work, 'typer'));
  writeFileSync(
    join(work, 'typer', '__init__.py'),
    'class Typer:\n    def __init__(self, *a, **k): pass\n    def command(self, *a, **k): return lambda f: f\n    def callback(self, *a, **k): return lambda f: f\n' +
      'def Option(*a, **k): return None\ndef Argument(*a, **k): return None\n',
  );
  const driver = `
import contextlib, io, json, sys
from pathlib import Path
sys.path.insert(0, ${JSON.stringify(work)})
import dbt_coverage as dc
artifacts, out, cov_type, fmt, report = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
filters = json.loads(sys.argv[6]) or None
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    dc.do_compute(run_artifacts_dir=Path(artifacts), cov_report=Path(report), cov_type=dc.CoverageType(cov_type),
                  model_path_filter=filters, output_format=dc.OutputFormat(fmt))
Path(out).write_text(buf.getvalue())
`;
  writeFileSync(join(work, 'driver.py'), driver);

  for (const project of readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)) {
    const dir = join(FIXTURES, project);
    // The fixtures are gzipped; dbt-coverage reads plain files.
    const artifacts = join(work, project);
    mkdirSync(artifacts);
    for (const name of ['manifest.json', 'catalog.json'])
      writeFileSync(join(artifacts, name), gunzipSync(readFileSync(join(dir, `${name}.gz`))));
    const filter = JSON.parse(readFileSync(join(dir, 'filter.json'), 'utf8')) as string[];
    for (const covType of ['doc', 'test']) {
      for (const [suffix, filters] of [
        ['', null],
        ['-filtered', filter],
      ] as const) {
        const base = resolve(dir, `expected-${covType}${suffix}`);
        execFileSync('python3', [
          join(work, 'driver.py'),
          artifacts,
          `${base}.txt`,
          covType,
          'string',
          `${base}.json`,
          JSON.stringify(filters),
        ]);
        execFileSync('python3', [
          join(work, 'driver.py'),
          artifacts,
          `${base}.md`,
          covType,
          'markdown',
          join(work, 'ignored.json'),
          JSON.stringify(filters),
        ]);
      }
    }
    process.stdout.write(`${project}: expected outputs written\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
