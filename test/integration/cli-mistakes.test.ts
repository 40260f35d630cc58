import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { cli, cliProcess } from '../cli.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';

/**
 * A new user's mistakes, made with the real binary (a child process, as a user runs it): each ends
 * within seconds with the documented exit status and a message that names what to fix; and the
 * token never reaches its output, wherever it came from.
 */
let fake: FakeDbtCloud;
let dir: string;

beforeAll(async () => {
  fake = await fakeCloud();
  dir = await mkdtemp(join(tmpdir(), 'cli-mistakes-'));
});
afterAll(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The binary, with only the environment given (and PATH). */
const run = (args: string[], env: Record<string, string> = {}) => cliProcess(args, env);

/** A job that generates docs, so its newest successful run has a manifest. */
const docsJob = () => fake.account.jobs.find((j) => j.generateDocs) ?? fake.account.jobs[0]!;

const WINDOW = ['--start-time', '2022-06-01T09:00:00Z', '--end-time', '2022-06-01T10:00:00Z'];
const account = () => ({
  DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
  DBT_CLOUD_TOKEN: TOKEN,
  DBT_CLOUD_HOST: fake.url,
});
let outs = 0;
/** A harvest of the window into a new folder each time (a stored run is skipped without asking dbt Cloud). */
const harvest = (extra: string[] = []) => [
  'retrieve-artifacts-time-interval',
  ...WINDOW,
  '--output-folder',
  join(dir, `out-${++outs}`),
  ...extra,
];

describe('mistakes that will not fix themselves stop at once, naming the setting', () => {
  it.each([
    [
      'a host that does not exist',
      { DBT_CLOUD_HOST: 'https://cloud.getdbt.invalid' },
      /cloud\.getdbt\.invalid does not exist \(DNS\)[\s\S]*DBT_CLOUD_HOST \(--host\)/,
    ],
    ['a wrong token', { DBT_CLOUD_TOKEN: 'not-the-token-1234' }, /DBT_CLOUD_TOKEN/],
    ['a wrong account id', { DBT_CLOUD_ACCOUNT_ID: '99999' }, /account 99999[\s\S]*DBT_CLOUD_ACCOUNT_ID/],
  ])('%s: exit 2 within seconds', async (_what, env, message) => {
    const requests = fake.requests.length;
    const res = await run(harvest(), { ...account(), ...env });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.seconds).toBeLessThan(20);
    // No retry storm: a handful of requests at most.
    expect(fake.requests.length - requests).toBeLessThan(5);
  });

  it('no host: exit 2 naming DBT_CLOUD_HOST and --host and where the access URL is, no request made', async () => {
    const requests = fake.requests.length;
    const { DBT_CLOUD_HOST: _host, ...noHost } = account();
    const res = await run(harvest(), noHost);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(
      /DBT_CLOUD_HOST \(--host\) is required: your account's access URL, such as ab123\.us1\.dbt\.com \(in dbt, Account settings > Account information > Access URLs/,
    );
    expect(fake.requests.length).toBe(requests);
  });

  it('a shared getdbt.com host given explicitly is used, with one warning that it is deprecated', async () => {
    // Offline, the host does not resolve (exit 2, naming it); online it would be dbt Cloud's own.
    const res = await run(harvest(), { ...account(), DBT_CLOUD_HOST: 'cloud.getdbt.com' });
    expect(res.stderr.match(/is a shared getdbt\.com URL, deprecated since 1 November 2026/g), res.stderr).toHaveLength(
      1,
    );
    expect(res.stderr).toMatch(/https:\/\/cloud\.getdbt\.com\/api\/v2\/accounts\//);
  });

  it('a token the account refuses (403): exit 2 naming its permission and the account id', async () => {
    fake.inject({ kind: 'runs', fault: { type: 'status', status: 403 } });
    const requests = fake.requests.length;
    const res = await run(harvest(), account());
    fake.clearFaults();
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/refuses this token access to account \d+ \(403\)[\s\S]*permission set/);
    expect(res.stderr).toContain('DBT_CLOUD_ACCOUNT_ID');
    expect(res.seconds).toBeLessThan(20);
    expect(fake.requests.length - requests).toBeLessThan(5);
  });

  it('a run id that does not exist: exit 2 naming the run', async () => {
    const res = await run(
      ['retrieve-run-artifacts', '--run-id', '99999', '--output-folder', join(dir, 'one-run')],
      account(),
    );
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/run 99999/);
    expect(res.seconds).toBeLessThan(20);
  });

  it('TLS spoken to a plain-http server (a bare host is https): exit 2, saying so', async () => {
    const bare = fake.url.replace(/^http:\/\//, '');
    const res = await run(harvest(), { ...account(), DBT_CLOUD_HOST: bare });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/https|TLS|http:\/\//i);
    expect(res.stderr).toMatch(/DBT_CLOUD_HOST|--host/);
    expect(res.seconds).toBeLessThan(20);
  });

  it('a job id that does not exist, for the latest manifest: exit 2 naming the job', async () => {
    const res = await run(
      ['retrieve-most-recent-artifact', 'manifest', '--job-id', '99999', '--output-folder', join(dir, 'state')],
      account(),
    );
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/job 99999/);
    expect(res.seconds).toBeLessThan(20);
  });

  it('a host given with /api/v2 and a trailing slash is the same host; another path is refused', async () => {
    const ok = await run(harvest(), { ...account(), DBT_CLOUD_HOST: `${fake.url}/api/v2/` });
    expect(ok.code, ok.stderr).toBe(0);
    const other = await run(harvest(), { ...account(), DBT_CLOUD_HOST: `${fake.url}/deploy/1` });
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/DBT_CLOUD_HOST/);
  });
});

describe('paths and windows are checked before any work', () => {
  it('an output folder that is a file, or empty: exit 2 naming it, no request made', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const requests = fake.requests.length;
    const res = await run(['retrieve-artifacts-time-interval', ...WINDOW, '--output-folder', file], account());
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`--output-folder ${file} is a file, not a folder`);
    const empty = await run(['retrieve-artifacts-time-interval', ...WINDOW, '--output-folder', ''], account());
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--output-folder must not be empty/);
    expect(fake.requests.length).toBe(requests);
    expect(res.seconds).toBeLessThan(20);
  });

  it('history: a source that does not exist, a report into a missing folder or onto a folder', async () => {
    const missing = await run(['history', '--from', join(dir, 'nowhere'), '--format', 'json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--from ${join(dir, 'nowhere')} does not exist`);
    const noFolder = await run(['history', '--from', dir, '--out', join(dir, 'no', 'report.html')]);
    expect(noFolder.code).toBe(2);
    expect(noFolder.stderr).toContain(`its folder ${join(dir, 'no')} does not exist`);
    const onFolder = await run(['history', '--from', dir, '--out', dir]);
    expect(onFolder.code).toBe(2);
    expect(onFolder.stderr).toContain(`--out ${dir} is a folder: name a file`);
    // coverage history checks its paths the same way.
    const coverageNoFolder = await run(['coverage', 'history', '--from', dir, '--out', join(dir, 'no', 'c.html')]);
    expect(coverageNoFolder.code).toBe(2);
    expect(coverageNoFolder.stderr).toContain(`its folder ${join(dir, 'no')} does not exist`);
    const coverageOnFolder = await run(['coverage', 'history', '--from', dir, '--out', dir]);
    expect(coverageOnFolder.code).toBe(2);
    expect(coverageOnFolder.stderr).toContain(`--out ${dir} is a folder: name a file`);
    for (const r of [missing, noFolder, onFolder, coverageNoFolder, coverageOnFolder]) {
      expect(r.stderr).not.toMatch(/Unexpected error|ENOENT|EISDIR/);
      expect(r.seconds).toBeLessThan(20);
    }
  });

  it('a window in the future is refused; a --since with a time of day is refused, not cut', async () => {
    const future = await run(
      [
        'retrieve-artifacts-time-interval',
        '--start-time',
        '2099-01-01T00:00:00',
        '--end-time',
        '2099-01-02T00:00:00',
        '--output-folder',
        join(dir, 'f'),
      ],
      account(),
    );
    expect(future.code).toBe(2);
    expect(future.stderr).toMatch(/--start-time \(2099-01-01T00:00:00\.000Z\) is in the future/);
    const since = await run(['history', '--from', dir, '--since', '2026-10-01T12:00', '--format', 'json']);
    expect(since.code).toBe(2);
    expect(since.stderr).toMatch(/--since must be a day such as 2026-10-01[\s\S]*a time of day would be ignored/);
  });
});

describe('conventions', () => {
  it('--version, help for commands and groups, and did-you-mean for a mistyped flag', async () => {
    expect((await run(['--version'])).stdout).toMatch(/^dbt-harvester \d+\.\d+\.\d+/);
    for (const args of [
      ['webhook', '--help'],
      ['coverage', '--help'],
      ['history', '--help'],
      ['retrieve-run-artifacts', '--help'],
    ]) {
      const res = await run(args);
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.stdout).toMatch(/usage|Usage/);
    }
    const typo = await run(['retrieve-artifacts-time-interval', '--start-tiem', 'x']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/did you mean --start-time\?/);
    for (const [args, meant] of [
      [['retrieve-artifacts-time-intervl'], 'retrieve-artifacts-time-interval'],
      [['coverage', 'comput'], 'coverage compute'],
      [['webhook', 'regster'], 'webhook register'],
    ] as const) {
      const res = await run([...args]);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toContain(`did you mean "${meant}"?`);
      expect(res.seconds).toBeLessThan(20);
    }
  });
});

describe('where the user stands', () => {
  it('a relative --output-folder resolves where npm was run (INIT_CWD), not in the repository', async () => {
    const here = join(dir, 'user-here');
    await mkdir(here);
    const res = await run(
      ['retrieve-most-recent-artifact', 'manifest', '--job-id', String(docsJob().id), '--output-folder', 'state'],
      { ...account(), INIT_CWD: here },
    );
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).file).toBe(join(here, 'state', 'manifest.json'));
    expect((await stat(join(here, 'state', 'manifest.json'))).size).toBeGreaterThan(0);
  });

  it('on a terminal, a retry is shown with its reason and attempt; off a terminal it stays quiet', async () => {
    const args = ['retrieve-most-recent-artifact', 'manifest', '--job-id', String(docsJob().id)];
    const shown: string[] = [];
    for (const isTTY of [true, false]) {
      fake.inject({ kind: 'runs', times: 1, fault: { type: 'status', status: 503 } });
      const res = await cli([...args, '--output-folder', join(dir, `tty-${isTTY}`)], account(), dir, isTTY);
      expect(res.code, res.stderr).toBe(0);
      shown.push(res.stderr);
    }
    fake.clearFaults();
    expect(shown[0]).toMatch(/retrying in \d+\.\d s \(attempt 2\): .*503/);
    expect(shown[1]).not.toMatch(/retrying/);
  });
});

describe('the token stays out of the output, wherever it comes from', () => {
  it.each([
    ['flag', 403],
    ['variable', 403],
    ['flag', 400],
    ['variable', 400],
  ])('when dbt Cloud (or a proxy) echoes it in a %s-given token’s %i', async (from, status) => {
    fake.inject({ kind: 'run', fault: { type: 'status', status, body: 'echo' } });
    fake.inject({ kind: 'artifact', fault: { type: 'status', status, body: 'echo' } });
    const env =
      from === 'variable' ? account() : { DBT_CLOUD_ACCOUNT_ID: String(fake.accountId), DBT_CLOUD_HOST: fake.url };
    const args = from === 'flag' ? [...harvest(), '--token', TOKEN] : harvest();
    const res = await run(args, env);
    fake.clearFaults();
    expect(res.code).not.toBe(0);
    expect(`${res.stdout}${res.stderr}`).not.toContain(TOKEN);
    // A 400's message carries what the answer said: the echo, scrubbed.
    if (status === 400) expect(`${res.stdout}${res.stderr}`, res.stderr).toContain('[REDACTED]');
  });
});

describe('trigger-job --wait --timeout bounds everything, retries included', () => {
  it.each([
    ['a poll that hangs', { type: 'delay', ms: 60_000 } as const],
    ['polls answered 429 with Retry-After: 60', { type: 'status', status: 429, retryAfter: '60' } as const],
  ])('%s: ends by its timeout, exit 1', async (_what, fault) => {
    const job = fake.account.jobs[0]!;
    fake.inject({ kind: 'run', fault });
    const res = await run(
      [
        'trigger-job',
        '--job-id',
        String(job.id),
        '--cause',
        'timeout test',
        '--wait',
        '--poll-interval',
        '1',
        '--timeout',
        '5',
      ],
      account(),
    );
    fake.clearFaults();
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toMatch(/5 s|timeout|timed out|gave up/i);
    expect(res.seconds).toBeLessThan(15);
  });
});
