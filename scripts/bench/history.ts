import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFakeGcs } from '../../harness/fake-gcs/server.ts';
import { results, rows, MB, log } from './shared.ts';

/**
 * `history` over 10,000 and 365,000 stored runs (the demo's project: three jobs, plus jobs of 50
 * runs a day; rows only), each in its own process: the first read (which compacts each past day)
 * and the second (a request per day); then, over a bucket (the fake Cloud Storage, 10,000 runs),
 * the requests of each read.
 */
async function historyRead(
  from: string,
  out: string,
  env: Record<string, string> = {},
  coverage = false,
  code = process.cwd(),
) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(code, 'scripts/bench-history-child.ts'), '--from', from, '--out', out, ...(coverage ? ['--coverage'] : [])],
    { maxBuffer: 1 << 20, env: { ...process.env, ...env }, cwd: code },
  );
  const r = JSON.parse(stdout) as { code: number; stderr: string; seconds: number; maxRssMb: number };
  if (r.code !== 0) throw new Error(`history exited ${r.code}: ${r.stderr}`);
  const { stat } = await import('node:fs/promises');
  return {
    seconds: Number(r.seconds.toFixed(1)),
    maxRssMb: Number(r.maxRssMb.toFixed(1)),
    reportBytes: (await stat(out)).size,
    note: r.stderr.trim(),
  };
}

/**
 * The upgrade path: a destination harvested before the rollup existed (harness/history-upgrade.ts:
 * runs of many jobs over a year, each with its `_run.json` and its docs step's coverage.json, no
 * rows), read by `coverage history --format json` for the first time, then a second time.
 */
async function upgradeRead(figures: Record<string, unknown>): Promise<void> {
  const { writeUpgradeHistory } = await import('../../harness/history-upgrade.ts');
  const tables = Number(process.env['BENCH_UPGRADE_TABLES'] ?? 100);
  const shapes = [
    { runs: 10_000, jobs: 40 },
    { runs: 100_000, jobs: 274 },
  ].filter((s) => s.runs <= Number(process.env['BENCH_UPGRADE_MAX_RUNS'] ?? 100_000));
  const peaks: number[] = [];
  for (const shape of shapes) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-upgrade-'));
    try {
      const { bytes } = await writeUpgradeHistory(join(dir, 'bucket'), { ...shape, days: 365, tables });
      log(
        `history: upgrade path, ${shape.runs} runs of ${shape.jobs} jobs over a year, each with a coverage.json of ${tables} tables (${(bytes / 1024).toFixed(0)} KiB) and no row; coverage history, first read then second`,
      );
      const first = await historyRead(join(dir, 'bucket'), join(dir, 'first.json'), {}, true);
      const second = await historyRead(join(dir, 'bucket'), join(dir, 'second.json'), {}, true);
      figures[`upgrade${shape.runs}`] = { ...shape, tables, first, second };
      peaks.push(first.maxRssMb);
      rows.push([
        'history',
        `upgrade: first read of ${shape.runs} runs without rows (${shape.jobs} jobs)`,
        `${first.seconds} s, peak RSS ${first.maxRssMb} MB`,
        `<= 300 MB: ${first.maxRssMb <= 300 ? 'yes' : 'NO'}`,
      ]);
      rows.push([
        'history',
        `upgrade: second read of the same`,
        `${second.seconds} s, peak RSS ${second.maxRssMb} MB`,
        '',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  if (peaks.length === 2)
    rows.push([
      'history',
      'upgrade: first read, 100k runs against 10k',
      `+${(peaks[1]! - peaks[0]!).toFixed(1)} MB`,
      `<= 50 MB: ${peaks[1]! - peaks[0]! <= 50 ? 'yes' : 'NO'}`,
    ]);
}

/**
 * How soon a report is usable in Chromium: from asking for the page to its load event, then until
 * choosing a job in the filter has narrowed the page (the filter answers), in seconds.
 */
async function openInChromium(file: string): Promise<{ loadSeconds: number; interactiveSeconds: number } | null> {
  const { chromiumPath, launchChromium } = await import('../../harness/browser.ts');
  if (chromiumPath() === undefined) return null;
  const { pathToFileURL } = await import('node:url');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const started = performance.now();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const loaded = performance.now();
    const job = await page.$eval('#job-filter option[data-env]', (o) => o.getAttribute('value')!);
    await page.selectOption('#job-filter', job);
    await page.waitForFunction(() => {
      const d = (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } | null } })
        .document;
      return (d.getElementById('job-filter-note')?.textContent ?? '') !== '';
    });
    const interactive = performance.now();
    return {
      loadSeconds: Number(((loaded - started) / 1000).toFixed(2)),
      interactiveSeconds: Number(((interactive - started) / 1000).toFixed(2)),
    };
  } finally {
    await browser.close();
  }
}

/**
 * The year's report (issue 34): written from the rollup, its size, how soon Chromium can use it;
 * beside the previous version's when BENCH_PREVIOUS names a checkout of it (its own node_modules).
 */
async function yearReport(bucket: string, dir: string, runs: number): Promise<Record<string, unknown>> {
  const now = await historyRead(bucket, join(dir, 'year.html'));
  const opened = await openInChromium(join(dir, 'year.html'));
  rows.push([
    'report',
    `a year's report from the rollup (${runs} runs): written in`,
    `${now.seconds} s, peak RSS ${now.maxRssMb} MB`,
    `<= 10 s: ${now.seconds <= 10 ? 'yes' : 'NO'}`,
  ]);
  rows.push([
    'report',
    'its size',
    `${(now.reportBytes / MB).toFixed(2)} MB`,
    `<= 8 MB: ${now.reportBytes <= 8 * MB ? 'yes' : 'NO'}`,
  ]);
  if (opened)
    rows.push([
      'report',
      'in Chromium: loaded, then a job chosen in the filter has narrowed the page',
      `${opened.loadSeconds} s, ${opened.interactiveSeconds} s`,
      `<= 2 s: ${opened.interactiveSeconds <= 2 ? 'yes' : 'NO'}`,
    ]);
  const previous = process.env['BENCH_PREVIOUS'];
  let before: Record<string, unknown> | null = null;
  if (previous) {
    // Its own first read first: a version before compacted days of version 2 does not read them,
    // and compacts the days its own way (then timed, as this version's second read is).
    await historyRead(bucket, join(dir, 'year-previous.html'), {}, false, previous);
    const then = await historyRead(bucket, join(dir, 'year-previous.html'), {}, false, previous);
    before = then;
    rows.push([
      'report',
      `the same with the previous version (${previous})`,
      `${then.seconds} s, peak RSS ${then.maxRssMb} MB, ${(then.reportBytes / MB).toFixed(2)} MB`,
      '',
    ]);
  }
  return { now, opened, previous: before };
}

/** The benchmark's history part (npm run bench -- --only history). */
export async function historyPart(): Promise<void> {
  const { writeHistoryDemo } = await import('../../harness/history-demo.ts');
  const sizes = [
    { runs: '10k', days: 20, extraJobs: 10 },
    { runs: '365k', days: 365, extraJobs: 20 },
  ];
  const figures: Record<string, unknown> = {};
  for (const size of sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-history-'));
    try {
      const written = await writeHistoryDemo(join(dir, 'bucket'), {
        days: size.days,
        extraJobs: size.extraJobs,
        extraRunsPerDay: 50,
        rowsOnly: true,
      });
      log(
        `history: ${written.runs} stored runs (${written.jobs} jobs, ${size.days} days), first read then second, each in its own process`,
      );
      const first = await historyRead(join(dir, 'bucket'), join(dir, 'first.html'));
      const second = await historyRead(join(dir, 'bucket'), join(dir, 'second.html'));
      figures[size.runs] = { runs: written.runs, first, second };
      if (size.runs === '365k') figures['yearReport'] = await yearReport(join(dir, 'bucket'), dir, written.runs);
      rows.push([
        'history',
        `history over ${written.runs} runs, first read (compacts each past day)`,
        `${first.seconds} s, peak RSS ${first.maxRssMb} MB`,
        '',
      ]);
      rows.push([
        'history',
        `history over ${written.runs} runs, second read (report ${(second.reportBytes / MB).toFixed(2)} MB)`,
        `${second.seconds} s, peak RSS ${second.maxRssMb} MB`,
        size.runs === '365k' ? `< 300 MB: ${second.maxRssMb < 300 && first.maxRssMb < 300 ? 'yes' : 'NO'}` : '',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const small = figures['10k'] as { second: { maxRssMb: number } };
  const large = figures['365k'] as { second: { maxRssMb: number } };
  rows.push([
    'history',
    'peak RSS, 365k runs against 10k',
    `+${(large.second.maxRssMb - small.second.maxRssMb).toFixed(1)} MB`,
    `< 50 MB: ${large.second.maxRssMb - small.second.maxRssMb < 50 ? 'yes' : 'NO'}`,
  ]);
  // Requests on a bucket: the fake Cloud Storage, under the real client.
  const gcs = await startFakeGcs();
  const dir = await mkdtemp(join(tmpdir(), 'bench-history-gcs-'));
  try {
    const written = await writeHistoryDemo(join(dir, 'bucket'), {
      days: 20,
      extraJobs: 10,
      extraRunsPerDay: 50,
      rowsOnly: true,
    });
    const { readdir, readFile } = await import('node:fs/promises');
    const files = (await readdir(join(dir, 'bucket'), { recursive: true, withFileTypes: true })).filter((e) =>
      e.isFile(),
    );
    for (const f of files) {
      const full = join(f.parentPath, f.name);
      gcs.put('bench', full.slice(join(dir, 'bucket').length + 1), await readFile(full), 'application/json');
    }
    const count = async () => {
      const before = gcs.requests.length;
      await historyRead('gs://bench', join(dir, 'r.html'), {
        STORAGE_API_ENDPOINT: gcs.url,
        METADATA_SERVER_DETECTION: 'none',
      });
      const reqs = gcs.requests.slice(before);
      return {
        requests: reqs.length,
        gets: reqs.filter((r) => r.op === 'get').length,
        lists: reqs.filter((r) => r.op === 'list').length,
        uploads: reqs.filter((r) => r.op === 'upload').length,
      };
    };
    const first = await count();
    const second = await count();
    figures['bucket'] = { runs: written.runs, first, second };
    rows.push([
      'history',
      `bucket of ${written.runs} runs, first read`,
      `${first.requests} requests (${first.lists} lists, ${first.gets} reads, ${first.uploads} days written)`,
      '',
    ]);
    rows.push([
      'history',
      `bucket of ${written.runs} runs, second read`,
      `${second.requests} requests (${second.lists} lists, ${second.gets} reads)`,
      `< runs/10: ${second.requests < written.runs / 10 ? 'yes' : 'NO'}`,
    ]);
  } finally {
    await gcs.stop();
    await rm(dir, { recursive: true, force: true });
  }
  await upgradeRead(figures);
  results['history'] = figures;
}
