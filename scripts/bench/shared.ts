import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { DbtCloudClient } from '../../lib/dbt-cloud/client.ts';
import { harvestWindow } from '../../lib/harvest/window.ts';
import { LocalFolder } from '../../lib/storage/local.ts';
import { startFakeDbtCloud, type FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';

export const { values } = parseArgs({
  options: {
    only: {
      type: 'string',
      default: 'memory,throughput,requests,ratelimit,backfill,roundtrips,freshness,history,coverage',
    },
    runs: { type: 'string', default: '500' },
    'fresh-runs': { type: 'string', default: '60' },
    /** A git checkout of dbt-coverage, to run it side by side (skipped without one). */
    'dbt-coverage': { type: 'string' },
    /** Copies of the public project in the large one (300: a 390 MB manifest). */
    copies: { type: 'string', default: '300' },
  },
});
export const only = new Set(values.only.split(','));
export const TOKEN = 'bench-token';
export const DAY = { from: new Date('2022-06-01T00:00:00Z'), to: new Date('2022-06-02T00:00:00Z') };
/** An account of one run in one hour: the parts that measure a single large run. */
export const ONE_RUN = {
  from: new Date('2022-06-01T00:00:00Z'),
  to: new Date('2022-06-01T01:00:00Z'),
  token: TOKEN,
  everyMinutes: 60,
  jobsPerEnvironment: 1,
};
export const results: Record<string, unknown> = {
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  at: new Date().toISOString(),
};
export const rows: string[][] = [];
export const MB = 1024 * 1024;
export const log = (text: string): void => void process.stderr.write(`${text}\n`);

/** The median time and the median peak of a few runs (each of a different run, as it may be). */
export function middleOf<T extends { seconds: number; maxRssMb: number }>(runs: T[]): T {
  const mid = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { ...runs[0]!, seconds: mid(runs.map((r) => r.seconds)), maxRssMb: mid(runs.map((r) => r.maxRssMb)) };
}

/** The medians of a few runs (the machine is shared: one run is noise). */
export async function median<T extends { seconds: number; maxRssMb: number }>(
  times: number,
  run: () => Promise<T>,
): Promise<T> {
  const runs: T[] = [];
  for (let i = 0; i < times; i++) runs.push(await run());
  return middleOf(runs);
}

/** The medians of a few runs of each of two, taken in turn, so that the machine's moods fall on both. */
export async function alternately<T extends { seconds: number; maxRssMb: number }>(
  times: number,
  a: () => Promise<T>,
  b: () => Promise<T>,
): Promise<[T, T]> {
  const as: T[] = [];
  const bs: T[] = [];
  for (let i = 0; i < times; i++) {
    as.push(await a());
    bs.push(await b());
  }
  return [middleOf(as), middleOf(bs)];
}

export async function harvestAll(
  fake: FakeDbtCloud,
  concurrency: number,
  requestsPerMinute: number,
  artifactConcurrency?: number,
): Promise<{
  seconds: number;
  runs: number;
  stored: number;
  requests: number;
  throttled: number;
  notFound: number;
  files: number;
}> {
  const out = await mkdtemp(join(tmpdir(), 'bench-harvest-'));
  const client = new DbtCloudClient({
    baseUrl: fake.url,
    accountId: fake.accountId,
    token: TOKEN,
    requestsPerMinute,
    retry: { maxRetries: 12 },
  });
  const before = fake.requests.length;
  const started = performance.now();
  try {
    const summary = await harvestWindow(
      { start: DAY.from, end: DAY.to },
      { client, store: new LocalFolder(out), artifacts: 'all', artifactConcurrency },
      { concurrency },
    );
    const seconds = (performance.now() - started) / 1000;
    const requests = fake.requests.slice(before);
    const { readdir } = await import('node:fs/promises');
    const stored = (await readdir(out, { recursive: true, withFileTypes: true })).filter(
      (e) =>
        e.isFile() &&
        /(?:^|_)(?:manifest|run_results|catalog|sources|semantic_manifest|graph_summary)\.json$/.test(e.name),
    );
    return {
      seconds: Number(seconds.toFixed(2)),
      runs: summary.runs,
      stored: summary.stored,
      requests: requests.length,
      throttled: requests.filter((r) => r.status === 429).length,
      notFound: requests.filter((r) => r.status === 404).length,
      files: stored.length,
    };
  } finally {
    client.close();
    await rm(out, { recursive: true, force: true });
  }
}

export const runsWanted = Number(values.runs);
export const uniformAccount = (extra: Partial<Parameters<typeof startFakeDbtCloud>[0]>) =>
  startFakeDbtCloud({
    ...DAY,
    token: TOKEN,
    jobsPerEnvironment: 5,
    everyMinutes: (24 * 60 * 20) / runsWanted,
    uniform: { executeSteps: ['dbt seed', 'dbt run', 'dbt test'] },
    // The plain three-step run; the requests section adds semantic models to a third of the runs.
    extraArtifacts: () => false,
    ...extra,
  });

/** The run's folder (lib/core/paths.ts), from what the fake knows. */
export function runFolderOf(finishedAt: Date, jobId: number, runId: number): string {
  const iso = finishedAt.toISOString();
  return `date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/job_id=${jobId}/run_id=${runId}`;
}

/** One run harvested in its own process (scripts/bench-memory-child.ts), as harvestRun runs it by default. */
export async function harvestInChild(
  fake: FakeDbtCloud,
  runId: number,
  options: { coverage?: boolean; tuned?: boolean } = {},
): Promise<{ outcome: { status: string; bytes: number }; seconds: number; maxRssMb: number }> {
  const out = await mkdtemp(join(tmpdir(), 'bench-harvest-'));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        'scripts/bench-memory-child.ts',
        '--url',
        fake.url,
        '--account',
        String(fake.accountId),
        '--token',
        TOKEN,
        '--run',
        String(runId),
        '--out',
        out,
        '--coverage',
        String(options.coverage ?? true),
        '--tuned',
        String(options.tuned ?? true),
      ],
      { maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout) as { outcome: { status: string; bytes: number }; seconds: number; maxRssMb: number };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
