import { createReadStream, type Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { FakeAccount, FakeRun } from '../harness/fake-dbt-cloud/model.ts';
import type { FakeGcs } from '../harness/fake-gcs/server.ts';
import { summarize } from '../lib/coverage/coverage.ts';
import type { CoverageSummary } from '../lib/core/coverage-summary.ts';
import { CatalogReader } from '../lib/facts/catalog.ts';
import { ManifestReader } from '../lib/facts/manifest.ts';
import { readFacts, type ArtifactReader } from '../lib/facts/reader.ts';
import { RunResultsReader, SourcesReader } from '../lib/facts/run-results.ts';
import { HistoryRowSchema } from '../lib/core/history-row.ts';
import { StepSummarySchema, summarizeStep } from '../lib/core/run-facts.ts';
import { sha256Of } from './helpers.ts';

/**
 * The tree a harvest must produce, computed from the fake's truth independently of the product's
 * own naming code: object path -> { runId, step, file } (step 0 is `_run.json`).
 */
export interface ExpectedObject {
  runId: number;
  step: number;
  file: string;
  size?: number;
}

/** Fusion's telemetry file, written independently of the product's own pattern. */
const TELEMETRY = /^metadata\/telemetry-\d+-otel\.parquet$/;

const NAME = (file: string, command: string): string =>
  file === 'run_results.json' ? `${command.replace(/ /g, '_').replace(/-/g, '_')}_run_results.json` : file;

/** Whether a stored object is one of a run's: in its folder, or its row in the history rollup. */
export const ofRun = (name: string, runId: number): boolean =>
  name.includes(`run_id=${runId}/`) || name.endsWith(`/run_id=${runId}.json`);

/** The run an object belongs to (in its folder, or its history row), or NaN. */
export const runIdOf = (name: string): number => Number(/\/run_id=(\d+)(?:\/|\.json$)/.exec(`/${name}`)?.[1]);

/** Objects the harvester derives from the artifacts, rather than copies of them. */
const DERIVED = new Set(['coverage.json', 'summary.json', 'history row']);

export function runFolder(run: FakeRun): string {
  const iso = run.finishedAt.toISOString();
  return `date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/job_id=${run.jobId}/run_id=${run.id}`;
}

export function expectedTree(account: FakeAccount, runs: readonly FakeRun[], prefix = ''): Map<string, ExpectedObject> {
  const out = new Map<string, ExpectedObject>();
  const p = prefix ? `${prefix}/` : '';
  for (const run of runs) {
    const dir = `${p}${runFolder(run)}`;
    out.set(`${dir}/_run.json`, { runId: run.id, step: 0, file: '_run.json' });
    // Its row in the history rollup.
    const iso = run.finishedAt.toISOString();
    out.set(`${p}_history/rows/date=${iso.slice(0, 10)}/job_id=${run.jobId}/run_id=${run.id}.json`, {
      runId: run.id,
      step: -1,
      file: 'history row',
    });
    if (!account.artifactsSaved(run)) continue;
    // Without a list (the run's last step wrote nothing), only the documented names can be found;
    // telemetry only where the list names some (Fusion runs).
    const last = run.steps.at(-1)?.files ?? [];
    const listed = last.length > 0;
    const telemetryListed = last.some((f) => TELEMETRY.test(f));
    for (const f of account.expectedFiles(run.id)) {
      if (!listed && f.file === 'graph_summary.json') continue;
      if (!telemetryListed && TELEMETRY.test(f.file)) continue;
      out.set(`${dir}/step=${f.step}/${NAME(f.file, f.command)}`, {
        runId: run.id,
        step: f.step,
        file: f.file,
        size: f.size,
      });
      // Every step with a manifest has its coverage summary; with run results or freshness, its step summary.
      if (f.file === 'manifest.json')
        out.set(`${dir}/step=${f.step}/coverage.json`, { runId: run.id, step: f.step, file: 'coverage.json' });
      if (f.file === 'run_results.json' || f.file === 'sources.json' || f.file === 'freshness.json')
        out.set(`${dir}/step=${f.step}/summary.json`, { runId: run.id, step: f.step, file: 'summary.json' });
    }
  }
  return out;
}

export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else out.push(relative(root, full).split('\\').join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

export async function sha256File(path: string): Promise<string> {
  return (await sha256Of(createReadStream(path))).sha256;
}

/**
 * Mismatches between stored objects and the truth for `runs`: objects of those runs that should not
 * be there, expected objects missing, artifacts whose bytes differ, `_run.json` of another run.
 */
export async function objectMismatches(
  account: FakeAccount,
  runs: readonly FakeRun[],
  objects: readonly { name: string; sha256: string; data: Buffer | null }[],
  prefix = '',
): Promise<string[]> {
  const expected = expectedTree(account, runs, prefix);
  const ids = new Set(runs.map((r) => r.id));
  const mine = objects.filter((o) => ids.has(Number(/(?:^|\/)run_id=(\d+)(?:\/|\.json$)/.exec(o.name)?.[1])));
  const names = new Set(mine.map((o) => o.name));
  const mismatches: string[] = [];
  for (const o of mine) {
    const want = expected.get(o.name);
    if (!want) mismatches.push(`extra ${o.name}`);
    else if (o.data) {
      const problem = await storedProblem(account, want, o.data);
      if (problem) mismatches.push(`${problem} in ${o.name}`);
    } else if (
      !DERIVED.has(want.file) &&
      want.step > 0 &&
      o.sha256 !== (await account.artifact(want.runId, want.step, want.file).sha256())
    )
      mismatches.push(`different ${o.name}`);
  }
  for (const name of expected.keys()) if (!names.has(name)) mismatches.push(`missing ${name}`);
  return mismatches;
}

/** What is wrong with a stored object, or null: an artifact's bytes, a coverage summary, `_run.json`'s run. */
export async function storedProblem(account: FakeAccount, want: ExpectedObject, data: Buffer): Promise<string | null> {
  if (want.file === 'coverage.json') return coverageMismatch(account, want, data);
  if (want.file === 'summary.json') return stepSummaryMismatch(account, want, data);
  if (want.file === 'history row') return historyRowMismatch(account, want, data);
  if (want.step === 0)
    return (JSON.parse(data.toString('utf8')) as { id?: unknown }).id === want.runId ? null : 'wrong run';
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(data).digest('hex') ===
    (await account.artifact(want.runId, want.step, want.file).sha256())
    ? null
    : 'different bytes';
}

/**
 * How a stored coverage.json differs from the summary of the step's true manifest and catalog
 * (read straight from the fake, not as they streamed through the harvest), or null.
 */
export async function coverageMismatch(
  account: FakeAccount,
  want: ExpectedObject,
  data: Buffer,
): Promise<string | null> {
  const text = data.toString('utf8');
  if (!text.endsWith('\n') || text.slice(0, -1).includes('\n')) return 'not one JSON line';
  const stored = JSON.parse(text) as CoverageSummary;
  const run = account.run(want.runId)!;
  const step = run.steps.find((s) => s.index === want.step)!;
  const manifest = await readFacts(
    account.artifact(want.runId, want.step, 'manifest.json').stream,
    new ManifestReader(),
  );
  const catalog =
    step.files.includes('catalog.json') && step.command === 'docs generate'
      ? await readFacts(account.artifact(want.runId, want.step, 'catalog.json').stream, new CatalogReader())
      : null;
  const expected = summarize(manifest, catalog, { finishedAt: stored.finished_at, jobName: stored.job_name });
  return JSON.stringify(stored) === JSON.stringify(expected) ? null : "a summary other than its artifacts'";
}

/** `_run.json` objects present without every artifact of their run: what the marker-last rule forbids. */
export function markersWithoutArtifacts(
  expected: ReadonlyMap<string, ExpectedObject>,
  present: ReadonlySet<string>,
): string[] {
  const out: string[] = [];
  for (const marker of [...expected.keys()].filter((k) => k.endsWith('/_run.json') && present.has(k))) {
    const folder = marker.slice(0, -'_run.json'.length);
    const missing = [...expected.keys()].filter((k) => k.startsWith(folder) && !present.has(k));
    if (missing.length > 0) out.push(`${marker} without ${missing.join(', ')}`);
  }
  return out;
}

/** Stores the given expected artifacts in the fake bucket first, byte for byte, as another harvester would have. */
export async function storedByAnotherWriter(
  gcs: FakeGcs,
  bucket: string,
  account: FakeAccount,
  objects: readonly (readonly [string, ExpectedObject])[],
): Promise<void> {
  for (const [name, o] of objects) {
    if (DERIVED.has(o.file) || o.step === 0) continue;
    const chunks: Buffer[] = [];
    for await (const c of account.artifact(o.runId, o.step, o.file).stream) chunks.push(c as Buffer);
    gcs.put(bucket, name, Buffer.concat(chunks), 'application/json');
  }
}

/** Reads a file of the fake's with a facts reader, or null when the step has no such file. */
async function factsOf<T>(
  account: FakeAccount,
  runId: number,
  step: number,
  file: string,
  reader: ArtifactReader<T>,
): Promise<T | null> {
  const run = account.run(runId)!;
  if (!run.steps.find((s) => s.index === step)?.files.includes(file)) return null;
  return readFacts(account.artifact(runId, step, file).stream, reader);
}

/** What is wrong with a stored step summary: not one JSON line, or not what the step's files say. */
async function stepSummaryMismatch(account: FakeAccount, want: ExpectedObject, data: Buffer): Promise<string | null> {
  const text = data.toString('utf8');
  if (!text.endsWith('\n') || text.slice(0, -1).includes('\n')) return 'not one JSON line';
  const parsed = StepSummarySchema.safeParse(JSON.parse(text));
  if (!parsed.success) return 'not a step summary';
  const step = account.run(want.runId)!.steps.find((s) => s.index === want.step)!;
  const expected = summarizeStep(
    { index: want.step, command: step.command ?? null },
    await factsOf(account, want.runId, want.step, 'run_results.json', new RunResultsReader()),
    // A dbt freshness step's freshness.json (sources and models) stands over its sources.json.
    (await factsOf(account, want.runId, want.step, 'freshness.json', new SourcesReader('freshness.json'))) ??
      (await factsOf(account, want.runId, want.step, 'sources.json', new SourcesReader())),
  );
  return JSON.stringify(parsed.data) === JSON.stringify(expected) ? null : "a summary other than its step's files'";
}

/** What is wrong with a stored history row: not a row, or not this run's. */
async function historyRowMismatch(account: FakeAccount, want: ExpectedObject, data: Buffer): Promise<string | null> {
  const parsed = HistoryRowSchema.safeParse(JSON.parse(data.toString('utf8')));
  if (!parsed.success) return 'not a history row';
  const run = account.run(want.runId)!;
  if (parsed.data.runId !== run.id || parsed.data.jobId !== run.jobId) return "another run's row";
  if (parsed.data.finishedAt !== run.finishedAt.toISOString()) return 'a row with another finishedAt';
  // Its counts are the nodes of the run's steps, each once, as the last step that executed them left
  // them (docs generate and compile execute nothing); a test listed with "success" was compiled, not run.
  const results = new Map<string, string>();
  for (const step of run.steps) {
    if (step.command === 'docs generate' || step.command === 'compile') continue;
    const facts = await factsOf(account, run.id, step.index, 'run_results.json', new RunResultsReader());
    for (const r of facts?.results ?? []) results.set(r.id, r.status);
  }
  const counted = (prefix: string) =>
    [...results].filter(([id, status]) => id.startsWith(prefix) && !(prefix === 'test.' && status === 'success'))
      .length;
  const { tests, models } = parsed.data;
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  if (sum(tests) !== counted('test.') || sum(models) !== counted('model.'))
    return "a row whose counts are not the run's";
  return null;
}
