import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RunSchema, type Run } from '../../../lib/core/run-model.ts';
import type { ArtifactResult } from '../../../lib/dbt-cloud/client.ts';
import { harvestRun, type RunSource } from '../../../lib/harvest/run-harvest.ts';
import type { ArtifactSink, WriteOptions, WriteResult } from '../../../lib/storage/index.ts';

/** harvestRun against a run source and a store in memory: what it writes, in which order. */
const FINISHED = '2022-06-01 09:30:00.123456+00:00';
const STEPS = [
  'Clone Git Repository',
  'Invoke dbt with `dbt deps`',
  'Invoke dbt with `dbt run`',
  'Invoke dbt with `dbt docs generate`',
];

function run(extra: Record<string, unknown> = {}): Run {
  return RunSchema.parse({
    id: 7,
    account_id: 1,
    project_id: 2,
    environment_id: 3,
    job_definition_id: 4,
    status: 10,
    created_at: '2022-06-01 09:00:00+00:00',
    finished_at: FINISHED,
    artifacts_saved: true,
    run_steps: STEPS.map((name, i) => ({ id: 100 + i, index: i + 1, name })),
    ...extra,
  });
}

function source(
  r: Run,
  files: Record<string, string>,
  failing?: string,
  listed: string[] = [],
): RunSource & { gets: string[] } {
  const gets: string[] = [];
  return {
    accountId: 1,
    gets,
    getRun: async () => r,
    listRunArtifacts: async () => listed,
    getRunArtifact: async (_id: number, path: string, step?: number): Promise<ArtifactResult> => {
      gets.push(`${step}/${path}`);
      const text = files[`${step}/${path}`];
      if (`${step}/${path}` === failing) throw new Error('connection reset');
      if (text === undefined) return { found: false, url: path };
      return {
        found: true,
        url: path,
        body: Readable.from([Buffer.from(text)]),
        contentLength: text.length,
        contentType: 'application/json',
      };
    },
  };
}

function memoryStore(): ArtifactSink & { objects: Map<string, string>; order: string[] } {
  const objects = new Map<string, string>();
  const order: string[] = [];
  return {
    description: 'memory',
    objects,
    order,
    exists: async (path) => objects.has(path),
    async write(path: string, body: Readable, _o: WriteOptions): Promise<WriteResult> {
      if (objects.has(path)) return { status: 'exists', bytes: 0 };
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      objects.set(path, Buffer.concat(chunks).toString());
      order.push(path);
      return { status: 'stored', bytes: Buffer.concat(chunks).length };
    },
  };
}

const DIR = 'date=2022-06-01/hour=09/job_id=4/run_id=7';
const FILES = {
  '3/manifest.json': '{"nodes":{}}',
  '3/run_results.json': '{"results":[]}',
  '4/manifest.json': '{"nodes":{}}',
  '4/catalog.json': '{"nodes":{},"sources":{}}',
  '4/run_results.json': '{"results":[]}',
};

describe('harvestRun', () => {
  it("stores each dbt step's files under the step's own index, and _run.json last, as dbt Cloud wrote the run", async () => {
    const store = memoryStore();
    const outcome = await harvestRun(7, {
      client: source(run(), FILES),
      store,
      artifacts: ['manifest.json', 'catalog.json', 'run_results.json'],
      coverage: false,
    });
    // Five artifacts and the summaries of the two steps with run results.
    expect(outcome).toMatchObject({ status: 'stored', files: 7, path: DIR });
    expect(store.order.at(-1)).toBe(`${DIR}/_run.json`);
    expect([...store.objects.keys()].sort()).toEqual(
      [
        `${DIR}/_run.json`,
        `${DIR}/step=3/manifest.json`,
        `${DIR}/step=3/run_run_results.json`,
        `${DIR}/step=3/summary.json`,
        `${DIR}/step=4/catalog.json`,
        `${DIR}/step=4/docs_generate_run_results.json`,
        `${DIR}/step=4/manifest.json`,
        `${DIR}/step=4/summary.json`,
        `_history/rows/date=${FINISHED.slice(0, 10)}/job_id=4/run_id=7.json`,
      ].sort(),
    );
    expect(JSON.parse(store.objects.get(`${DIR}/_run.json`)!).finished_at).toBe(FINISHED);
  });

  it('asks each step only for what its command writes, and the last step for what the run lists', async () => {
    const store = memoryStore();
    const files = { ...FILES, '3/semantic_manifest.json': '{"semantic_models":[]}', '4/semantic_manifest.json': '{}' };
    const src = source(run(), files, undefined, [
      'manifest.json',
      'catalog.json',
      'run_results.json',
      'semantic_manifest.json',
      'compiled/x.sql',
    ]);
    const outcome = await harvestRun(7, { client: src, store, artifacts: 'all', coverage: false });
    expect(outcome).toMatchObject({ status: 'stored' });
    // No sources.json or catalog.json asked of `dbt run`; nothing nested; the extra name asked of the step that parses too.
    expect(src.gets.sort()).toEqual([
      '3/manifest.json',
      '3/run_results.json',
      '3/semantic_manifest.json',
      '4/catalog.json',
      '4/manifest.json',
      '4/run_results.json',
      '4/semantic_manifest.json',
    ]);
    expect(store.objects.has(`${DIR}/step=3/semantic_manifest.json`)).toBe(true);
  });

  it('fails the run, after retrying, when a file the run lists answers 404', async () => {
    const store = memoryStore();
    const src = source(run(), FILES, undefined, [
      'manifest.json',
      'catalog.json',
      'run_results.json',
      'semantic_manifest.json',
    ]);
    const outcome = await harvestRun(7, {
      client: src,
      store,
      artifacts: 'all',
      coverage: false,
      sleep: async () => {},
    });
    expect(outcome).toMatchObject({
      status: 'failed',
      retriable: true,
      error: expect.stringContaining(
        'dbt Cloud lists semantic_manifest.json for this run, but answered 404 for step 4',
      ),
    });
    expect(src.gets.filter((g) => g === '4/semantic_manifest.json')).toHaveLength(3);
    expect(store.objects.has(`${DIR}/_run.json`)).toBe(false);
  });

  it('recognises a stored run from the hint alone, without asking dbt Cloud', async () => {
    const store = memoryStore();
    store.objects.set(`${DIR}/_run.json`, '{}');
    const src = source(run(), FILES);
    let asked = 0;
    const outcome = await harvestRun(
      7,
      {
        client: {
          ...src,
          getRun: async () => {
            asked++;
            return run();
          },
        },
        store,
        artifacts: ['manifest.json'],
      },
      { jobId: 4, finishedAt: new Date('2022-06-01T09:30:00.123Z') },
    );
    expect(outcome).toMatchObject({ status: 'skipped', reason: 'already stored' });
    expect(asked).toBe(0);
  });

  it('leaves a fresh run whose artifacts are not saved for later, and stores an old one as metadata alone', async () => {
    const fresh = run({ artifacts_saved: false });
    const now = () => Date.parse('2022-06-01T09:40:00Z');
    const store = memoryStore();
    expect(
      await harvestRun(7, { client: source(fresh, FILES), store, artifacts: ['manifest.json'], now }),
    ).toMatchObject({ status: 'not-ready' });
    expect(store.objects.size).toBe(0);
    const later = () => Date.parse('2022-06-01T12:00:00Z');
    expect(
      await harvestRun(7, { client: source(fresh, FILES), store, artifacts: ['manifest.json'], now: later }),
    ).toMatchObject({ status: 'stored', files: 0 });
    expect([...store.objects.keys()]).toEqual([
      `_history/rows/date=${FINISHED.slice(0, 10)}/job_id=4/run_id=7.json`,
      `${DIR}/_run.json`,
    ]);
  });

  it('marks nothing stored when a file cannot be had: no _run.json, the failure named', async () => {
    const store = memoryStore();
    const outcome = await harvestRun(7, {
      client: source(run(), FILES, '4/catalog.json'),
      store,
      artifacts: ['manifest.json', 'catalog.json'],
      fileAttempts: 2,
      sleep: async () => {},
      coverage: false,
    });
    expect(outcome).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/step 4 catalog\.json: connection reset/),
      retriable: true,
    });
    expect(store.objects.has(`${DIR}/_run.json`)).toBe(false);
  });

  it('skips a run outside the scope without reading a file', async () => {
    const src = source(run(), FILES);
    const outcome = await harvestRun(7, {
      client: src,
      store: memoryStore(),
      artifacts: ['manifest.json'],
      scope: { projectId: 99, includeCancelled: false },
    });
    expect(outcome).toMatchObject({ status: 'skipped' });
    expect(src.gets).toEqual([]);
  });
});

describe('harvestRun after a harvest killed mid-run', () => {
  it("still writes a step's summaries when its artifacts were stored before: their facts are read from a second download", async () => {
    const store = memoryStore();
    const manifest = JSON.stringify({
      nodes: { 'model.p.a': { unique_id: 'model.p.a', resource_type: 'model', description: 'A' } },
    });
    const files = { ...FILES, '3/manifest.json': manifest, '4/manifest.json': manifest };
    // What the killed harvest stored: the artifacts of both steps, but no summary and no _run.json.
    for (const name of ['step=3/manifest.json', 'step=3/run_run_results.json', 'step=4/manifest.json'])
      store.objects.set(`${DIR}/${name}`, name.endsWith('manifest.json') ? manifest : '{"results":[]}');
    const src = source(run(), files);
    const outcome = await harvestRun(7, {
      client: src,
      store,
      artifacts: ['manifest.json', 'catalog.json', 'run_results.json'],
    });
    expect(outcome).toMatchObject({ status: 'stored' });
    for (const step of [3, 4]) {
      const coverage = JSON.parse(store.objects.get(`${DIR}/step=${step}/coverage.json`) ?? 'null');
      expect(coverage?.models, `step ${step}`).toMatchObject({ total: 1, documented: 1 });
    }
    expect(store.objects.has(`${DIR}/step=3/summary.json`)).toBe(true);
    // Downloaded twice: the files stored before whose facts a summary needs; the rest once.
    expect(src.gets.filter((g) => g === '3/manifest.json')).toHaveLength(2);
    expect(src.gets.filter((g) => g === '4/catalog.json')).toHaveLength(1);
  });
});
