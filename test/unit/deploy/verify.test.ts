import { describe, expect, it } from 'vitest';
import { deploymentNames, type DeployedFunction } from '../../../lib/core/deployment.ts';
import { verifyDeployment, type CheckResult } from '../../../lib/deploy/verify.ts';
import type { ApiAnswer, GoogleApis } from '../../../lib/google/apis.ts';
import { deployedProject, modelApis, type Probe, type ProjectModel } from '../../../harness/fake-google-apis.ts';

/**
 * Each check of `deploy verify` against a model of the deployed project, broken one way at a time:
 * the healthy deployment passes every check, and each break fails exactly the check that names it,
 * with the command that fixes it.
 */
const n = deploymentNames('my-data-platform', 'europe-west12', 'dbt-harvester');
const uri = (fn: DeployedFunction) => `https://${n.functions[fn]}-abc123-ez.a.run.app`;
const NOW = Date.parse('2026-12-06T10:20:00Z');

/** What the deployed functions answer to the probes, as the real handlers do. */
const healthy: Probe = (url, o) => {
  const ok = (json: unknown, status = 200): ApiAnswer => ({ status, json, text: JSON.stringify(json) });
  if (url === uri('receiveWebhook'))
    return o.authenticated ? ok({ error: 'unexpected' }, 500) : ok({ error: 'invalid signature' }, 401);
  if (!o.authenticated) return { status: 403, json: null, text: '<html>Forbidden</html>' };
  if (url === uri('harvestRun')) return ok({ error: 'method not allowed', details: [] }, 405);
  if (url === uri('dispatchHourly') || url === uri('backfill'))
    return ok({ window: {}, runs: 3, published: 0, dryRun: true, runIds: [1, 2, 3] });
  return ok({}, 404);
};

const apisOver = (model: ProjectModel, probe: Probe = healthy) => modelApis(model, probe);

async function verify(model: ProjectModel, probe?: Probe): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for await (const c of verifyDeployment(apisOver(model, probe), {
    project: n.project,
    region: n.region,
    prefix: n.prefix,
    dataset: 'dbt_artifacts',
    now: () => NOW,
  }))
    out.push(c);
  return out;
}

const healthyModel = (webhooks = true) => deployedProject(n, { uri, webhooks });
const failed = (checks: CheckResult[]) => checks.filter((c) => !c.ok);

describe('deploy verify, check by check', () => {
  it('passes every check of a healthy deployment, reading only, and probing each function as it must be', async () => {
    const model = healthyModel();
    const api = apisOver(model);
    const checks: CheckResult[] = [];
    for await (const c of verifyDeployment(api, {
      project: n.project,
      region: n.region,
      prefix: n.prefix,
      dataset: 'dbt_artifacts',
      now: () => NOW,
    }))
      checks.push(c);
    expect(failed(checks)).toEqual([]);
    expect(checks.map((c) => c.what)).toEqual([
      'function dispatchHourly (dbt-harvester-dispatch-hourly)',
      'function backfill (dbt-harvester-backfill)',
      'function harvestRun (dbt-harvester-harvest-run)',
      'function receiveWebhook (dbt-harvester-receive-webhook)',
      'scheduler job dbt-harvester-hourly',
      'topic dbt-harvester-runs',
      'topic dbt-harvester-runs-dead-letter',
      'subscription dbt-harvester-harvest-push',
      'secret dbt-harvester-dbt-cloud-token',
      'secret dbt-harvester-dbt-cloud-webhook-secret',
      'bucket gs://my-data-platform-dbt-artifacts',
      'BigQuery dataset my-data-platform.dbt_artifacts',
    ]);
    expect(api.reads.every((r) => r.startsWith('GET '))).toBe(true);
    // A dry run of each dispatcher (backfill: the last full hour), a GET harvestRun refuses, an unsigned webhook.
    expect(api.calls).toEqual([
      { url: uri('dispatchHourly'), method: 'POST', body: { dryRun: true }, authenticated: true },
      {
        url: uri('backfill'),
        method: 'POST',
        body: { start: '2026-12-06T09:00:00.000Z', end: '2026-12-06T10:00:00.000Z', dryRun: true },
        authenticated: true,
      },
      { url: uri('harvestRun'), method: 'GET', authenticated: true },
      { url: uri('receiveWebhook'), method: 'POST', body: { eventType: 'job.run.completed' }, authenticated: false },
    ]);
  });

  it('says webhooks are off, and checks nothing of them, when neither the function nor its secret exists', async () => {
    const checks = await verify(healthyModel(false));
    expect(failed(checks)).toEqual([]);
    expect(checks[0]).toMatchObject({
      what: 'webhooks',
      ok: true,
      detail: expect.stringContaining('webhook_enabled = false'),
    });
    expect(checks.some((c) => /receive-webhook|webhook-secret/.test(c.what))).toBe(false);
  });

  const where = `projects/${n.project}/locations/${n.region}`;
  const fnKey = (fn: DeployedFunction) => `${where}/functions/${n.functions[fn]}`;
  const svcKey = (fn: DeployedFunction) => `${where}/services/${n.functions[fn]}`;
  const cases: [string, (m: ProjectModel) => void, RegExp, RegExp | undefined, Probe?][] = [
    [
      'a function that is not deployed',
      (m) => m.functions.delete(fnKey('backfill')),
      /function backfill.*not found/,
      /terraform -chdir=terraform apply/,
    ],
    [
      'a function whose deploy failed',
      (m) => {
        const f = m.functions.get(fnKey('harvestRun'))!;
        f['state'] = 'FAILED';
        f['stateMessages'] = [{ severity: 'ERROR', message: 'Build failed: npm ci exited 1' }];
      },
      /function harvestRun.*state FAILED: Build failed: npm ci exited 1/,
      /^gcloud functions describe dbt-harvester-harvest-run --region=europe-west12 --project=my-data-platform; then terraform/,
    ],
    [
      'a function running as another account',
      (m) => {
        (m.functions.get(fnKey('dispatchHourly'))!['serviceConfig'] as Record<string, unknown>)['serviceAccountEmail'] =
          '123-compute@developer.gserviceaccount.com';
      },
      /runs as 123-compute@developer\.gserviceaccount\.com, not its own account dbt-harvester-dispatch-hourly@/,
      /terraform -chdir=terraform apply/,
    ],
    [
      'a revision that is not ready',
      (m) => {
        const s = m.services.get(svcKey('backfill'))!;
        s['latestCreatedRevision'] = `${svcKey('backfill')}/revisions/dbt-harvester-backfill-00002-xyz`;
        s['terminalCondition'] = { type: 'Ready', state: 'CONDITION_FAILED', message: 'Container failed to start' };
      },
      /latest revision dbt-harvester-backfill-00002-xyz is not ready: Container failed to start/,
      /^gcloud run services describe dbt-harvester-backfill --region=europe-west12 --project=my-data-platform$/,
    ],
    [
      'a dispatcher whose dry run fails: no token yet',
      () => {},
      /function dispatchHourly.*a dry run failed \(502\): dispatch failed: The dbt Cloud token is not set/,
      /^printf %s "\$DBT_CLOUD_TOKEN" \| gcloud secrets versions add dbt-harvester-dbt-cloud-token --project=my-data-platform --data-file=-$/,
      (url, o) =>
        url === uri('dispatchHourly')
          ? {
              status: 502,
              json: {
                error: 'dispatch failed',
                details: [
                  'The dbt Cloud token is not set: secret dbt-harvester-dbt-cloud-token has no enabled version',
                ],
              },
              text: '',
            }
          : healthy(url, o),
    ],
    [
      'a dispatcher whose dry run dbt Cloud refuses',
      () => {},
      /function backfill.*a dry run failed \(500\): dispatch failed: dbt Cloud answered 401 Invalid token/,
      /check dbt_cloud_host/,
      (url, o) =>
        url === uri('backfill')
          ? {
              status: 500,
              json: {
                error: 'dispatch failed',
                details: ['dbt Cloud answered 401 Invalid token. (host ab123.us1.dbt.com)'],
              },
              text: '',
            }
          : healthy(url, o),
    ],
    [
      'a probe Cloud Run refuses (the caller may not invoke it)',
      () => {},
      /function harvestRun.*Cloud Run refused the probe's ID token \(403\): dbt-harvester-deployer@my-data-platform\.iam\.gserviceaccount\.com may not invoke it/,
      /Owner, a Cloud Run Admin or the deployer/,
      (url, o) =>
        url === uri('harvestRun') ? { status: 403, json: null, text: '<html>Forbidden</html>' } : healthy(url, o),
    ],
    [
      'a webhook receiver dbt Cloud cannot reach (allUsers refused by the organisation)',
      () => {},
      /function receiveWebhook.*Cloud Run refused a call without a Google identity \(403\): dbt Cloud cannot deliver to it/,
      /webhook_access_command/,
      (url, o) =>
        url === uri('receiveWebhook') ? { status: 403, json: null, text: '<html>Forbidden</html>' } : healthy(url, o),
    ],
    [
      'a paused scheduler job',
      (m) => (m.jobs.get(`${where}/jobs/${n.schedulerJob}`)!['state'] = 'PAUSED'),
      /scheduler job dbt-harvester-hourly: paused/,
      /^gcloud scheduler jobs resume dbt-harvester-hourly --location=europe-west12 --project=my-data-platform$/,
    ],
    [
      'a scheduler job calling something else',
      (m) =>
        ((m.jobs.get(`${where}/jobs/${n.schedulerJob}`)!['httpTarget'] as Record<string, unknown>)['uri'] =
          'https://old.example'),
      /scheduler job dbt-harvester-hourly: calls https:\/\/old\.example, not dispatchHourly/,
      /terraform/,
    ],
    [
      'a missing runs topic',
      (m) => m.topics.delete(`projects/${n.project}/topics/${n.runsTopic}`),
      /topic dbt-harvester-runs: not found/,
      /terraform/,
    ],
    [
      'a push subscription without dead letters',
      (m) =>
        delete m.subscriptions.get(`projects/${n.project}/subscriptions/${n.pushSubscription}`)!['deadLetterPolicy'],
      /subscription dbt-harvester-harvest-push: dead-letters to nowhere/,
      /terraform/,
    ],
    [
      'a token secret with no version yet',
      (m) => (m.secrets.get(`projects/${n.project}/secrets/${n.tokenSecret}`)!.versions = []),
      /secret dbt-harvester-dbt-cloud-token: has no enabled version: the functions cannot call dbt Cloud/,
      /^printf %s "\$DBT_CLOUD_TOKEN" \| gcloud secrets versions add dbt-harvester-dbt-cloud-token --project=my-data-platform --data-file=-$/,
    ],
    [
      'a token secret whose only version is disabled',
      (m) =>
        (m.secrets.get(`projects/${n.project}/secrets/${n.tokenSecret}`)!.versions = [
          { name: 'v/1', state: 'DISABLED' },
        ]),
      /has no enabled version/,
      /gcloud secrets versions add/,
    ],
    [
      'a token secret harvestRun may not read',
      (m) => {
        const policy = m.secrets.get(`projects/${n.project}/secrets/${n.tokenSecret}`)!.policy;
        const binding = (policy['bindings'] as { members: string[] }[])[0]!;
        binding.members = binding.members.filter((x) => !x.includes('harvest-run'));
      },
      /secret dbt-harvester-dbt-cloud-token: harvestRun \(dbt-harvester-harvest-run@my-data-platform\.iam\.gserviceaccount\.com\) may not read it/,
      /^gcloud secrets add-iam-policy-binding dbt-harvester-dbt-cloud-token --project=my-data-platform --member=serviceAccount:dbt-harvester-harvest-run@my-data-platform\.iam\.gserviceaccount\.com --role=roles\/secretmanager\.secretAccessor$/,
    ],
    [
      'a webhook secret with no version',
      (m) => (m.secrets.get(`projects/${n.project}/secrets/${n.webhookSecret}`)!.versions = []),
      /secret dbt-harvester-dbt-cloud-webhook-secret: has no enabled version: receiveWebhook refuses every delivery/,
      /^gcloud secrets versions add dbt-harvester-dbt-cloud-webhook-secret --project=my-data-platform --data-file=webhook-secret\.txt$/,
    ],
    [
      'a webhook receiver without its secret',
      (m) => m.secrets.delete(`projects/${n.project}/secrets/${n.webhookSecret}`),
      /secret dbt-harvester-dbt-cloud-webhook-secret: not found/,
      /terraform/,
    ],
    [
      'a missing bucket',
      (m) => m.buckets.clear(),
      /bucket gs:\/\/my-data-platform-dbt-artifacts: not found/,
      /terraform/,
    ],
    [
      'a bucket harvestRun may not write',
      (m) => {
        const b = m.buckets.get('my-data-platform-dbt-artifacts')!;
        b.policy['bindings'] = (b.policy['bindings'] as { role: string }[]).filter(
          (x) => x.role !== 'roles/storage.objectCreator',
        );
      },
      /bucket gs:\/\/my-data-platform-dbt-artifacts: harvestRun \(dbt-harvester-harvest-run@.*\) may not create objects in it/,
      /^gcloud storage buckets add-iam-policy-binding gs:\/\/my-data-platform-dbt-artifacts --member=serviceAccount:dbt-harvester-harvest-run@my-data-platform\.iam\.gserviceaccount\.com --role=roles\/storage\.objectCreator$/,
    ],
    [
      'a dataset missing a table and a view',
      (m) => {
        const d = m.datasets.get(`projects/${n.project}/datasets/dbt_artifacts`)!;
        d.tables.delete('run_history');
        d.tables.delete('test_failures');
      },
      /BigQuery dataset my-data-platform\.dbt_artifacts: lacks run_history, test_failures/,
      /terraform/,
    ],
  ];

  it.each(cases)('fails on %s, naming it and the fix', async (_name, breakIt, detail, fix, probe) => {
    const model = healthyModel();
    breakIt(model);
    const checks = failed(await verify(model, probe));
    expect(checks.length, JSON.stringify(checks, null, 2)).toBe(1);
    expect(`${checks[0]!.what}: ${checks[0]!.detail}`).toMatch(detail);
    if (fix) expect(checks[0]!.fix).toMatch(fix);
  });

  it("finds the bucket in harvestRun's configuration (bucket_name set), and a function the caller may not read says so", async () => {
    const model = healthyModel();
    const custom = deployedProject(n, { uri, bucket: 'acme-dbt' });
    const checks = await verify(custom);
    expect(checks.find((c) => c.what.startsWith('bucket'))).toMatchObject({ what: 'bucket gs://acme-dbt', ok: true });
    const api = apisOver(model);
    const refusing: GoogleApis = {
      ...api,
      read: async (a, p, o) =>
        a === 'cloudscheduler'
          ? { status: 403, json: { error: { message: "Permission 'cloudscheduler.jobs.get' denied" } }, text: '' }
          : api.read(a, p, o),
    };
    const out: CheckResult[] = [];
    for await (const c of verifyDeployment(refusing, {
      project: n.project,
      region: n.region,
      prefix: n.prefix,
      dataset: 'dbt_artifacts',
      now: () => NOW,
    }))
      out.push(c);
    expect(failed(out).map((c) => c.detail)).toEqual([
      "dbt-harvester-deployer@my-data-platform.iam.gserviceaccount.com may not read it (cloudscheduler.jobs.get; a project Viewer has it): Permission 'cloudscheduler.jobs.get' denied",
    ]);
  });
});
