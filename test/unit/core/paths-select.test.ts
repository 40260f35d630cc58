import { describe, expect, it } from 'vitest';
import { artifactPath, runDirectory, runMarkerPath } from '../../../lib/core/paths.ts';
import { selectRuns } from '../../../lib/core/select.ts';
import { RunSchema, type Run } from '../../../lib/core/run-model.ts';
import { WHOLE_ACCOUNT } from '../../../lib/core/scope.ts';

/** A run as the client would hand it over: through the run schema, so its times are Timestamps. */
const mk = (id: number, finished: string | null, status = 10, extra: Record<string, unknown> = {}): Run =>
  RunSchema.parse({
    id,
    account_id: 1,
    project_id: 10,
    environment_id: 20,
    job_definition_id: 30,
    status,
    created_at: '2022-06-01 00:00:00+00:00',
    finished_at: finished,
    ...extra,
  });

const place = (run: Run) => ({ runId: run.id, jobId: run.job_definition_id, finishedAt: run.finished_at!.at });

describe('object paths', () => {
  it('partitions by the UTC date and hour of finished_at', () => {
    const dir = runDirectory(place(mk(2147555633, '2022-06-01 23:59:59.999999-01:00')));
    expect(dir).toBe('date=2022-06-02/hour=00/job_id=30/run_id=2147555633');
    expect(runMarkerPath(dir)).toBe(`${dir}/_run.json`);
    expect(artifactPath(dir, 4, 'run_run_results.json')).toBe(`${dir}/step=4/run_run_results.json`);
    expect(runDirectory(place(mk(1, '2022-06-01T09:00:00Z')))).toBe('date=2022-06-01/hour=09/job_id=30/run_id=1');
  });

  it('refuses file names that could leave the run folder; a nested artifact keeps its path under the step', () => {
    for (const name of [
      '../x.json',
      'a/../b.json',
      '/abs.json',
      'a//b.json',
      'a/',
      '..',
      '.',
      'x\0.json',
      'a\\b',
      'a/b c',
    ])
      expect(() => artifactPath('d', 1, name), name).toThrow(/unsafe/);
    expect(artifactPath('d', 4, 'metadata/telemetry-4-otel.parquet')).toBe(
      'd/step=4/metadata/telemetry-4-otel.parquet',
    );
  });
});

async function* pages(...lists: Run[][]): AsyncGenerator<Run[]> {
  for (const list of lists) yield list;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('selectRuns', () => {
  const window = { start: new Date('2022-06-01T09:00:00Z'), end: new Date('2022-06-01T10:00:00Z') };

  it('keeps terminal runs with start <= finished_at < end and stops after the window', async () => {
    let pulled = 0;
    async function* counted(): AsyncGenerator<Run[]> {
      for (const page of [
        [mk(1, null, 3), mk(2, '2022-06-01 10:00:00.000000+00:00'), mk(3, '2022-06-01 09:59:59.999999+00:00')],
        [
          mk(4, '2022-06-01 09:30:00+00:00', 20),
          mk(5, '2022-06-01 09:20:00+00:00', 30),
          mk(6, '2022-06-01 09:00:00.000000+00:00'),
        ],
        [mk(7, '2022-06-01 08:59:59.999999+00:00')],
        [mk(8, '2022-06-01 08:00:00+00:00')],
      ]) {
        pulled++;
        yield page;
      }
    }
    const runs = await collect(selectRuns(counted(), window, WHOLE_ACCOUNT));
    expect(runs.map((r) => r.id)).toEqual([3, 4, 6]);
    expect(pulled).toBe(3);
  });

  it('includes cancelled runs only when asked, and re-checks every filter', async () => {
    const list = [
      mk(1, '2022-06-01 09:10:00+00:00', 30),
      mk(2, '2022-06-01 09:10:00+00:00', 10, { project_id: 99 }),
      mk(3, '2022-06-01 09:10:00+00:00', 10, { job_definition_id: 31 }),
      mk(4, '2022-06-01 09:10:00+00:00'),
    ];
    expect(
      (await collect(selectRuns(pages(list), window, { includeCancelled: true, projectId: 10, jobIds: [30] }))).map(
        (r) => r.id,
      ),
    ).toEqual([1, 4]);
    expect(
      (await collect(selectRuns(pages(list), window, { projectId: 10, includeCancelled: false }))).map((r) => r.id),
    ).toEqual([3, 4]);
  });

  it('yields each run as its page arrives, before the next page is asked for', async () => {
    let pulled = 0;
    async function* slow(): AsyncGenerator<Run[]> {
      pulled++;
      yield [mk(1, '2022-06-01 09:50:00+00:00')];
      pulled++;
      yield [mk(2, '2022-06-01 09:40:00+00:00')];
    }
    const it = selectRuns(slow(), window, WHOLE_ACCOUNT);
    expect((await it.next()).value?.id).toBe(1);
    expect(pulled).toBe(1);
  });
});
