import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startFakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { buildOnce } from '../../harness/services.ts';
import { values, ONE_RUN, results, rows, log, median, alternately, harvestInChild } from './shared.ts';

/**
 * A large project of real shape (harness/big-project.ts: a public project's manifest and catalog
 * copied 300 times): the facts readers against JSON.parse and dbt-coverage (where a checkout of it
 * is given), `coverage compute`, and harvesting the project's `docs generate` step with coverage on
 * and off, each in its own process.
 */
async function child(script: string, args: string[], env: Record<string, string> = {}) {
  const { stdout } = await promisify(execFile)(process.execPath, [script, ...args], {
    maxBuffer: 1 << 20,
    env: { ...process.env, ...env },
  });
  return JSON.parse(stdout) as { bytes: number; seconds: number; maxRssMb: number; detail: unknown };
}

/**
 * The built CLI in its own process, as a user runs it: seconds from spawn to exit (Node's start and
 * the CLI's modules included) and the process's own peak RSS, which a preloaded hook reads from
 * /proc/self/status as it exits.
 */
async function cliProcess(args: string[]): Promise<{ bytes: number; seconds: number; maxRssMb: number }> {
  await buildOnce();
  const peakFile = join(await mkdtemp(join(tmpdir(), 'bench-peak-')), 'peak');
  const hook = `import{readFileSync,writeFileSync}from'node:fs';process.on('exit',()=>writeFileSync(${JSON.stringify(peakFile)},/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status','utf8'))[1]))`;
  const started = performance.now();
  await promisify(execFile)(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, 'dist/lib/cli/main.js', ...args],
    {
      maxBuffer: 1 << 26,
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const maxRssMb = Number(await readFile(peakFile, 'utf8')) / 1024;
  await rm(dirname(peakFile), { recursive: true, force: true });
  return { bytes: 0, seconds, maxRssMb };
}

/** The benchmark's coverage part (npm run bench -- --only coverage). */
export async function coveragePart(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-coverage-'));
  try {
    const { writeBigProject } = await import('../../harness/big-project.ts');
    const copies = Number(values.copies);
    await writeBigProject(join(dir, 'project'), copies);
    const project = join(dir, 'project');
    const { stat } = await import('node:fs/promises');
    const sizes = {
      manifest: (await stat(join(project, 'manifest.json'))).size,
      catalog: (await stat(join(project, 'catalog.json'))).size,
    };
    log(
      `coverage: a public project copied ${copies} times (manifest ${(sizes.manifest / 1e6).toFixed(0)} MB, catalog ${(sizes.catalog / 1e6).toFixed(0)} MB); each measure in its own process`,
    );
    // The reader and the CLI: the median of three runs each, taken in turn (one run is noise here).
    const read = await median(3, () => child('scripts/bench-coverage-child.ts', ['--mode', 'read', '--dir', project]));
    const parse = await child('scripts/bench-coverage-child.ts', ['--mode', 'parse', '--dir', project]);
    const compute = await median(3, () =>
      cliProcess([
        'coverage',
        'compute',
        'doc',
        '--run-artifacts-dir',
        project,
        '--cov-report',
        join(dir, 'report.json'),
      ]),
    );
    const mbps = (r: { bytes: number; seconds: number }) => (r.bytes / 1e6 / r.seconds).toFixed(0);
    const figures: Record<string, unknown> = { sizes, read, parse, compute };
    rows.push([
      'coverage',
      `facts reader over manifest and catalog (${((sizes.manifest + sizes.catalog) / 1e6).toFixed(0)} MB; median of 3, each a cold process)`,
      `${read.seconds.toFixed(2)} s (${mbps(read)} MB/s), peak RSS ${read.maxRssMb.toFixed(0)} MB`,
      `>= 300 MB/s: ${Number(mbps(read)) >= 300 ? 'yes' : 'NO'}`,
    ]);
    rows.push([
      'coverage',
      'JSON.parse of both, read whole',
      `${parse.seconds.toFixed(2)} s (${mbps(parse)} MB/s), peak RSS ${parse.maxRssMb.toFixed(0)} MB`,
      '',
    ]);
    rows.push([
      'coverage',
      '`coverage compute doc` as a user runs it (the built CLI, start to exit: reads, computes, prints, writes the report; median of 3)',
      `${compute.seconds.toFixed(2)} s, peak RSS ${compute.maxRssMb.toFixed(0)} MB`,
      `<= 300 MB: ${compute.maxRssMb <= 300 ? 'yes' : 'NO'}`,
    ]);
    // dbt-coverage 0.4.2 itself, where a checkout is given and python3 runs it.
    const checkout = values['dbt-coverage'];
    if (!checkout)
      rows.push(['coverage', 'dbt-coverage 0.4.2', 'skipped: give --dbt-coverage DIR (a git checkout)', '']);
    else {
      try {
        const work = join(dir, 'dbt-coverage');
        const { mkdir } = await import('node:fs/promises');
        await mkdir(join(work, 'dbt_coverage'), { recursive: true });
        await mkdir(join(work, 'typer'), { recursive: true });
        const { stdout: module } = await promisify(execFile)(
          'git',
          ['-C', checkout, 'show', 'v0.4.2:dbt_coverage/__init__.py'],
          {
            maxBuffer: 1 << 24,
          },
        );
        await writeFile(join(work, 'dbt_coverage', '__init__.py'), module);
        await writeFile(
          join(work, 'typer', '__init__.py'),
          'class Typer:\n    def __init__(self, *a, **k): pass\n    def command(self, *a, **k): return lambda f: f\n    def callback(self, *a, **k): return lambda f: f\ndef Option(*a, **k): return None\ndef Argument(*a, **k): return None\n',
        );
        const driver = `import contextlib, io, json, resource, sys, time
from pathlib import Path
sys.path.insert(0, ${JSON.stringify(work)})
import dbt_coverage as dc
t = time.time()
with contextlib.redirect_stdout(io.StringIO()):
    dc.do_compute(run_artifacts_dir=Path(${JSON.stringify(project)}), cov_report=Path(${JSON.stringify(join(dir, 'dbt-coverage.json'))}), cov_type=dc.CoverageType('doc'))
print(json.dumps({"seconds": time.time() - t, "maxRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;
        await writeFile(join(work, 'driver.py'), driver);
        const { stdout } = await promisify(execFile)('python3', [join(work, 'driver.py')], { maxBuffer: 1 << 20 });
        const theirs = JSON.parse(stdout.trim().split('\n').at(-1)!) as { seconds: number; maxRssMb: number };
        figures['dbtCoverage'] = theirs;
        rows.push([
          'coverage',
          'dbt-coverage 0.4.2 `compute doc`, same project',
          `${theirs.seconds.toFixed(1)} s, peak RSS ${theirs.maxRssMb.toFixed(0)} MB`,
          `ours >= 10x faster: ${theirs.seconds / compute.seconds >= 10 ? 'yes' : 'NO'} (${(theirs.seconds / compute.seconds).toFixed(1)}x); RSS <= a tenth: ${compute.maxRssMb <= theirs.maxRssMb / 10 ? 'yes' : 'NO'}`,
        ]);
      } catch (err) {
        rows.push(['coverage', 'dbt-coverage 0.4.2', `skipped: ${String(err).split('\n')[0]}`, '']);
      }
    }
    // Harvesting the project's `docs generate` step, as harvestRun runs, coverage on and off.
    const { createReadStream } = await import('node:fs');
    const fake = await startFakeDbtCloud({
      ...ONE_RUN,
      uniform: { executeSteps: ['dbt docs generate'] },
      extraArtifacts: () => false,
      bodyOf: (_run, _step, file) =>
        file === 'manifest.json' || file === 'catalog.json'
          ? {
              size: file === 'manifest.json' ? sizes.manifest : sizes.catalog,
              open: () => createReadStream(join(project, file)),
            }
          : undefined,
    });
    try {
      const harvest = (coverage: boolean) => () => harvestInChild(fake, fake.account.runs[0]!.id, { coverage });
      const [on, off] = await alternately(3, harvest(true), harvest(false));
      figures['harvest'] = { on, off };
      rows.push([
        'coverage',
        `harvesting its docs generate step, coverage on (${(on.outcome.bytes / 1e6).toFixed(0)} MB; median of 3, taken in turn with off)`,
        `${on.seconds.toFixed(1)} s, peak RSS ${on.maxRssMb.toFixed(0)} MB`,
        `<= 256 MB: ${on.maxRssMb <= 256 ? 'yes' : 'NO'}`,
      ]);
      rows.push([
        'coverage',
        'the same step, coverage off (every file still checked whole)',
        `${off.seconds.toFixed(1)} s, peak RSS ${off.maxRssMb.toFixed(0)} MB`,
        `on <= 1.5x off: ${on.seconds <= off.seconds * 1.5 ? 'yes' : 'NO'}`,
      ]);
    } finally {
      await fake.stop();
    }
    results['coverage'] = figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
