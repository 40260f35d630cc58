/**
 * `deploy verify`: the live deployment, checked end to end through Google's APIs with the caller's
 * credentials, read-only (the probes are a dry run of each dispatcher, a GET harvestRun refuses,
 * and an unsigned call receiveWebhook refuses). One result per check, each with what is wrong and
 * the command that fixes it:
 *
 * - each function (Cloud Functions v2 `functions.get`): deployed, ACTIVE, running as its own
 *   account; its Cloud Run service (Run v2 `services.get`) ready on its latest revision (Run's own
 *   rule: terminalCondition succeeded, latestReadyRevision = latestCreatedRevision); and answering
 *   a probe as the function would;
 * - the scheduler job (Cloud Scheduler v1 `jobs.get`): ENABLED, calling dispatchHourly with OIDC as
 *   the scheduler account;
 * - the runs topic, the push subscription (to harvestRun, dead-lettering to the dead-letter topic),
 *   the dead-letter topic (Pub/Sub v1);
 * - the token secret (and the webhook secret when webhooks are on): an ENABLED version
 *   (`versions.list`, which returns no secret data) and the functions that read it holding
 *   roles/secretmanager.secretAccessor on it (`getIamPolicy`);
 * - the artifacts bucket: it exists, and harvestRun's account may create objects in it;
 * - the BigQuery dataset and its tables and views.
 *
 * A grant is checked on the resource's own policy, where terraform/ makes it; one made higher up
 * (the project) reads as missing, and the line says where it looked.
 * @module
 */
import {
  BIGQUERY_TABLES,
  FUNCTION_SLUGS,
  deploymentNames,
  type DeployedFunction,
  type DeploymentNames,
} from '../core/deployment.ts';
import { errorMessage } from '../core/errors.ts';
import type { ApiAnswer, GoogleApi, GoogleApis } from '../google/apis.ts';

export interface VerifyTarget {
  project: string;
  region: string;
  prefix: string;
  dataset: string;
  /** The artifacts bucket, when not read from harvestRun's configuration. */
  bucket?: string;
  now: () => number;
}

export interface CheckResult {
  /** What was checked: `function dispatchHourly (dbt-harvester-dispatch-hourly)`. */
  what: string;
  ok: boolean;
  /** What was found (ok), or what is wrong. */
  detail: string;
  /** The command (or step) that fixes it. */
  fix?: string;
}

const APPLY = 'terraform -chdir=terraform apply (or submit the Cloud Build deployment again)';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** An API's refusal, as a detail: not found, not allowed (and for whom), or its status and message. */
function refusal(answer: ApiAnswer, caller: string | null, permission: string): string {
  if (answer.status === 404) return 'not found';
  const message = str(obj(obj(answer.json)['error'])['message']);
  if (answer.status === 403)
    return `${caller ?? 'the caller'} may not read it (${permission}; a project Viewer has it)${message ? `: ${message}` : ''}`;
  return `the API answered ${answer.status}${message ? `: ${message}` : ''}`;
}

/** The failed check of a resource that could not be read: missing (re-apply), or not allowed. */
const unread = (what: string, answer: ApiAnswer, caller: string | null, permission: string): CheckResult => ({
  what,
  ok: false,
  detail: refusal(answer, caller, permission),
  ...(answer.status === 404 ? { fix: APPLY } : {}),
});

/** The members holding `role` in an IAM policy (bindings without a condition). */
function holders(policy: unknown, roles: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const b of list(obj(policy)['bindings'])) {
    const binding = obj(b);
    if (!roles.includes(String(binding['role'])) || binding['condition']) continue;
    for (const m of list(binding['members'])) out.add(String(m));
  }
  return out;
}

/** Roles that let an account create objects in a bucket (predefined roles with storage.objects.create). */
const OBJECT_CREATORS = [
  'roles/storage.objectCreator',
  'roles/storage.objectUser',
  'roles/storage.objectAdmin',
  'roles/storage.admin',
  'roles/storage.legacyBucketWriter',
  'roles/storage.legacyBucketOwner',
];

interface FunctionState {
  /** Its Cloud Run service's URL, where it answers. */
  uri?: string;
  env: Record<string, string>;
}

export async function* verifyDeployment(api: GoogleApis, target: VerifyTarget): AsyncGenerator<CheckResult> {
  const n = deploymentNames(target.project, target.region, target.prefix);
  const where = `projects/${n.project}/locations/${n.region}`;
  const read = (a: GoogleApi, path: string, options?: { method?: 'GET' | 'POST'; body?: unknown }) =>
    api.read(a, path, options);
  const found = new Map<DeployedFunction, FunctionState>();

  // Webhooks are on when receiveWebhook or its secret exists; both or neither.
  const webhookFn = await read('cloudfunctions', `/v2/${where}/functions/${n.functions.receiveWebhook}`);
  const webhookSecret = await read('secretmanager', `/v1/projects/${n.project}/secrets/${n.webhookSecret}`);
  const webhooks = webhookFn.status !== 404 || webhookSecret.status !== 404;
  if (!webhooks)
    yield {
      what: 'webhooks',
      ok: true,
      detail: `off (neither ${n.functions.receiveWebhook} nor ${n.webhookSecret} exists: webhook_enabled = false); runs are found hourly`,
    };

  for (const name of Object.keys(FUNCTION_SLUGS) as DeployedFunction[]) {
    if (name === 'receiveWebhook' && !webhooks) continue;
    const answer =
      name === 'receiveWebhook'
        ? webhookFn
        : await read('cloudfunctions', `/v2/${where}/functions/${n.functions[name]}`);
    const result = await checkFunction(api, n, name, answer, target);
    if (result.state) found.set(name, result.state);
    yield result.check;
  }

  yield await checkScheduler(api, n, found.get('dispatchHourly')?.uri);
  yield* checkPubSub(api, n, found.get('harvestRun')?.uri);
  yield await checkSecret(api, n, n.tokenSecret, 'token', ['harvestRun', 'dispatchHourly', 'backfill']);
  if (webhooks) yield await checkSecret(api, n, n.webhookSecret, 'webhook', ['receiveWebhook'], webhookSecret);
  const destination = found.get('harvestRun')?.env['ARTIFACTS_DESTINATION'];
  const bucket = target.bucket ?? /^gs:\/\/([^/]+)/.exec(destination ?? '')?.[1] ?? n.defaultBucket;
  yield await checkBucket(api, n, bucket);
  yield await checkDataset(api, n, target.dataset);
}

async function checkFunction(
  api: GoogleApis,
  n: DeploymentNames,
  name: DeployedFunction,
  answer: ApiAnswer,
  target: VerifyTarget,
): Promise<{ check: CheckResult; state?: FunctionState }> {
  const what = `function ${name} (${n.functions[name]})`;
  const fail = (detail: string, fix?: string) => ({ check: { what, ok: false, detail, ...(fix ? { fix } : {}) } });
  const describe = `gcloud functions describe ${n.functions[name]} --region=${n.region} --project=${n.project}`;
  if (answer.status !== 200)
    return fail(refusal(answer, api.caller, 'cloudfunctions.functions.get'), answer.status === 404 ? APPLY : undefined);
  const fn = obj(answer.json);
  const state = str(fn['state']);
  const service = obj(fn['serviceConfig']);
  const env = Object.fromEntries(Object.entries(obj(service['environmentVariables'])).map(([k, v]) => [k, String(v)]));
  if (state !== 'ACTIVE') {
    const messages = list(fn['stateMessages'])
      .map((m) => str(obj(m)['message']))
      .filter(Boolean)
      .join('; ');
    return fail(`state ${state ?? 'unknown'}${messages ? `: ${messages}` : ''}`, `${describe}; then ${APPLY}`);
  }
  const account = str(service['serviceAccountEmail']);
  if (account !== n.accounts[name])
    return fail(`runs as ${account ?? 'the default compute account'}, not its own account ${n.accounts[name]}`, APPLY);
  const uri = str(service['uri']);
  const serviceName = str(service['service']);
  if (!uri || !serviceName) return fail('has no Cloud Run service yet', `${describe}; then ${APPLY}`);
  // The Cloud Run service behind it: ready on its latest revision.
  const run = await api.read('run', `/v2/${serviceName}`);
  if (run.status !== 200)
    return fail(`its service ${serviceName}: ${refusal(run, api.caller, 'run.services.get')}`, APPLY);
  const svc = obj(run.json);
  const terminal = obj(svc['terminalCondition']);
  const ready = str(svc['latestReadyRevision']);
  const created = str(svc['latestCreatedRevision']);
  const runDescribe = `gcloud run services describe ${serviceName.split('/').pop()} --region=${n.region} --project=${n.project}`;
  if (terminal['state'] !== 'CONDITION_SUCCEEDED' || !ready || ready !== created)
    return fail(
      `its latest revision ${(created ?? '?').split('/').pop()} is not ready${str(terminal['message']) ? `: ${str(terminal['message'])}` : ''}`,
      runDescribe,
    );
  const probe = await probeFunction(api, n, name, uri, target);
  const revision = ready.split('/').pop();
  if (!probe.ok)
    return {
      check: {
        what,
        ok: false,
        detail: `revision ${revision} ready, but ${probe.detail}`,
        ...(probe.fix ? { fix: probe.fix } : {}),
      },
      state: { uri, env },
    };
  return {
    check: { what, ok: true, detail: `active, revision ${revision} ready, ${probe.detail}` },
    state: { uri, env },
  };
}

/** The hour before the present hour, as the dispatcher's window. */
function lastHour(now: number): { start: string; end: string } {
  const end = Math.floor(now / 3_600_000) * 3_600_000;
  return { start: new Date(end - 3_600_000).toISOString(), end: new Date(end).toISOString() };
}

async function probeFunction(
  api: GoogleApis,
  n: DeploymentNames,
  name: DeployedFunction,
  uri: string,
  target: VerifyTarget,
): Promise<{ ok: boolean; detail: string; fix?: string }> {
  let answer: ApiAnswer;
  const why = (a: ApiAnswer): string => {
    const body = obj(a.json);
    const details = list(body['details']).map(String).join('; ');
    return `${str(body['error']) ?? a.text.replace(/\s+/g, ' ').slice(0, 200)}${details ? `: ${details}` : ''}`;
  };
  try {
    if (name === 'receiveWebhook') {
      // dbt Cloud calls without a Google identity; an unsigned delivery is refused by the function itself.
      answer = await api.call(uri, { method: 'POST', body: { eventType: 'job.run.completed' }, authenticated: false });
      if (answer.status === 401 && obj(answer.json)['error'] !== undefined)
        return {
          ok: true,
          detail: 'refused an unsigned delivery (401), as it must, reachable without a Google identity',
        };
      if (answer.status === 403 || (answer.status === 401 && obj(answer.json)['error'] === undefined))
        return {
          ok: false,
          detail: `Cloud Run refused a call without a Google identity (${answer.status}): dbt Cloud cannot deliver to it`,
          fix: `terraform -chdir=terraform output -raw webhook_access_command, and run what it prints (webhook_access = "no-invoker-check"), or ${APPLY}`,
        };
      return { ok: false, detail: `an unsigned delivery was answered ${answer.status} (${why(answer)}), not 401` };
    }
    const probe =
      name === 'dispatchHourly'
        ? { method: 'POST' as const, body: { dryRun: true } }
        : name === 'backfill'
          ? { method: 'POST' as const, body: { ...lastHour(target.now()), dryRun: true } }
          : { method: 'GET' as const };
    answer = await api.call(uri, { ...probe, authenticated: true });
  } catch (err) {
    return { ok: false, detail: `the probe did not get through: ${errorMessage(err)}` };
  }
  if (answer.status === 401 || answer.status === 403)
    return {
      ok: false,
      detail: `Cloud Run refused the probe's ID token (${answer.status}): ${api.caller ?? 'the caller'} may not invoke it`,
      fix: `run deploy verify as a project Owner, a Cloud Run Admin or the deployer: gcloud auth application-default login --impersonate-service-account=${n.deployer}`,
    };
  if (name === 'harvestRun') {
    if (answer.status === 405 && obj(answer.json)['error'] !== undefined)
      return { ok: true, detail: 'serving (refused a GET, as it takes only Pub/Sub pushes)' };
    return { ok: false, detail: `a GET was answered ${answer.status} (${why(answer)}), not the function's 405` };
  }
  const body = obj(answer.json);
  if (answer.status === 200 && body['dryRun'] === true)
    return { ok: true, detail: `a dry run read dbt Cloud: ${Number(body['runs'] ?? 0)} runs in the last hour` };
  const text = why(answer);
  const fix = /token is not set|no enabled version/i.test(text)
    ? `printf %s "$DBT_CLOUD_TOKEN" | gcloud secrets versions add ${n.tokenSecret} --project=${n.project} --data-file=-`
    : /401|invalid token/i.test(text)
      ? `check dbt_cloud_host (a token is refused on another account's host), then store the right token: printf %s "$DBT_CLOUD_TOKEN" | gcloud secrets versions add ${n.tokenSecret} --project=${n.project} --data-file=-`
      : `gcloud logging read 'resource.type="cloud_run_revision" AND resource.labels.service_name="${n.functions[name]}" AND severity>=WARNING' --project=${n.project} --limit=20`;
  return { ok: false, detail: `a dry run failed (${answer.status}): ${text}`, fix };
}

async function checkScheduler(
  api: GoogleApis,
  n: DeploymentNames,
  dispatchUri: string | undefined,
): Promise<CheckResult> {
  const what = `scheduler job ${n.schedulerJob}`;
  const answer = await api.read(
    'cloudscheduler',
    `/v1/projects/${n.project}/locations/${n.region}/jobs/${n.schedulerJob}`,
  );
  if (answer.status !== 200) return unread(what, answer, api.caller, 'cloudscheduler.jobs.get');
  const job = obj(answer.json);
  const state = str(job['state']);
  if (state === 'PAUSED')
    return {
      what,
      ok: false,
      detail: 'paused: no hour is harvested',
      fix: `gcloud scheduler jobs resume ${n.schedulerJob} --location=${n.region} --project=${n.project}`,
    };
  if (state !== 'ENABLED')
    return {
      what,
      ok: false,
      detail: `state ${state ?? 'unknown'}${state === 'DISABLED' ? ' (disabled by Cloud Scheduler after errors)' : ''}`,
      fix: `gcloud scheduler jobs resume ${n.schedulerJob} --location=${n.region} --project=${n.project}; or ${APPLY}`,
    };
  const http = obj(job['httpTarget']);
  const oidc = obj(http['oidcToken']);
  if (dispatchUri && str(http['uri']) !== dispatchUri)
    return {
      what,
      ok: false,
      detail: `calls ${str(http['uri']) ?? 'nothing'}, not dispatchHourly (${dispatchUri})`,
      fix: APPLY,
    };
  if (str(oidc['serviceAccountEmail']) !== n.accounts.scheduler)
    return {
      what,
      ok: false,
      detail: `calls with ${str(oidc['serviceAccountEmail']) ? `the identity ${str(oidc['serviceAccountEmail'])}` : 'no OIDC identity'}, not ${n.accounts.scheduler}`,
      fix: APPLY,
    };
  return {
    what,
    ok: true,
    detail: `enabled (${str(job['schedule']) ?? '?'} ${str(job['timeZone']) ?? ''}), calling dispatchHourly as ${n.accounts.scheduler}`,
  };
}

async function* checkPubSub(
  api: GoogleApis,
  n: DeploymentNames,
  harvestUri: string | undefined,
): AsyncGenerator<CheckResult> {
  const topic = (id: string) => `projects/${n.project}/topics/${id}`;
  for (const id of [n.runsTopic, n.deadLetterTopic]) {
    const answer = await api.read('pubsub', `/v1/${topic(id)}`);
    yield answer.status === 200
      ? { what: `topic ${id}`, ok: true, detail: 'exists' }
      : unread(`topic ${id}`, answer, api.caller, 'pubsub.topics.get');
  }
  const what = `subscription ${n.pushSubscription}`;
  const answer = await api.read('pubsub', `/v1/projects/${n.project}/subscriptions/${n.pushSubscription}`);
  if (answer.status !== 200) {
    yield unread(what, answer, api.caller, 'pubsub.subscriptions.get');
    return;
  }
  const sub = obj(answer.json);
  const push = obj(sub['pushConfig']);
  const dead = obj(sub['deadLetterPolicy']);
  const problems: string[] = [];
  if (str(sub['topic']) !== topic(n.runsTopic))
    problems.push(`reads ${str(sub['topic']) ?? 'no topic'}, not ${n.runsTopic}`);
  if (harvestUri && str(push['pushEndpoint']) !== harvestUri)
    problems.push(
      `pushes to ${str(push['pushEndpoint']) ?? 'nothing (a pull subscription)'}, not harvestRun (${harvestUri})`,
    );
  if (str(obj(push['oidcToken'])['serviceAccountEmail']) !== n.accounts.push)
    problems.push(`pushes without the OIDC identity ${n.accounts.push}`);
  if (str(dead['deadLetterTopic']) !== topic(n.deadLetterTopic))
    problems.push(`dead-letters to ${str(dead['deadLetterTopic']) ?? 'nowhere'}, not ${n.deadLetterTopic}`);
  if (sub['state'] === 'RESOURCE_ERROR') problems.push('is in RESOURCE_ERROR: Pub/Sub cannot deliver to its endpoint');
  yield problems.length > 0
    ? { what, ok: false, detail: problems.join('; '), fix: APPLY }
    : {
        what,
        ok: true,
        detail: `pushes to harvestRun as ${n.accounts.push}, dead-letters after ${Number(dead['maxDeliveryAttempts'] ?? 5)} attempts`,
      };
}

async function checkSecret(
  api: GoogleApis,
  n: DeploymentNames,
  secret: string,
  kind: 'token' | 'webhook',
  readers: readonly DeployedFunction[],
  known?: ApiAnswer,
): Promise<CheckResult> {
  const what = `secret ${secret}`;
  const path = `/v1/projects/${n.project}/secrets/${secret}`;
  const answer = known ?? (await api.read('secretmanager', path));
  if (answer.status !== 200) return unread(what, answer, api.caller, 'secretmanager.secrets.get');
  const add =
    kind === 'token'
      ? `printf %s "$DBT_CLOUD_TOKEN" | gcloud secrets versions add ${secret} --project=${n.project} --data-file=-`
      : `gcloud secrets versions add ${secret} --project=${n.project} --data-file=webhook-secret.txt`;
  // Listing versions returns their states, never their data.
  const versions = await api.read('secretmanager', `${path}/versions?pageSize=100`);
  if (versions.status !== 200)
    return { what, ok: false, detail: `its versions: ${refusal(versions, api.caller, 'secretmanager.versions.list')}` };
  const enabled = list(obj(versions.json)['versions']).filter((v) => obj(v)['state'] === 'ENABLED');
  if (enabled.length === 0)
    return {
      what,
      ok: false,
      detail: `has no enabled version: ${kind === 'token' ? 'the functions cannot call dbt Cloud' : 'receiveWebhook refuses every delivery (store the secret webhook register printed, in webhook-secret.txt)'}`,
      fix: add,
    };
  const policy = await api.read('secretmanager', `${path}:getIamPolicy`);
  if (policy.status !== 200)
    return {
      what,
      ok: false,
      detail: `its IAM policy: ${refusal(policy, api.caller, 'secretmanager.secrets.getIamPolicy')}`,
    };
  const can = holders(policy.json, ['roles/secretmanager.secretAccessor', 'roles/secretmanager.admin']);
  const missing = readers.filter((r) => !can.has(`serviceAccount:${n.accounts[r]}`));
  if (missing.length > 0)
    return {
      what,
      ok: false,
      detail: `${missing.map((r) => `${r} (${n.accounts[r]})`).join(', ')} may not read it (no roles/secretmanager.secretAccessor on the secret)`,
      fix: `gcloud secrets add-iam-policy-binding ${secret} --project=${n.project} --member=serviceAccount:${n.accounts[missing[0]!]} --role=roles/secretmanager.secretAccessor`,
    };
  return { what, ok: true, detail: `has an enabled version, readable by ${readers.join(', ')}` };
}

async function checkBucket(api: GoogleApis, n: DeploymentNames, bucket: string): Promise<CheckResult> {
  const what = `bucket gs://${bucket}`;
  const answer = await api.read('storage', `/b/${encodeURIComponent(bucket)}`);
  if (answer.status !== 200) return unread(what, answer, api.caller, 'storage.buckets.get');
  const policy = await api.read('storage', `/b/${encodeURIComponent(bucket)}/iam?optionsRequestedPolicyVersion=3`);
  if (policy.status !== 200)
    return {
      what,
      ok: false,
      detail: `its IAM policy: ${refusal(policy, api.caller, 'storage.buckets.getIamPolicy')}`,
    };
  const member = `serviceAccount:${n.accounts.harvestRun}`;
  if (!holders(policy.json, OBJECT_CREATORS).has(member))
    return {
      what,
      ok: false,
      detail: `harvestRun (${n.accounts.harvestRun}) may not create objects in it`,
      fix: `gcloud storage buckets add-iam-policy-binding gs://${bucket} --member=${member} --role=roles/storage.objectCreator`,
    };
  return { what, ok: true, detail: `exists; harvestRun may create objects in it` };
}

async function checkDataset(api: GoogleApis, n: DeploymentNames, dataset: string): Promise<CheckResult> {
  const what = `BigQuery dataset ${n.project}.${dataset}`;
  const path = `/projects/${n.project}/datasets/${dataset}`;
  const answer = await api.read('bigquery', path);
  if (answer.status !== 200) return unread(what, answer, api.caller, 'bigquery.datasets.get');
  const missing: string[] = [];
  for (const table of BIGQUERY_TABLES) {
    const t = await api.read('bigquery', `${path}/tables/${table}`);
    if (t.status === 404) missing.push(table);
    else if (t.status !== 200)
      return { what, ok: false, detail: `table ${table}: ${refusal(t, api.caller, 'bigquery.tables.get')}` };
  }
  if (missing.length > 0) return { what, ok: false, detail: `lacks ${missing.join(', ')}`, fix: APPLY };
  return { what, ok: true, detail: `has its ${BIGQUERY_TABLES.length} tables and views` };
}
