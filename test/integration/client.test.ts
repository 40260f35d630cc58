import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { DbtCloudClient, RUN_RELATED, type InvalidRow } from '../../lib/dbt-cloud/client.ts';
import { InputError } from '../../lib/core/errors.ts';
import {
  ArtifactIncompleteError,
  DbtCloudAuthError,
  DbtCloudHttpError,
  DbtCloudNetworkError,
  DbtCloudResponseError,
  ListingTooLongError,
  PagingStuckError,
} from '../../lib/dbt-cloud/dbt-cloud-errors.ts';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { TOKEN, clientFor, fakeCloud, recordingClock, sha256Of, until } from '../helpers.ts';

let fake: FakeDbtCloud;
let client: DbtCloudClient;

beforeAll(async () => {
  fake = await fakeCloud();
  client = clientFor(fake);
});
afterAll(async () => {
  client.close();
  await fake.stop();
});
afterEach(() => {
  fake.clearFaults();
  fake.latencyMs = 0;
  fake.tokens = new Set([TOKEN]);
  fake.requests.length = 0;
});

async function allRuns(c: DbtCloudClient, filters: Parameters<DbtCloudClient['listRuns']>[0] = {}): Promise<number[]> {
  const ids: number[] = [];
  for await (const page of c.listRuns(filters)) ids.push(...page.map((r) => r.id));
  return ids;
}

describe('listRuns', () => {
  it('pages through every run, 100 at a time, with offsets', async () => {
    const ids = await allRuns(client, { order_by: '-finished_at' });
    expect(fake.account.runs.length).toBeGreaterThan(300);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(fake.account.runs.map((r) => r.id).sort());
    const lists = fake.requestsOf('runs');
    expect(lists.map((r) => r.query['offset']?.[0])).toEqual(lists.map((_, i) => String(i * 100)));
    expect(lists.every((r) => r.query['limit']?.[0] === '100' && r.authScheme === 'Token')).toBe(true);
    expect(lists.every((r) => r.path.endsWith('/runs/'))).toBe(true);
  });

  it('does not repeat a run when the list grows while it is paged', async () => {
    const ids: number[] = [];
    let added = 0;
    for await (const page of client.listRuns({ order_by: '-finished_at' })) {
      ids.push(...page.map((r) => r.id));
      if (added < 3) {
        // A new run at the top of the list shifts every row one place down.
        fake.account.addRun(fake.account.jobs[0]!.id, {
          finishedAt: new Date(Date.parse('2022-06-01T23:59:00Z') - added),
        });
        added++;
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    const before = fake.account.runs.slice(0, fake.account.runs.length - 3).map((r) => r.id);
    expect(before.every((id) => ids.includes(id))).toBe(true);
  });

  it('skips and reports a row of the wrong shape instead of failing the listing', async () => {
    const [bad, zero] = fake.account.runs.slice(5, 7);
    bad!.patch['finished_at'] = '31/12/2022';
    zero!.patch['id'] = 0;
    try {
      const invalid: InvalidRow[] = [];
      const ids: number[] = [];
      for await (const page of client.listRuns({ order_by: 'id' }, { onInvalidRow: (row) => invalid.push(row) }))
        ids.push(...page.map((r) => r.id));
      expect(ids).toHaveLength(fake.account.runs.length - 2);
      expect(invalid.map((r) => [r.id, r.issues.join()])).toEqual([
        [bad!.id, expect.stringMatching(/row\.finished_at/)],
        [0, expect.stringMatching(/row\.id: must be a positive id/)],
      ]);
    } finally {
      bad!.patch = {};
      zero!.patch = {};
    }
  });

  it('stops, with a typed error, a listing whose server ignores offset', async () => {
    fake.ignoreOffset = true;
    try {
      const err = await allRuns(client).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PagingStuckError);
      expect((err as Error).message).toMatch(/only rows already listed \(offset 100\).*ignore offset/);
      expect(fake.requestsOf('runs')).toHaveLength(2);
    } finally {
      fake.ignoreOffset = false;
    }
  });

  it('stops, saying so, a listing longer than its page bound', async () => {
    const pages: number[] = [];
    const err = await (async () => {
      for await (const page of client.listRuns({ order_by: '-finished_at' }, { maxPages: 2 })) pages.push(page.length);
    })().catch((e: unknown) => e);
    expect(pages).toEqual([100, 100]);
    expect(err).toBeInstanceOf(ListingTooLongError);
    expect((err as Error).message).toMatch(/stopped after 2 pages \(200 runs\) without reaching the window's start/);
  });

  it('sends filters and include_related as dbt expects them', async () => {
    const job = fake.account.jobs[1]!;
    const runs: number[] = [];
    for await (const page of client.listRuns({
      job_definition_id: job.id,
      status__in: [10, 20],
      include_related: ['run_steps'],
    })) {
      for (const run of page) {
        expect(run.job_definition_id).toBe(job.id);
        expect([10, 20]).toContain(run.status);
        expect(run.run_steps?.length).toBeGreaterThan(0);
        runs.push(run.id);
      }
    }
    expect(runs.length).toBeGreaterThan(0);
    const q = fake.requestsOf('runs')[0]!.query;
    expect(q['include_related']).toEqual(['["run_steps"]']);
    expect(q['status__in']).toEqual(['[10,20]']);
  });
});

describe('the fake dbt Cloud itself', () => {
  it('accepts every encoding of include_related', async () => {
    const run = fake.account.runs[5]!;
    const base = `${fake.url}/api/v2/accounts/${fake.accountId}/runs/${run.id}/`;
    const stepsOf = async (query: string): Promise<number> => {
      const res = await fetch(`${base}?${query}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      const body = (await res.json()) as { data: { run_steps: unknown[]; job: unknown } };
      return body.data.run_steps.length + (body.data.job ? 1000 : 0);
    };
    const json = await stepsOf('include_related=%5B%22run_steps%22%2C%22job%22%5D');
    expect(json).toBeGreaterThan(1000);
    expect(await stepsOf('include_related=run_steps,job')).toBe(json);
    expect(await stepsOf('include_related=run_steps&include_related=job')).toBe(json);
    expect(await stepsOf('')).toBe(0);
  });

  it('refuses a limit over 100 and an order_by it does not know', async () => {
    const base = `${fake.url}/api/v2/accounts/${fake.accountId}/runs/`;
    const headers = { Authorization: `Token ${TOKEN}` };
    expect((await fetch(`${base}?limit=101`, { headers })).status).toBe(400);
    expect((await fetch(`${base}?order_by=status`, { headers })).status).toBe(400);
    expect((await fetch(`${base}?finished_at__range=%5B%5D`, { headers })).status).toBe(400);
  });
});

describe('getRun and artifacts', () => {
  it('returns the whole run with its related objects, keeping unknown fields', async () => {
    const run = fake.account.runs.find((r) => r.outcome === 'success')!;
    const got = await client.getRun(run.id);
    expect(got.id).toBe(run.id);
    expect(got.id).toBeGreaterThan(2 ** 31);
    expect(got.run_steps?.map((s) => s.index)).toEqual(run.steps.map((s) => s.index));
    expect(got.job?.id).toBe(run.jobId);
    expect(got['executed_by_thread_id']).toBe(`dbt-run-${run.id}-abcde`);
    expect(got['href']).toBeTypeOf('string');
    expect(fake.requestsOf('run')[0]!.query['include_related']).toEqual([JSON.stringify(RUN_RELATED)]);
  });

  it('streams an artifact of a given step byte for byte', async () => {
    const run = fake.account.runs.find((r) => r.steps.filter((s) => s.files.includes('manifest.json')).length >= 2)!;
    const [first, second] = run.steps.filter((s) => s.files.includes('manifest.json'));
    for (const step of [first!, second!]) {
      const result = await client.getRunArtifact(run.id, 'manifest.json', step.index);
      if (!result.found) throw new Error('expected the artifact');
      const truth = fake.account.artifact(run.id, step.index, 'manifest.json');
      expect(result.contentLength).toBe(truth.size);
      expect(result.contentType).toContain('application/json');
      expect(await sha256Of(result.body)).toEqual({ sha256: await truth.sha256(), bytes: truth.size });
    }
  });

  it('answers not found for a step without the file, and lists only the last step', async () => {
    const run = fake.account.runs.find(
      (r) => r.outcome === 'success' && r.steps.some((s) => s.command === 'docs generate'),
    )!;
    const docs = run.steps.find((s) => s.command === 'docs generate')!;
    const notDocs = run.steps.find((s) => s.files.length > 0 && !s.files.includes('catalog.json'))!;
    expect((await client.getRunArtifact(run.id, 'catalog.json', notDocs.index)).found).toBe(false);
    expect((await client.getRunArtifact(run.id, 'catalog.json', docs.index)).found).toBe(true);
    expect(await client.listRunArtifacts(run.id)).toEqual(run.steps[run.steps.length - 1]!.files);
    expect(fake.requestsOf('artifact').filter((r) => r.status === 404)).toHaveLength(1);
  });

  it('refuses artifact paths that could leave target/ before sending anything', async () => {
    for (const path of ['../secrets.json', '/etc/passwd', 'a/../../b', 'a\\b', 'x\0y', '']) {
      await expect(client.getRunArtifact(1, path)).rejects.toBeInstanceOf(InputError);
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('fails the stream when the body is shorter than its Content-Length', async () => {
    const run = fake.account.runs.find(
      (r) => r.outcome === 'success' && r.steps.some((s) => s.files.includes('manifest.json')),
    )!;
    const step = run.steps.find((s) => s.files.includes('manifest.json'))!;
    for (const fault of [
      { type: 'short', bytes: 1000 },
      { type: 'reset', afterBytes: 5000 },
    ] as const) {
      fake.inject({ kind: 'artifact', times: 1, fault });
      const result = await client.getRunArtifact(run.id, 'manifest.json', step.index);
      if (!result.found) throw new Error('expected the artifact');
      await expect(sha256Of(result.body)).rejects.toBeInstanceOf(ArtifactIncompleteError);
    }
  });

  it('gives up on a body that stalls longer than the idle timeout', async () => {
    const c = clientFor(fake, { idleTimeoutMs: 300 });
    const run = fake.account.runs.find(
      (r) => r.outcome === 'success' && r.steps.some((s) => s.files.includes('manifest.json')),
    )!;
    const step = run.steps.find((s) => s.files.includes('manifest.json'))!;
    const stall = fake.inject({ kind: 'artifact', times: 1, fault: { type: 'stall', afterBytes: 100 } });
    // A file the step never wrote answers 404 at once: a fault on the body waits for a real body.
    expect((await c.getRunArtifact(run.id, 'no-such-file.json', step.index)).found).toBe(false);
    expect(stall.hits).toBe(0);
    const result = await c.getRunArtifact(run.id, 'manifest.json', step.index);
    if (!result.found) throw new Error('expected the artifact');
    await expect(sha256Of(result.body)).rejects.toThrow(/no data for 300 ms/);
    c.close();
  });
});

describe('retries', () => {
  const faults = [
    { name: '429 without Retry-After', fault: { type: 'status', status: 429 } },
    { name: '429 with Retry-After', fault: { type: 'status', status: 429, retryAfter: '1' } },
    { name: '500 with an HTML body', fault: { type: 'status', status: 500 } },
    { name: '502 with an HTML body', fault: { type: 'status', status: 502 } },
    { name: '503 with an HTML body', fault: { type: 'status', status: 503 } },
    { name: 'a connection reset', fault: { type: 'reset' } },
    { name: 'an answer slower than the timeout', fault: { type: 'delay', ms: 1_500 } },
  ] as const;

  it.each(faults)('retries $name to success', async ({ fault }) => {
    const clock = recordingClock();
    const c = clientFor(fake, { clock, timeoutMs: 1_000 });
    const run = fake.account.runs[10]!;
    const handle = fake.inject({ kind: 'run', times: 3, fault });
    const got = await c.getRun(run.id);
    expect(got.id).toBe(run.id);
    expect(handle.hits).toBe(3);
    expect(fake.requestsOf('run')).toHaveLength(4);
    expect(c.transport.stats.retries).toBe(3);
    c.close();
  });

  it('backs off exponentially and honours Retry-After', async () => {
    const clock = recordingClock();
    const c = clientFor(fake, {
      clock,
      random: () => 1,
      retry: { baseDelayMs: 100, maxDelayMs: 10_000, maxRetries: 5 },
    });
    fake.inject({ kind: 'run', times: 3, fault: { type: 'status', status: 503 } });
    await c.getRun(fake.account.runs[0]!.id);
    expect(clock.sleeps.filter((ms) => ms >= 100)).toEqual([100, 200, 400]);
    clock.sleeps.length = 0;
    fake.inject({ kind: 'run', times: 1, fault: { type: 'status', status: 429, retryAfter: '7' } });
    await c.getRun(fake.account.runs[0]!.id);
    expect(clock.sleeps).toContain(7_000);
    c.close();
  });

  it('caps the time one request waits, for every answer: a 503 asking for an hour fails at once, naming it', async () => {
    const clock = recordingClock();
    const c = clientFor(fake, {
      clock,
      random: () => 1,
      retry: { maxRetries: 8, baseDelayMs: 500, maxDelayMs: 60_000, maxWaitMs: 420_000 },
    });
    fake.inject({ kind: 'run', fault: { type: 'status', status: 503, retryAfter: '3600' } });
    const hour = await c.getRun(fake.account.runs[0]!.id).catch((e: unknown) => e);
    expect((hour as DbtCloudHttpError).status).toBe(503);
    expect((hour as Error).message).toMatch(
      /answered 503[\s\S]*asked to wait 3600 s more \(Retry-After\), past what one request waits in all \(0 s waited so far\)/,
    );
    expect(clock.sleeps.filter((ms) => ms > 1000)).toEqual([]);
    fake.clearFaults();
    // Asking 100 s a time: four waits fit in 420 s, the fifth would not.
    fake.inject({ kind: 'run', fault: { type: 'status', status: 502, retryAfter: '100' } });
    const err = await c.getRun(fake.account.runs[0]!.id).catch((e: unknown) => e);
    expect((err as DbtCloudHttpError).status).toBe(502);
    expect(clock.sleeps.filter((ms) => ms > 1000)).toEqual([100_000, 100_000, 100_000, 100_000]);
    expect((err as Error).message).toMatch(/400 s waited so far/);
    fake.clearFaults();
    c.close();
  });

  it('keeps retrying 429s past the retry count, for as long as the throttle budget lasts', async () => {
    const clock = recordingClock();
    const c = clientFor(fake, {
      clock,
      random: () => 1,
      retry: { maxRetries: 2, baseDelayMs: 1_000, maxDelayMs: 60_000, maxThrottleWaitMs: 300_000 },
    });
    fake.inject({ kind: 'run', times: 8, fault: { type: 'status', status: 429 } });
    expect((await c.getRun(fake.account.runs[0]!.id)).id).toBe(fake.account.runs[0]!.id);
    expect(fake.requestsOf('run')).toHaveLength(9);
    fake.requests.length = 0;
    fake.inject({ kind: 'run', fault: { type: 'status', status: 429 } });
    const err = await c.getRun(fake.account.runs[0]!.id).catch((e: unknown) => e);
    expect((err as DbtCloudHttpError).status).toBe(429);
    // 1+2+4+8+16+32+60+60+60 s = 243 s of waiting fits in 300 s; one more minute would not.
    expect(fake.requestsOf('run')).toHaveLength(10);
    c.close();
  });

  it('gives up after the configured retries with the last status', async () => {
    fake.inject({ kind: 'run', fault: { type: 'status', status: 503 } });
    const c = clientFor(fake, { clock: recordingClock(), retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const err = await c.getRun(fake.account.runs[0]!.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbtCloudHttpError);
    expect((err as DbtCloudHttpError).status).toBe(503);
    expect((err as DbtCloudHttpError).attempts).toBe(3);
    expect(fake.requestsOf('run')).toHaveLength(3);
    c.close();
  });

  it.each([400, 403, 404])('does not retry %i', async (status) => {
    fake.inject({ kind: 'run', fault: { type: 'status', status } });
    const err = await client.getRun(fake.account.runs[0]!.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbtCloudHttpError);
    expect((err as DbtCloudHttpError).status).toBe(status);
    expect(fake.requestsOf('run')).toHaveLength(1);
  });

  it('does not retry a POST that may have started a run, but does retry a refused one', async () => {
    const job = fake.account.jobs[0]!;
    fake.inject({ kind: 'trigger', times: 1, fault: { type: 'status', status: 502 } });
    await expect(client.triggerJobRun(job.id, { cause: 'test' })).rejects.toBeInstanceOf(DbtCloudHttpError);
    expect(fake.requestsOf('trigger')).toHaveLength(1);
    fake.inject({ kind: 'trigger', times: 1, fault: { type: 'status', status: 429 } });
    const run = await client.triggerJobRun(job.id, { cause: 'test' });
    expect(run.job_definition_id).toBe(job.id);
    expect(fake.requestsOf('trigger')).toHaveLength(3);
  });

  it('reports a host that never answers as a network error', async () => {
    const c = new DbtCloudClient({
      baseUrl: 'http://127.0.0.1:9',
      accountId: 1,
      token: TOKEN,
      clock: recordingClock(),
      retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const err = await c.getRun(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbtCloudNetworkError);
    expect((err as Error).message).toMatch(/127\.0\.0\.1:9.*after 2 attempts/);
    c.close();
  });
});

describe('errors', () => {
  it('explains a 401 with the host used and the access URL, never the token', async () => {
    fake.tokens = new Set(['another-token']);
    const err = await client.getRun(fake.account.runs[0]!.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbtCloudAuthError);
    const message = (err as Error).message;
    expect(message).toContain('401');
    expect(message).toContain(new URL(fake.url).host);
    expect(message).toMatch(/access URL/);
    expect(message).toContain('Invalid token.');
    expect(`${message} ${JSON.stringify(err)} ${String((err as Error).stack)}`).not.toContain(TOKEN);
    expect(fake.requestsOf('run')).toHaveLength(1);
  });

  it('turns a non-JSON 200 into a typed error', async () => {
    const server = (await import('node:http')).createServer((_req, res) => res.end('<html>maintenance</html>'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const c = new DbtCloudClient({ baseUrl: `http://127.0.0.1:${port}`, accountId: 1, token: TOKEN });
    await expect(c.getRun(5)).rejects.toThrow(DbtCloudResponseError);
    await expect(c.getRun(5)).rejects.toThrow(/is not JSON.*maintenance/);
    c.close();
    server.close();
  });

  it('turns an answer of the wrong shape into a typed error naming the field', async () => {
    const run = fake.account.runs[0]!;
    run.patch['finished_at'] = 'last tuesday';
    const err = await client.getRun(run.id).catch((e: unknown) => e);
    delete run.patch['finished_at'];
    expect(err).toBeInstanceOf(DbtCloudResponseError);
    expect((err as Error).message).toMatch(/data\.finished_at/);
  });

  it('follows redirects', async () => {
    const { body } = await client.transport.json(`/api/v2/accounts/${fake.accountId}/jobs`);
    expect((body as { data: unknown[] }).data.length).toBe(fake.account.jobs.length);
    expect(fake.requests.map((r) => r.status)).toEqual([301, 200]);
  });
});

describe('run control', () => {
  it('triggers a job with overrides and waits for it to finish', async () => {
    const job = fake.account.jobs[2]!;
    const run = await client.triggerJobRun(job.id, {
      cause: 'CI for PR 12',
      git_sha: 'abc123',
      steps_override: ['dbt build -s state:modified+'],
      threads_override: 8,
    });
    expect(run.status).toBe(1);
    const polled: number[] = [];
    const done = await client.waitForRun(run.id, { intervalMs: 1, onPoll: (r) => polled.push(r.status) });
    expect(done.status).toBe(10);
    expect(polled).toEqual([3, 10]);
    const body = JSON.parse(JSON.stringify(fake.account.run(run.id)!.patch['trigger_body'])) as Record<string, unknown>;
    expect(body).toMatchObject({
      cause: 'CI for PR 12',
      git_sha: 'abc123',
      steps_override: ['dbt build -s state:modified+'],
      threads_override: 8,
    });
    const triggered = await client.getRun(run.id);
    expect(triggered.run_steps?.map((s) => s.name)).toContain('Invoke dbt with `dbt build -s state:modified+`');
  });

  it('refuses a cause over 255 characters before sending it', async () => {
    await expect(client.triggerJobRun(fake.account.jobs[0]!.id, { cause: 'x'.repeat(256) })).rejects.toBeInstanceOf(
      InputError,
    );
    expect(fake.requestsOf('trigger')).toHaveLength(0);
  });

  it('cancels a run and reruns a failed job', async () => {
    const job = fake.account.jobs[0]!;
    const run = await client.triggerJobRun(job.id, { cause: 'to cancel' });
    expect((await client.cancelRun(run.id)).status).toBe(30);
    fake.account.addRun(job.id, { finishedAt: new Date('2022-06-01T12:00:00Z'), outcome: 'error' });
    const rerun = await client.rerunJob(job.id);
    expect(rerun.job_definition_id).toBe(job.id);
  });

  it('finds the newest successful run of a job, optionally of a commit', async () => {
    const job = fake.account.jobs[0]!;
    const successes = fake.account.runs
      .filter(
        (r) =>
          r.jobId === job.id &&
          fake.account.isComplete(r) &&
          r.pollsLeft === undefined &&
          fake.account.statusOf(r) === 10,
      )
      .sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime());
    const newest = await client.getMostRecentRun({ jobId: job.id });
    expect(newest?.id).toBe(successes[0]!.id);
    const older = successes[7]!;
    const bySha = await client.getMostRecentRun({ jobId: job.id, gitSha: older.gitSha.slice(0, 12) });
    expect(bySha?.id).toBe(older.id);
    expect(await client.getMostRecentRun({ jobId: job.id, gitSha: 'ffffffffffff' })).toBeNull();
  });

  it('lists and reads jobs', async () => {
    const jobs = await client.listJobs({ project_id: fake.account.projects[0] });
    expect(jobs.map((j) => j.id)).toEqual(
      fake.account.jobs.filter((j) => j.projectId === fake.account.projects[0]).map((j) => j.id),
    );
    const job = await client.getJob(jobs[0]!.id);
    expect(job.execute_steps.length).toBeGreaterThan(0);
  });
});

describe('an artifact body that breaks off before anyone reads it', () => {
  it('keeps the error for the reader that comes later, without an uncaught exception', async () => {
    const run = fake.account.runs.find(
      (r) => r.outcome === 'success' && r.steps.some((s) => s.files.includes('manifest.json')),
    )!;
    const step = run.steps.find((s) => s.files.includes('manifest.json'))!;
    fake.inject({ kind: 'artifact', times: 1, fault: { type: 'short', bytes: 500 } });
    const result = await client.getRunArtifact(run.id, 'manifest.json', step.index);
    if (!result.found) throw new Error('expected the artifact');
    await until('the body to break off while nobody listens', () => result.body.errored);
    await expect(sha256Of(result.body)).rejects.toBeInstanceOf(ArtifactIncompleteError);
  });
});

describe('answers that would never end, or would take the token elsewhere', () => {
  it.each([
    ['Retry-After: 0', '0'],
    ['a Retry-After date in the past', 'Wed, 21 Oct 2015 07:28:00 GMT'],
  ])('backs off exponentially from a 429 storm with %s, and gives up', async (_name, retryAfter) => {
    const clock = recordingClock();
    const c = clientFor(fake, {
      clock,
      random: () => 1,
      retry: { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 5_000, maxThrottleWaitMs: 60_000, maxThrottledRetries: 15 },
    });
    fake.inject({ kind: 'run', fault: { type: 'status', status: 429, retryAfter } });
    const err = await c.getRun(fake.account.runs[0]!.id).catch((e: unknown) => e);
    expect((err as DbtCloudHttpError).status).toBe(429);
    expect(clock.sleeps.slice(0, 6)).toEqual([100, 200, 400, 800, 1600, 3200]);
    // Ended by the count (15) before the waiting budget (60 s) ran out.
    expect(fake.requestsOf('run')).toHaveLength(16);
    c.close();
  });

  it.each([
    ['a 300 MB list page', false],
    ['a gzip bomb that inflates to 300 MB', true],
  ])('refuses %s once past the cap, without reading it all', async (_name, gzip) => {
    fake.inject({ kind: 'runs', times: 1, fault: { type: 'huge', bytes: 300 * 1024 * 1024, gzip } });
    const before = process.memoryUsage().rss;
    const err = await allRuns(client).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbtCloudResponseError);
    expect((err as Error).message).toMatch(/is larger than 16 MiB; not read further/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('follows a redirect within dbt Cloud, and refuses one to another origin without sending it the token', async () => {
    const elsewhere = await fakeCloud();
    try {
      const run = fake.account.runs.find((r) => r.steps.some((s) => s.files.includes('manifest.json')))!;
      fake.inject({
        kind: 'run',
        times: 1,
        fault: { type: 'redirect', location: `/api/v2/accounts/${fake.accountId}/runs/${run.id}/` },
      });
      expect((await client.getRun(run.id)).id).toBe(run.id);
      fake.inject({
        kind: 'run',
        times: 1,
        fault: { type: 'redirect', location: `${elsewhere.url}/api/v2/accounts/${fake.accountId}/runs/${run.id}/` },
      });
      const err = await client.getRun(run.id).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(
        /redirects to another origin \(http:\/\/127\.0\.0\.1:\d+\); not followed, so that the token stays with/,
      );
      expect(elsewhere.requests).toEqual([]);
      // An artifact may be served from elsewhere, but only over https, and never with the token.
      const step = run.steps.find((s) => s.files.includes('manifest.json'))!;
      fake.inject({ kind: 'artifact', times: 1, fault: { type: 'redirect', location: `${elsewhere.url}/x` } });
      await expect(client.getRunArtifact(run.id, 'manifest.json', step.index)).rejects.toThrow(/another origin/);
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await elsewhere.stop();
    }
  });
});
