import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { FakeAccount, FakeRun } from '../harness/fake-dbt-cloud/model.ts';
import type { FakeGcs } from '../harness/fake-gcs/server.ts';
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

const NAME = (file: string, command: string): string =>
  file === 'run_results.json' ? `${command.replace(/ /g, '_').replace(/-/g, '_')}_run_results.json` : file;

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
    if (!account.artifactsSaved(run)) continue;
    for (const f of account.expectedFiles(run.id)) {
      out.set(`${dir}/step=${f.step}/${NAME(f.file, f.command)}`, { runId: run.id, step: f.step, file: f.file, size: f.size });
    }
  }
  return out;
}

export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
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
export async function objectMismatches(account: FakeAccount, runs: readonly FakeRun[], objects: readonly { name: string; sha256: string; data: Buffer | null }[], prefix = ''): Promise<string[]> {
  const expected = expectedTree(account, runs, prefix);
  const ids = new Set(runs.map((r) => r.id));
  const mine = objects.filter((o) => ids.has(Number(/(?:^|\/)run_id=(\d+)\//.exec(o.name)?.[1])));
  const names = new Set(mine.map((o) => o.name));
  const mismatches: string[] = [];
  for (const o of mine) {
    const want = expected.get(o.name);
    if (!want) mismatches.push(`extra ${o.name}`);
    else if (want.step > 0 && o.sha256 !== (await account.artifact(want.runId, want.step, want.file).sha256())) mismatches.push(`different ${o.name}`);
    else if (want.step === 0 && o.data && (JSON.parse(o.data.toString('utf8')) as { id?: unknown }).id !== want.runId) mismatches.push(`wrong run in ${o.name}`);
  }
  for (const name of expected.keys()) if (!names.has(name)) mismatches.push(`missing ${name}`);
  return mismatches;
}

/** `_run.json` objects present without every artifact of their run: what the marker-last rule forbids. */
export function markersWithoutArtifacts(expected: ReadonlyMap<string, ExpectedObject>, present: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const marker of [...expected.keys()].filter((k) => k.endsWith('/_run.json') && present.has(k))) {
    const folder = marker.slice(0, -'_run.json'.length);
    const missing = [...expected.keys()].filter((k) => k.startsWith(folder) && !present.has(k));
    if (missing.length > 0) out.push(`${marker} without ${missing.join(', ')}`);
  }
  return out;
}

/** Stores the given expected artifacts in the fake bucket first, byte for byte, as another harvester would have. */
export async function storedByAnotherWriter(gcs: FakeGcs, bucket: string, account: FakeAccount, objects: readonly (readonly [string, ExpectedObject])[]): Promise<void> {
  for (const [name, o] of objects) {
    const chunks: Buffer[] = [];
    for await (const c of account.artifact(o.runId, o.step, o.file).stream) chunks.push(c as Buffer);
    gcs.put(bucket, name, Buffer.concat(chunks), 'application/json');
  }
}
