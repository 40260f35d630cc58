import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';
import { sinkFor } from '../../lib/sinks/index.ts';

describe('loadConfig', () => {
  it('reads the environment with defaults', () => {
    const config = loadConfig({ DBT_CLOUD_ACCOUNT_ID: '43210', DBT_CLOUD_TOKEN: 'tok', DBT_CLOUD_HOST: 'ab123.us1.dbt.com' });
    expect(config).toMatchObject({ accountId: 43210, baseUrl: 'https://ab123.us1.dbt.com', artifacts: ['manifest.json', 'catalog.json', 'run_results.json', 'sources.json'], concurrency: 16, includeCancelled: false });
    expect(loadConfig({ DBT_CLOUD_ACCOUNT_ID: '1', DBT_CLOUD_TOKEN: 't' }).baseUrl).toBe('https://cloud.getdbt.com');
    expect(loadConfig({ DBT_CLOUD_ACCOUNT_ID: '1', DBT_CLOUD_TOKEN: 't', DBT_CLOUD_HOST: 'http://127.0.0.1:8080/' }).baseUrl).toBe('http://127.0.0.1:8080');
  });

  it('names every offending variable in one error, without the token', () => {
    let err: unknown;
    try {
      loadConfig({ DBT_CLOUD_ACCOUNT_ID: 'abc', DBT_CLOUD_PROJECT_ID: '-3', HARVEST_ARTIFACTS: 'manifest.json,../x.json', HARVEST_CONCURRENCY: '0' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    for (const name of ['DBT_CLOUD_ACCOUNT_ID', 'DBT_CLOUD_TOKEN is required', 'DBT_CLOUD_PROJECT_ID', 'HARVEST_ARTIFACTS', 'HARVEST_CONCURRENCY']) expect(message).toContain(name);
  });

  it('rejects a host that is not a host', () => {
    expect(() => loadConfig({ DBT_CLOUD_ACCOUNT_ID: '1', DBT_CLOUD_TOKEN: 't', DBT_CLOUD_HOST: 'ftp://x' })).toThrow(/DBT_CLOUD_HOST/);
  });
});

describe('sinkFor', () => {
  it('chooses by destination and rejects nonsense', () => {
    expect(sinkFor('gs://my-bucket/dbt/history').description).toBe('gs://my-bucket/dbt/history');
    expect(sinkFor('./out').description).toMatch(/out$/);
    expect(() => sinkFor('gs://Bad_Bucket')).toThrow(ConfigError);
    expect(() => sinkFor('gs://bucket/../x')).toThrow(ConfigError);
    expect(() => sinkFor('s3://bucket')).toThrow(ConfigError);
  });
});
