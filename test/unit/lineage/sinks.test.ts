import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenLineage, type FakeLineageEndpoint } from '../../../harness/fake-lineage.ts';
import { MAX_EVENT_BYTES, dataplexParts } from '../../../lib/lineage/dataplex-sink.ts';
import { HttpLineageSink, lineageEndpoint } from '../../../lib/lineage/http-sink.ts';
import { RUN_EVENT_SCHEMA_URL, eventProblems, facet, type RunEvent } from '../../../lib/lineage/openlineage.ts';
import { nodeRunId } from '../../../lib/lineage/run-ids.ts';
import { recordingClock } from '../../helpers.ts';

const P = 'https://example.com/producer';

function event(n: number, inputs = 1): RunEvent {
  return {
    eventTime: '2026-10-01T10:00:00.000Z',
    producer: P,
    schemaURL: RUN_EVENT_SCHEMA_URL,
    eventType: n % 2 === 0 ? 'START' : 'COMPLETE',
    run: { runId: nodeRunId(1, 2, 3, `model.p.m${Math.floor(n / 2)}`), facets: {} },
    job: { namespace: 'ns', name: `job${n}`, facets: { sql: facet('sql', P, { query: 'select 1' }) } },
    inputs: Array.from({ length: inputs }, (_, i) => ({ namespace: 'bigquery', name: `p.d.in${i}` })),
    outputs: [{ namespace: 'bigquery', name: 'p.d.out' }],
  };
}

let endpoint: FakeLineageEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

describe('the OpenLineage HTTP sink', () => {
  it('posts to /api/v1/lineage of a base URL, or to the URL given with a path', () => {
    expect(lineageEndpoint('http://localhost:5000')).toBe('http://localhost:5000/api/v1/lineage');
    expect(lineageEndpoint('https://x.example/openapi/openlineage/api/v1/lineage')).toBe(
      'https://x.example/openapi/openlineage/api/v1/lineage',
    );
  });

  it('delivers every event once, resending only the failed ones of a batch, after a backoff', async () => {
    endpoint = await startFakeOpenLineage();
    const clock = recordingClock();
    const sink = new HttpLineageSink({ url: endpoint.url, batchSize: 10, concurrency: 1, perSecond: 1e6, clock });
    endpoint.failNext(3);
    for (let i = 0; i < 25; i++) await sink.send(event(i));
    await sink.close();
    const names = endpoint.accepted.map((a) => a.event['job'] as { name: string }).map((j) => j.name);
    expect(names.sort()).toEqual(Array.from({ length: 25 }, (_, i) => `job${i}`).sort());
    expect(endpoint.requests).toHaveLength(28);
    expect(clock.sleeps.filter((ms) => ms >= 250)).toHaveLength(1);
    expect(sink.delivered).toBe(25);
  });

  it('stops, naming the event, when the endpoint refuses one (a 4xx other than 429)', async () => {
    endpoint = await startFakeOpenLineage();
    const sink = new HttpLineageSink({ url: endpoint.url, batchSize: 1, clock: recordingClock() });
    endpoint.failNext(1, 400);
    await expect(sink.send(event(0))).rejects.toThrow(/400 for the START event of job0/);
  });

  it('gives up after its attempts, saying how many events were not accepted', async () => {
    endpoint = await startFakeOpenLineage();
    const sink = new HttpLineageSink({ url: endpoint.url, batchSize: 2, attempts: 3, clock: recordingClock() });
    endpoint.failNext(100, 503);
    await sink.send(event(0));
    await expect(sink.send(event(1))).rejects.toThrow(/2 events not accepted after 3 attempts/);
  });
});

describe("Dataplex's limits", () => {
  it('sends an event of more than 100 links as several of the same run, each valid', () => {
    const parts = dataplexParts(event(1, 250));
    expect(parts.map((p) => p?.inputs.length)).toEqual([100, 100, 50]);
    for (const p of parts) {
      expect(p!.run.runId).toBe(event(1).run.runId);
      expect(eventProblems(p)).toEqual([]);
    }
  });

  it('drops the SQL of an event over 5 MB, then leaves out one that cannot fit', () => {
    const big = event(1);
    big.job.facets['sql'] = facet('sql', P, { query: 'x'.repeat(MAX_EVENT_BYTES) });
    const [fitted] = dataplexParts(big);
    expect(fitted!.job.facets['sql']).toBeUndefined();
    expect(fitted!.job.name).toBe('job1');
    const huge = event(1);
    huge.job.name = 'y'.repeat(MAX_EVENT_BYTES);
    expect(dataplexParts(huge)).toEqual([null]);
  });
});
