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
 * only its outputs are committed, as expected-<doc|test|unit-test>.{txt,md,json} beside each
 * fixture (filtered variants as expected-<type>-filtered.*, with --model-path-filter and with
 * --model-path-exclusion-filter), and what its compare prints (expected-compare-<type>.{txt,md})
 * for the report against a baseline derived from it (baseline-<type>.json, written here: a table
 * removed, one fully covered, one missing a column, one that no longer exists). Python's set
 * order decides the order of compare's new misses; PYTHONHASHSEED=0 keeps the recording stable.
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

interface ReportJson {
  cov_type: string;
  tables: { name: string; hits: number; covered: number; total: number; columns: Record<string, unknown>[] }[];
}

/**
 * A baseline that differs from a report in every way compare counts: its first table absent (new
 * in the report), its second fully covered (misses that are new), its third without its last
 * column (a column that is new), and a table the report no longer has.
 */
function deriveBaseline(report: ReportJson): ReportJson {
  const tables = report.tables.map((t) => ({ ...t, columns: t.columns.map((c) => ({ ...c })) }));
  const [, second, third] = tables;
  if (second) {
    if (report.cov_type === 'unit-test') second.hits = 2;
    for (const c of second.columns) Object.assign(c, { hits: 1, covered: 1, coverage: 1.0 });
  }
  if (third) third.columns = third.columns.slice(0, -1);
  tables.push({
    name: 'old.removed_table',
    hits: 1,
    covered: 1,
    total: 1,
    columns: report.cov_type === 'unit-test' ? [] : [{ name: 'id', hits: 1, covered: 1, total: 1, coverage: 1.0 }],
  });
  return { ...report, tables: tables.slice(1) };
}
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
if sys.argv[1] == 'compare':
    report, baseline, out, fmt = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        dc.do_compare(Path(report), Path(baseline), dc.OutputFormat(fmt))
    Path(out).write_text(buf.getvalue())
    sys.exit(0)
artifacts, out, cov_type, fmt, report = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
filters = json.loads(sys.argv[6])
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    dc.do_compute(run_artifacts_dir=Path(artifacts), cov_report=Path(report), cov_type=dc.CoverageType(cov_type),
                  model_path_filter=filters.get('keep'), model_path_exclusion_filter=filters.get('drop'),
                  output_format=dc.OutputFormat(fmt))
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
    const python = (args: string[]) =>
      execFileSync('python3', [join(work, 'driver.py'), ...args], { env: { ...process.env, PYTHONHASHSEED: '0' } });
    for (const covType of ['doc', 'test', 'unit-test']) {
      for (const [suffix, filters] of [
        ['', {}],
        ['-filtered', { keep: filter }],
        ['-excluded', { drop: filter }],
      ] as const) {
        const base = resolve(dir, `expected-${covType}${suffix}`);
        python([artifacts, `${base}.txt`, covType, 'string', `${base}.json`, JSON.stringify(filters)]);
        python([artifacts, `${base}.md`, covType, 'markdown', join(work, 'ignored.json'), JSON.stringify(filters)]);
      }
      const report = resolve(dir, `expected-${covType}.json`);
      const baseline = resolve(dir, `baseline-${covType}.json`);
      writeFileSync(baseline, `${JSON.stringify(deriveBaseline(JSON.parse(readFileSync(report, 'utf8'))), null, 2)}\n`);
      for (const [ext, fmt] of [
        ['txt', 'string'],
        ['md', 'markdown'],
      ] as const)
        python(['compare', report, baseline, resolve(dir, `expected-compare-${covType}.${ext}`), fmt]);
    }
    process.stdout.write(`${project}: expected outputs written\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
