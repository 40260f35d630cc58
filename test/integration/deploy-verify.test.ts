import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../lib/cloud/functions.ts';
import { serve } from '../../lib/cloud/serve.ts';
import { deploymentNames, type DeployedFunction } from '../../lib/core/deployment.ts';
import { startFakeGcs, type FakeGcs } from '../../harness/fake-gcs/server.ts';
import { startFakeGoogleApis, type FakeGoogleApis } from '../../harness/fake-google-apis.ts';
import { startMetadataServer, type MetadataServer } from '../../harness/metadata-server.ts';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';

/**
 * `deploy verify` as a user runs it, in its own process, with Google's own auth library: its
 * credentials from a metadata server (as on Cloud Build; a stand-in on loopback), the project's
 * APIs from a stand-in that answers them from a model of the deployment, and behind the stand-in's
 * Cloud Run front, which checks each ID token's audience, the real handlers of the four functions,
 * served by the functions framework and reading a fake dbt Cloud.
 */
const n = deploymentNames('my-data-platform', 'europe-west12', 'dbt-harvester');
let fake: FakeDbtCloud;
let gcs: FakeGcs;
let metadata: MetadataServer;
let apis: FakeGoogleApis;
let home: string;
const servers: Server[] = [];

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  fake = await fakeCloud();
  gcs = await startFakeGcs();
  metadata = await startMetadataServer({ account: `${n.prefix}-deployer@${n.project}.iam.gserviceaccount.com` });
  home = mkdtempSync(join(tmpdir(), 'verify-home-'));
  const env = {
    DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
    DBT_CLOUD_TOKEN: TOKEN,
    DBT_CLOUD_HOST: fake.url,
    RUNS_TOPIC: `projects/${n.project}/topics/${n.runsTopic}`,
    ARTIFACTS_DESTINATION: 'gs://my-data-platform-dbt-artifacts/dbt',
    STORAGE_API_ENDPOINT: gcs.url,
    DBT_CLOUD_WEBHOOK_SECRET: 'whsec-0123456789abcdef',
  };
  const backends: Partial<Record<DeployedFunction, string>> = {};
  for (const fn of FUNCTIONS) {
    // alertRun is deployed only with alerts on; deploy verify checks the four that always are.
    if (fn.name === 'alertRun') continue;
    ff.http(`verify-${fn.name}`, serve(fn, env, []));
    backends[fn.name] = await listen(getTestServer(`verify-${fn.name}`));
  }
  apis = await startFakeGoogleApis({ names: n, accessToken: 'ya29.metadata-stand-in', backends });
}, 60_000);

afterAll(async () => {
  for (const s of servers) s.close();
  await apis?.close();
  await metadata?.close();
  await gcs?.stop();
  await fake?.stop();
  rmSync(home, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** The CLI in its own process, with only the environment given: no credentials but what it names. */
function verify(args: string[], env: Record<string, string>): Promise<Result> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['lib/cli/main.ts', 'deploy', 'verify', ...args],
      { env: { PATH: process.env['PATH'] ?? '', HOME: home, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 0;
        resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 });
      },
    );
  });
}

const ARGS = ['--project', n.project, '--region', n.region];
const onCloudBuild = () => ({ GCE_METADATA_HOST: metadata.host, GOOGLE_APIS_ENDPOINT: apis.url });

describe('deploy verify against a deployment on loopback', () => {
  it('passes every check, probing the real functions with ID tokens for their URLs, and reads nothing but GETs', async () => {
    apis.requests.length = 0;
    const r = await verify(ARGS, onCloudBuild());
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(12);
    expect(lines.filter((l) => !l.startsWith('ok  '))).toEqual([]);
    expect(r.stdout).toMatch(/function dispatchHourly .*a dry run read dbt Cloud: \d+ runs in the last hour/);
    expect(r.stdout).toMatch(/function receiveWebhook .*refused an unsigned delivery \(401\)/);
    expect(r.stderr).toMatch(/as dbt-harvester-deployer@my-data-platform\.iam\.gserviceaccount\.com/);
    expect(r.stderr).toMatch(/All 12 checks passed/);
    const reads = apis.requests.filter((q) => !q.path.startsWith('/__run/'));
    expect(reads.length).toBeGreaterThan(15);
    expect(reads.filter((q) => q.method !== 'GET')).toEqual([]);
    expect(apis.requests.filter((q) => q.path.startsWith('/__run/')).map((q) => `${q.method} ${q.path}`)).toEqual([
      `POST /__run/${n.functions.dispatchHourly}`,
      `POST /__run/${n.functions.backfill}`,
      `GET /__run/${n.functions.harvestRun}`,
      `POST /__run/${n.functions.receiveWebhook}`,
    ]);
  }, 120_000);

  it('fails, exit 1, on what is broken, naming it and the fix, and passes the rest', async () => {
    const job = apis.model.jobs.get(`projects/${n.project}/locations/${n.region}/jobs/${n.schedulerJob}`)!;
    job['state'] = 'PAUSED';
    try {
      const r = await verify(ARGS, onCloudBuild());
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(1);
      const failing = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
      expect(failing).toEqual([
        `FAIL  scheduler job ${n.schedulerJob}: paused: no hour is harvested. Fix: gcloud scheduler jobs resume ${n.schedulerJob} --location=${n.region} --project=${n.project}`,
      ]);
      expect(r.stderr).toMatch(/1 of 12 checks failed/);
    } finally {
      job['state'] = 'ENABLED';
    }
  }, 120_000);

  it('stops in seconds with exit 2 and how to log in when there are no credentials, even if a metadata address hangs', async () => {
    // A metadata address that accepts connections and never answers.
    const silent = createServer(() => {});
    const host = (await listen(silent)).replace('http://', '');
    const r = await verify(ARGS, { GCE_METADATA_HOST: host, GOOGLE_APIS_ENDPOINT: apis.url });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(/No Google credentials to check the deployment with/);
    expect(r.stderr).toMatch(/gcloud auth application-default login/);
    expect(r.stdout).toBe('');
    // Bounded by the credentials wait (15 s), not by the metadata server.
    expect(r.seconds).toBeLessThan(45);
    silent.closeAllConnections();
  }, 120_000);

  it('refuses bad usage with exit 2 before looking for credentials', async () => {
    const r = await verify(['--region', 'europe-west1', '--name-prefix', 'Bad_Prefix'], onCloudBuild());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--project P is required/);
    expect(r.stderr).toMatch(/--name-prefix must be 2 to 14 lowercase letters/);
  }, 60_000);
});
