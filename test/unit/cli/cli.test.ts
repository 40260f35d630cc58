import { describe, expect, it } from 'vitest';
import { runCli } from '../../../lib/cli/cli.ts';
import { packageVersion } from '../../../lib/cli/version.ts';

/** The command line's conventions, with nothing but arguments: no dbt Cloud, no files. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    env: {},
    cwd: '/',
    isTTY: false,
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

describe('the command line', () => {
  it('says its version, as the package declares it', async () => {
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(await cli(['--version'])).toEqual({ code: 0, out: `dbt-harvester ${packageVersion()}\n`, err: '' });
  });

  it('has help for every command and every group, on stdout with exit 0', async () => {
    for (const argv of [
      ['--help'],
      ['webhook', '--help'],
      ['coverage', '--help'],
      ['webhook', 'register', '--help'],
      ['retrieve-most-recent-artifact', '-h'],
    ]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.out, argv.join(' ')).toMatch(/^Usage: dbt-harvester/m);
    }
  });

  it('suggests the command or flag meant', async () => {
    expect(await cli(['retreive-most-recent-artifact'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/did you mean "retrieve-most-recent-artifact"\?/),
    });
    expect(await cli(['trigger-job', '--job-idd', '1'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/Unknown option --job-idd; did you mean --job-id\?/),
    });
  });

  it('names every problem of the arguments and the configuration at once, exit 2', async () => {
    const r = await cli(['retrieve-artifacts-time-interval', '--start-time', 'yesterday', '--concurrency', '0']);
    expect(r.code).toBe(2);
    for (const problem of [
      /--start-time "yesterday" is not an ISO-8601 time/,
      /--end-time is required/,
      /--concurrency must be a positive whole number, not "0"/,
      /DBT_CLOUD_ACCOUNT_ID \(--account-id\) is required/,
      /say where to store/,
    ])
      expect(r.err).toMatch(problem);
  });

  it('refuses an empty output folder rather than writing where it stands', async () => {
    const r = await cli([
      'retrieve-artifacts-time-interval',
      '--start-time',
      '2022-06-01',
      '--end-time',
      '2022-06-02',
      '--output-folder',
      '',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--output-folder must not be empty/);
  });
});
