import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config/load.ts';
import { ConfigError } from '../../../lib/core/errors.ts';

const problemsOf = (fn: () => unknown): readonly string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('reads the environment with defaults, and parses what it reads', () => {
    const config = loadConfig({
      env: { DBT_CLOUD_ACCOUNT_ID: '43210', DBT_CLOUD_TOKEN: 'tok', DBT_CLOUD_HOST: 'ab123.us1.dbt.com' },
      needs: ['dbtCloud'],
    });
    expect(config).toMatchObject({
      artifacts: 'all',
      concurrency: 16,
      scope: { includeCancelled: false },
    });
    expect(config.dbtCloud).toEqual({
      accountId: 43210,
      token: 'tok',
      baseUrl: 'https://ab123.us1.dbt.com',
      timeoutMs: 30_000,
      requestsPerMinute: 4500,
    });
    // An allow-list keeps working.
    expect(
      loadConfig({
        env: { DBT_CLOUD_ACCOUNT_ID: '1', DBT_CLOUD_TOKEN: 't', HARVEST_ARTIFACTS: 'manifest.json, sources.json' },
      }).artifacts,
    ).toEqual(['manifest.json', 'sources.json']);
    // No host, no dbt Cloud: there is no default access URL.
    expect(loadConfig({ env: { DBT_CLOUD_ACCOUNT_ID: '1', DBT_CLOUD_TOKEN: 't' } }).dbtCloud).toBeUndefined();
    expect(
      loadConfig({ env: { DBT_CLOUD_ACCOUNT_ID: '1', DBT_CLOUD_TOKEN: 't', DBT_CLOUD_HOST: 'http://127.0.0.1:8080/' } })
        .dbtCloud?.baseUrl,
    ).toBe('http://127.0.0.1:8080');
    const cloud = loadConfig({
      env: { ARTIFACTS_DESTINATION: 'gs://my-bucket/dbt/history', RUNS_TOPIC: 'projects/p1/topics/runs' },
      needs: ['destination', 'runsTopic'],
    });
    expect(cloud.destination).toEqual({ kind: 'gcs', bucket: 'my-bucket', prefix: 'dbt/history' });
    expect(cloud.runsTopic).toEqual({ project: 'p1', topic: 'runs' });
    expect(loadConfig({ env: { ARTIFACTS_DESTINATION: './out' } }).destination).toEqual({
      kind: 'local',
      path: './out',
    });
  });

  it("requires the account's access URL, naming the setting and where to find it; a getdbt.com host works, with one warning", () => {
    const account = { DBT_CLOUD_ACCOUNT_ID: '43210', DBT_CLOUD_TOKEN: 'tok' };
    expect(problemsOf(() => loadConfig({ env: account, needs: ['dbtCloud'] }))).toEqual([
      "DBT_CLOUD_HOST is required: your account's access URL, such as ab123.us1.dbt.com (in dbt, Account settings > Account information > Access URLs; the Admin API uses the access URL itself)",
    ]);
    expect(problemsOf(() => loadConfig({ env: account, flags: {}, needs: ['dbtCloud'] }))[0]).toMatch(
      /^DBT_CLOUD_HOST \(--host\) is required: your account's access URL/,
    );
    const legacy = loadConfig({ env: { ...account, DBT_CLOUD_HOST: 'cloud.getdbt.com' }, needs: ['dbtCloud'] });
    expect(legacy.dbtCloud?.baseUrl).toBe('https://cloud.getdbt.com');
    expect(legacy.warnings).toEqual([
      expect.stringMatching(
        /^DBT_CLOUD_HOST cloud\.getdbt\.com is a shared getdbt\.com URL, deprecated since 1 November 2026/,
      ),
    ]);
    expect(
      loadConfig({ env: { ...account, DBT_CLOUD_HOST: 'https://emea.getdbt.com/' }, needs: ['dbtCloud'] }).warnings,
    ).toHaveLength(1);
    for (const host of ['ab123.us1.dbt.com', 'http://127.0.0.1:8080', 'dbt.acme.internal'])
      expect(loadConfig({ env: { ...account, DBT_CLOUD_HOST: host }, needs: ['dbtCloud'] }).warnings, host).toEqual([]);
    // A command that does not call dbt Cloud says nothing of the host it sees.
    expect(loadConfig({ env: { ...account, DBT_CLOUD_HOST: 'cloud.getdbt.com' } }).warnings).toEqual([]);
  });

  it('names every offending variable in one error, without the token', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {
          DBT_CLOUD_ACCOUNT_ID: 'abc',
          DBT_CLOUD_PROJECT_ID: '-3',
          HARVEST_ARTIFACTS: 'manifest.json,../x.json',
          HARVEST_CONCURRENCY: '0',
          DBT_CLOUD_TIMEOUT_SECONDS: 'x',
        },
        needs: ['dbtCloud'],
      }),
    ).join('\n');
    for (const name of [
      'DBT_CLOUD_ACCOUNT_ID',
      'DBT_CLOUD_TOKEN is required',
      'DBT_CLOUD_PROJECT_ID',
      'HARVEST_ARTIFACTS',
      'HARVEST_CONCURRENCY',
      'DBT_CLOUD_TIMEOUT_SECONDS',
    ])
      expect(problems).toContain(name);
  });

  it('reports what a process needs and lacks, with everything else wrong', () => {
    expect(problemsOf(() => loadConfig({ env: { LOG_LEVEL: 'LOUD' }, needs: ['destination', 'runsTopic'] }))).toEqual([
      'LOG_LEVEL Invalid option: expected one of "DEBUG"|"INFO"|"WARNING"|"ERROR"',
      'ARTIFACTS_DESTINATION is required (gs://bucket[/prefix] or a local folder)',
      'RUNS_TOPIC is required for the dispatchers (projects/P/topics/T or a topic id)',
    ]);
  });

  it('rejects destinations, hosts and topics it cannot use, naming the variable', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {
          ARTIFACTS_DESTINATION: 'gs://Bad_Bucket',
          DBT_CLOUD_HOST: 'ftp://x',
          RUNS_TOPIC: 'projects/p/subscriptions/s',
        },
      }),
    );
    expect([...problems].sort()).toEqual([
      'ARTIFACTS_DESTINATION "gs://Bad_Bucket" is not gs://BUCKET[/PREFIX] with a valid bucket name',
      'DBT_CLOUD_HOST "ftp://x" must use https',
      'RUNS_TOPIC "projects/p/subscriptions/s" is not projects/PROJECT/topics/TOPIC or a topic id',
    ]);
    expect(problemsOf(() => loadConfig({ env: { ARTIFACTS_DESTINATION: 'gs://bucket/../x' } }))[0]).toMatch(
      /\. or \.\./,
    );
    expect(problemsOf(() => loadConfig({ env: { ARTIFACTS_DESTINATION: 's3://bucket' } }))[0]).toMatch(
      /must be gs:\/\//,
    );
  });

  it('takes flags over the environment, and names the flag when its value is wrong', () => {
    const config = loadConfig({
      env: { DBT_CLOUD_ACCOUNT_ID: '1', DBT_CLOUD_TOKEN: 't' },
      flags: { 'account-id': '7', 'include-cancelled': true, concurrency: '4', host: 'ab123.us1.dbt.com' },
      needs: ['dbtCloud'],
    });
    expect(config.dbtCloud?.accountId).toBe(7);
    expect(config).toMatchObject({ scope: { includeCancelled: true }, concurrency: 4 });
    expect(problemsOf(() => loadConfig({ env: {}, flags: { 'account-id': 'x' }, needs: ['dbtCloud'] }))).toEqual([
      '--account-id must be a positive whole number, not "x"',
      'DBT_CLOUD_TOKEN (--token) is required (or DBT_CLOUD_TOKEN_SECRET)',
      expect.stringMatching(/^DBT_CLOUD_HOST \(--host\) is required/),
    ]);
  });

  it('never echoes credentials, and keeps the token off plain http but for loopback', () => {
    const problems = problemsOf(() =>
      loadConfig({ env: { DBT_CLOUD_HOST: 'https://admin:hunter2@ab123.us1.dbt.com' } }),
    ).join('\n');
    expect(problems).toMatch(/"https:\/\/\*\*\*@ab123\.us1\.dbt\.com" must not carry credentials/);
    expect(problems).not.toContain('hunter2');
    expect(problemsOf(() => loadConfig({ env: { DBT_CLOUD_HOST: 'http://ab123.us1.dbt.com' } }))[0]).toMatch(
      /must use https: over http the token would travel in clear/,
    );
    for (const host of ['http://127.0.0.1:8080', 'http://localhost:9', 'http://[::1]:8080'])
      expect(loadConfig({ env: { DBT_CLOUD_HOST: host } }).dbtCloud).toBeUndefined();
  });

  it('refuses a token no dbt Cloud token looks like, without repeating it', () => {
    for (const token of ['tok\u0007en', 'tok en', 'tökén']) {
      const problems = problemsOf(() =>
        loadConfig({ env: { DBT_CLOUD_ACCOUNT_ID: '1', DBT_CLOUD_TOKEN: token }, needs: ['dbtCloud'] }),
      ).join('\n');
      expect(problems).toMatch(/DBT_CLOUD_TOKEN must be printable ASCII without spaces/);
      expect(problems).not.toContain(token);
    }
  });

  it('refuses gs: without its two slashes, and a timeout no timer can hold', () => {
    expect(problemsOf(() => loadConfig({ env: { ARTIFACTS_DESTINATION: 'gs:/my-bucket' } }))[0]).toMatch(
      /two slashes follow gs:/,
    );
    expect(problemsOf(() => loadConfig({ env: { DBT_CLOUD_TIMEOUT_SECONDS: '99999999' } }))[0]).toMatch(
      /DBT_CLOUD_TIMEOUT_SECONDS must be at most 600/,
    );
  });

  it('requires a bucket of a function, where a folder would vanish with the instance', () => {
    for (const destination of ['./out', 'my-bucket', '/tmp/x']) {
      expect(
        problemsOf(() =>
          loadConfig({ env: { ARTIFACTS_DESTINATION: destination }, needs: ['destination'], cloud: true }),
        )[0],
      ).toMatch(/must be gs:\/\/BUCKET\[\/PREFIX\] for a function/);
    }
  });
  it("reads receiveWebhook's configuration: the account without a token, and the secret or where to read it", () => {
    const value = loadConfig({
      env: { DBT_CLOUD_ACCOUNT_ID: '43210', DBT_CLOUD_WEBHOOK_SECRET: 'a3f1c0ffee5eed0ddba1', RUNS_TOPIC: 'runs' },
      needs: ['accountId', 'webhookSecret', 'runsTopic'],
      cloud: true,
    });
    expect([value.accountId, value.webhookSecret, value.dbtCloud]).toEqual([43210, 'a3f1c0ffee5eed0ddba1', undefined]);
    const named = loadConfig({
      env: { DBT_CLOUD_ACCOUNT_ID: '1', DBT_CLOUD_WEBHOOK_SECRET_NAME: 'projects/my-data-platform/secrets/hook' },
      needs: ['webhookSecret'],
    });
    expect(named.webhookSecret).toEqual({ secret: { project: 'my-data-platform', secret: 'hook', version: 'latest' } });
    expect(
      problemsOf(() => loadConfig({ env: { RUNS_TOPIC: 'runs' }, needs: ['accountId', 'webhookSecret', 'runsTopic'] })),
    ).toEqual([
      'DBT_CLOUD_ACCOUNT_ID is required',
      'DBT_CLOUD_WEBHOOK_SECRET is required (or DBT_CLOUD_WEBHOOK_SECRET_NAME) (webhook register prints it)',
    ]);
    const both = problemsOf(() =>
      loadConfig({
        env: {
          DBT_CLOUD_WEBHOOK_SECRET: 'a3f1c0ffee5eed0ddba1',
          DBT_CLOUD_WEBHOOK_SECRET_NAME: 'projects/p-12345/secrets/s',
        },
        needs: ['webhookSecret'],
      }),
    );
    expect(both).toEqual(['set DBT_CLOUD_WEBHOOK_SECRET or DBT_CLOUD_WEBHOOK_SECRET_NAME, not both']);
    expect(
      problemsOf(() => loadConfig({ env: { DBT_CLOUD_WEBHOOK_SECRET: 'x' }, needs: ['webhookSecret'] })).join(),
    ).toMatch(/DBT_CLOUD_WEBHOOK_SECRET is too short/);
    // The secret is never echoed by a problem.
    expect(
      problemsOf(() =>
        loadConfig({ env: { DBT_CLOUD_WEBHOOK_SECRET: 'sec ret with spaces' }, needs: ['webhookSecret'] }),
      ).join(),
    ).not.toContain('sec ret');
  });

  it('reads HARVEST_JOB_IDS as a list of job ids, and names a wrong entry', () => {
    expect(loadConfig({ env: { HARVEST_JOB_IDS: ' 640120, 640121,640120 ' } }).scope.jobIds).toEqual([640120, 640121]);
    expect(problemsOf(() => loadConfig({ env: { HARVEST_JOB_IDS: '640120,abc' } })).join()).toMatch(
      /HARVEST_JOB_IDS must be job ids separated by commas \("abc" is not one\)/,
    );
    expect(problemsOf(() => loadConfig({ env: { HARVEST_JOB_IDS: ',' } })).join()).toMatch(/at least one job id/);
  });
});
