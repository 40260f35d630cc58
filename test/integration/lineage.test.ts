import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { startFakeDataplex, startFakeOpenLineage } from '../../harness/fake-lineage.ts';
import {
  FAILING_MODEL,
  MODELS,
  SEEDS,
  SNAPSHOTS,
  byId,
  lineageBodies,
  stepResults,
  tableName,
} from '../../harness/lineage-project.ts';
import { startMetadataServer } from '../../harness/metadata-server.ts';
import { eventProblems, type RunEvent } from '../../lib/lineage/openlineage.ts';
import { jobRunId } from '../../lib/lineage/run-ids.ts';
import { cli, cliProcess } from '../cli.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';

/**
 * A harvested window exported as lineage, as a user runs it: the fake dbt Cloud serves a small
 * BigQuery project's manifest, run results and catalog for every dbt step (harness/
 * lineage-project.ts); the window is harvested into a folder; `lineage export` writes it to a file,
 * POSTs it to a stand-in OpenLineage endpoint, and sends it to a stand-in of Dataplex's API.
 */
const START = '2022-06-01T06:00:00Z';
const END = '2022-06-01T12:00:00Z';
let fake: FakeDbtCloud;
let work: string;
let store: string;
let env: Record<string, string>;
let events: RunEvent[];

/** The parent facet of an event: the dbt Cloud job run. */
const parentOf = (e: RunEvent) =>
  e.run.facets['parent'] as unknown as { run: { runId: string }; job: { namespace: string; name: string } };

const readEvents = async (file: string): Promise<RunEvent[]> =>
  (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent);

beforeAll(async () => {
  fake = await fakeCloud({
    bodyOf: lineageBodies((runId, step) => {
      const s = fake.account.run(runId)?.steps.find((x) => x.index === step);
      return s && { command: s.command, failing: s.failing, startedAt: s.startedAt };
    }),
  });
  work = await mkdtemp(join(tmpdir(), 'lineage-'));
  store = join(work, 'store');
  env = {
    DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
    DBT_CLOUD_TOKEN: TOKEN,
    DBT_CLOUD_HOST: fake.url,
    DBT_CLOUD_REQUESTS_PER_MINUTE: '600000',
  };
  const r = await cli(
    ['retrieve-artifacts-time-interval', '--start-time', START, '--end-time', END, '--output-folder', store],
    env,
  );
  expect(r.code, r.stderr).toBe(0);
  const out = join(work, 'events.jsonl');
  const x = await cli(['lineage', 'export', '--from', store, '--out', out], env);
  expect(x.code, x.stderr).toBe(0);
  events = await readEvents(out);
}, 120_000);

afterAll(async () => {
  await fake.stop();
  await rm(work, { recursive: true, force: true });
});

describe('lineage export over a harvested window', () => {
  it('writes events that validate against the OpenLineage schemas, each with a parent naming its dbt Cloud run', () => {
    expect(events.length).toBeGreaterThan(50);
    const runs = new Set(fake.account.runsFinishedIn(new Date(START), new Date(END)).map((r) => r.id));
    const parents = new Set([...runs].map((id) => jobRunId(fake.accountId, id)));
    for (const e of events) {
      expect(eventProblems(e), JSON.stringify(e).slice(0, 500)).toEqual([]);
      const parent = parentOf(e);
      expect(parents.has(parent.run.runId), parent.run.runId).toBe(true);
    }
  });

  it('gives every model, seed and snapshot each step ran its COMPLETE or FAIL, with its table and parents', () => {
    const truth = fake.account.runsFinishedIn(new Date(START), new Date(END)).filter((r) => r.outcome !== 'cancelled');
    const ends = events.filter((e) => e.eventType === 'COMPLETE' || e.eventType === 'FAIL');
    let checked = 0;
    for (const run of truth)
      for (const step of run.steps) {
        if (!step.command || !step.files.includes('run_results.json')) continue;
        const parent = jobRunId(fake.accountId, run.id);
        const mine = ends.filter((e) => parentOf(e).run.runId === parent && e.outputs.length > 0);
        for (const r of stepResults(step.command, step.failing)) {
          const table = byId.get(r.id);
          if (!table || !['success', 'error'].includes(r.status)) continue;
          const found = mine.filter(
            (e) => e.outputs[0]!.name === tableName(table) && e.eventTime >= step.startedAt.toISOString(),
          );
          expect(found.length, `${r.id} in run ${run.id} step ${step.index}`).toBeGreaterThan(0);
          const end = found[0]!;
          expect(end.eventType).toBe(r.status === 'error' ? 'FAIL' : 'COMPLETE');
          expect(end.outputs[0]!.namespace).toBe('bigquery');
          const parents = table.dependsOn.filter((d) => byId.has(d)).map((d) => tableName(byId.get(d)!));
          expect(end.inputs.map((i) => i.name).sort()).toEqual(parents.sort());
          checked++;
        }
      }
    expect(checked).toBeGreaterThan(20);
    expect(ends.some((e) => e.eventType === 'FAIL' && e.outputs[0]!.name === tableName(byId.get(FAILING_MODEL)!))).toBe(
      true,
    );
    for (const t of [...MODELS, ...SEEDS, ...SNAPSHOTS])
      expect(
        ends.some((e) => e.outputs[0]?.name === tableName(t)),
        t.id,
      ).toBe(true);
  });

  it('gives identical run ids, and identical events, on a second export', async () => {
    const again = join(work, 'again.jsonl');
    const r = await cli(['lineage', 'export', '--from', store, '--out', again], env);
    expect(r.code, r.stderr).toBe(0);
    const second = await readEvents(again);
    expect(second.map((e) => e.run.runId)).toEqual(events.map((e) => e.run.runId));
    expect(second).toEqual(events);
  });

  it('keeps to --since and --job-id', async () => {
    const jobId = fake.account.runsFinishedIn(new Date(START), new Date(END))[0]!.jobId;
    const out = join(work, 'one-job.jsonl');
    const r = await cli(['lineage', 'export', '--from', store, '--job-id', String(jobId), '--out', out], env);
    expect(r.code, r.stderr).toBe(0);
    const mine = await readEvents(out);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e) => parentOf(e).job.name === `job_${jobId}`)).toBe(true);
    const none = await cli(['lineage', 'export', '--from', store, '--since', '2030-01-01', '--out', out], env);
    expect(none.code).toBe(1);
  });

  it('POSTs every event to an OpenLineage endpoint, retrying failed requests without sending any event twice', async () => {
    const endpoint = await startFakeOpenLineage();
    try {
      endpoint.failNext(7);
      const r = await cli(
        ['lineage', 'export', '--from', store, '--url', endpoint.url, '--requests-per-second', '2000'],
        env,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(endpoint.requests.filter((q) => q.status === 503)).toHaveLength(7);
      expect(endpoint.requests.every((q) => q.path === '/api/v1/lineage')).toBe(true);
      const keys = endpoint.accepted.map(({ event }) => {
        const e = event as unknown as RunEvent;
        return `${e.run.runId} ${e.eventType}`;
      });
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.sort()).toEqual(events.map((e) => `${e.run.runId} ${e.eventType}`).sort());
    } finally {
      await endpoint.close();
    }
  }, 120_000);

  it('stops with exit 1 naming the endpoint when it refuses events', async () => {
    const endpoint = await startFakeOpenLineage();
    try {
      endpoint.failNext(1, 422);
      const r = await cli(['lineage', 'export', '--from', store, '--url', endpoint.url], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Lineage could not be delivered to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/lineage: 422/);
    } finally {
      await endpoint.close();
    }
  });

  it('sends every event to Dataplex with Google credentials, each once, within its limits', async () => {
    const metadata = await startMetadataServer({ accessToken: 'ya29.lineage-stand-in' });
    const dataplex = await startFakeDataplex({ accessToken: 'ya29.lineage-stand-in' });
    const home = await mkdtemp(join(work, 'home-'));
    try {
      dataplex.failNext(3);
      const r = await cliProcess(
        ['lineage', 'export', '--from', store, '--dataplex', 'projects/my-data-platform/locations/europe-west1'],
        { HOME: home, GCE_METADATA_HOST: metadata.host, GOOGLE_APIS_ENDPOINT: dataplex.url },
      );
      expect(r.code, r.stderr).toBe(0);
      expect([...dataplex.parents]).toEqual(['projects/my-data-platform/locations/europe-west1']);
      expect(dataplex.requests.filter((q) => q.status !== 200)).toHaveLength(3);
      const ids = dataplex.accepted.map((a) => new URL(a.path, 'http://x').searchParams.get('requestId')!);
      expect(ids.every((id) => id.length === 36)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      expect(dataplex.accepted.map((a) => (a.event as unknown as RunEvent).run.runId).sort()).toEqual(
        events.map((e) => e.run.runId).sort(),
      );
    } finally {
      await dataplex.close();
      await metadata.close();
    }
  }, 120_000);
});
