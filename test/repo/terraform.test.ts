import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../lib/cloud/functions.ts';
import { NEED_OPTIONS, type Need } from '../../lib/config/load.ts';
import { CONFIG_VARIABLES, OPTIONS } from '../../lib/config/options.ts';
import { BIGQUERY_TABLES, DEFAULT_DATASET, DEFAULT_NAME_PREFIX, deploymentNames } from '../../lib/core/deployment.ts';
import { planTerraform, plannedResources, type PlanJson, type PlannedResource } from '../../harness/terraform/plan.ts';
import { startStandIns, type RunningStandIns } from '../../harness/terraform/server.ts';
import { codeBlocks, docSection, rows } from '../markdown.ts';

/**
 * The deployment as Terraform itself evaluates it: the real terraform binary plans terraform/ with
 * terraform.tfvars.example against stand-ins of the real providers (npm run terraform:plan), and the
 * security and capacity invariants are asserted on the plan (`terraform show -json`), values
 * Terraform computed, not the HCL text. Then each kind of mistake a plan must catch is made on a
 * copy, and the plan is shown to fail.
 */
let standIns: RunningStandIns;
let plan: PlanJson;
let resources: PlannedResource[];

beforeAll(async () => {
  standIns = await startStandIns();
  const run = await planTerraform({ standIns });
  if (!run.ok || !run.plan) throw new Error(`terraform ${run.failed} failed:\n${run.output}`);
  plan = run.plan;
  resources = plannedResources(plan).filter((r) => r.mode === 'managed');
}, 120_000);
afterAll(() => standIns?.close());

const ofType = (type: string): PlannedResource[] => resources.filter((r) => r.type === type);
const one = (address: string): PlannedResource => {
  const r = resources.find((x) => x.address === address);
  if (!r) throw new Error(`the plan has no ${address}`);
  return r;
};
const first = <T = Record<string, unknown>>(v: unknown): T => (Array.isArray(v) ? (v[0] as T) : (v as T));
const fn = (name: string): PlannedResource => one(`google_cloudfunctions2_function.fn["${name}"]`);
const serviceConfig = (name: string) => first<Record<string, unknown>>(fn(name).values['service_config']);
const env = (name: string) => serviceConfig(name)['environment_variables'] as Record<string, string>;
const vars = (): Record<string, unknown> =>
  Object.fromEntries(Object.entries(plan.variables).map(([k, v]) => [k, v.value]));
/** The project number the plan read (data.google_project), as the Pub/Sub agent's email carries it. */
const projectNumber = (): string =>
  /service-(\d+)@gcp-sa-pubsub/.exec(
    String(one('google_pubsub_topic_iam_member.dead_letter_publisher').values['member']),
  )![1]!;
const account = (id: string): string =>
  `serviceAccount:${vars()['name_prefix']}-${id}@${vars()['project_id']}.iam.gserviceaccount.com`;
/** The functions of the default plan: alertRun only with alert_sinks (its own describe below). */
const DEPLOYED = FUNCTIONS.filter((f) => f.name !== 'alertRun');
const SLUGS: Record<string, string> = {
  dispatchHourly: 'dispatch-hourly',
  backfill: 'backfill',
  harvestRun: 'harvest-run',
  receiveWebhook: 'receive-webhook',
};
type ConfigResource = {
  address: string;
  depends_on?: string[];
  expressions: Record<string, { references?: string[] }>;
};
const configResources = (p: PlanJson = plan): ConfigResource[] =>
  (p.configuration as { root_module: { resources: ConfigResource[] } }).root_module.resources;

/** Every IAM grant of the plan: role, member, and what it is granted on. */
function grants(): { address: string; type: string; role: string; member: string; on: string }[] {
  const config = configResources();
  return resources
    .filter((r) => /_iam_(member|binding|policy)$/.test(r.type))
    .map((r) => {
      const v = r.values;
      const base = r.address.replace(/\[[^\]]+\]$/, '');
      const on =
        r.type === 'google_cloud_run_v2_service_iam_member'
          ? `run:${/fn\["(\w+)"\]/.exec(config.find((c) => c.address === base)?.expressions['name']?.references?.[0] ?? '')?.[1] ?? '?'}`
          : r.type === 'google_project_iam_member'
            ? `project:${String(v['project'])}${first<{ expression?: string } | undefined>(v['condition'])?.expression ? ` if ${first<{ expression: string }>(v['condition']).expression}` : ''}`
            : String(
                v['bucket'] ??
                  v['topic'] ??
                  v['secret_id'] ??
                  v['subscription'] ??
                  v['repository'] ??
                  v['service_account_id'],
              );
      return { address: r.address, type: r.type, role: String(v['role']), member: String(v['member']), on };
    });
}

describe('the plan of terraform/ (real terraform, stand-in providers)', () => {
  it('creates the whole system in one apply: every function of the table a Cloud Run function built from the source', () => {
    expect(plan.errored).toBe(false);
    expect(
      resources.every(
        (r) => plan.resource_changes.find((c) => c.address === r.address)?.change.actions.join() === 'create',
      ),
    ).toBe(true);
    expect(
      ofType('google_cloudfunctions2_function')
        .map((r) => r.index)
        .sort(),
    ).toEqual(DEPLOYED.map((f) => f.name).sort());
    // Only a function resource builds its image; a Cloud Run service with a build_config would run
    // an image nobody built (hashicorp/terraform-provider-google#22263).
    expect(ofType('google_cloud_run_v2_service')).toEqual([]);
    const source = one('google_storage_bucket_object.source').values;
    for (const f of DEPLOYED) {
      const storage = first<{ storage_source: unknown }>(
        first<{ source: unknown }>(fn(f.name).values['build_config']).source,
      ).storage_source;
      expect(first<{ bucket: string; object: string }>(storage), f.name).toMatchObject({
        bucket: source['bucket'],
        object: source['name'],
      });
    }
    for (const type of [
      'google_pubsub_subscription',
      'google_cloud_scheduler_job',
      'google_secret_manager_secret',
      'google_storage_bucket',
      'google_bigquery_table',
      'google_artifact_registry_repository',
    ])
      expect(ofType(type).length, type).toBeGreaterThan(0);
    // No secret version: the token never enters the state, and the functions start without one.
    expect(ofType('google_secret_manager_secret_version')).toEqual([]);
  });

  it('waits for the APIs it enables and the grants it makes before anything uses them', () => {
    const config = configResources();
    const dependsOn = (address: string): string[] => config.find((c) => c.address === address)?.depends_on ?? [];
    // Only the wait depends on the enablement itself; everything else waits on the wait.
    expect(
      config.filter((c) => (c.depends_on ?? []).includes('google_project_service.apis')).map((c) => c.address),
    ).toEqual(['time_sleep.apis_ready']);
    for (const type of [
      'google_service_account',
      'google_pubsub_topic',
      'google_secret_manager_secret',
      'google_storage_bucket',
      'google_artifact_registry_repository',
      'google_bigquery_dataset',
    ]) {
      for (const c of config.filter((x) => x.address.startsWith(`${type}.`)))
        expect(dependsOn(c.address), c.address).toContain('time_sleep.apis_ready');
    }
    expect(dependsOn('google_cloudfunctions2_function.fn')).toEqual(
      expect.arrayContaining(['time_sleep.apis_ready', 'time_sleep.grants_ready']),
    );
    // Every grant a build or a first start needs is waited for; the invoker grants, made after the
    // functions exist, are used only by their callers' retried deliveries.
    const needed = grants().filter(
      (g) => g.member !== 'allUsers' && !g.role.startsWith('roles/run.invoker') && !g.member.includes('gcp-sa-pubsub'),
    );
    const awaited = dependsOn('time_sleep.grants_ready');
    for (const g of needed) expect(awaited, g.address).toContain(g.address.replace(/\[[^\]]+\]$/, ''));
    // 60 s fails about half the time in the provider's own build-account example (#20571).
    for (const sleep of ofType('time_sleep')) expect(sleep.values['create_duration']).toBe('120s');
  });

  it('names everything as deploy verify looks it up (lib/core/deployment.ts)', () => {
    const v = vars();
    expect(v['name_prefix']).toBe(DEFAULT_NAME_PREFIX);
    const n = deploymentNames(String(v['project_id']), String(v['region']), String(v['name_prefix']));
    for (const [name, f] of Object.entries(n.functions)) {
      expect(fn(name).values['name'], name).toBe(f);
      expect(serviceConfig(name)['service_account_email'], name).toBe(n.accounts[name as keyof typeof n.accounts]);
    }
    expect(one('google_cloud_scheduler_job.hourly').values['name']).toBe(n.schedulerJob);
    expect(one('google_pubsub_topic.runs').values['name']).toBe(n.runsTopic);
    expect(one('google_pubsub_topic.dead_letters').values['name']).toBe(n.deadLetterTopic);
    expect(one('google_pubsub_subscription.harvest').values['name']).toBe(n.pushSubscription);
    expect(one('google_pubsub_subscription.dead_letters').values['name']).toBe(n.deadLetterSubscription);
    expect(one('google_secret_manager_secret.token').values['secret_id']).toBe(n.tokenSecret);
    expect(one('google_secret_manager_secret.webhook[0]').values['secret_id']).toBe(n.webhookSecret);
    for (const who of ['scheduler', 'push', 'build'] as const)
      expect(
        ofType('google_service_account').map(
          (a) => `${a.values['account_id']}@${v['project_id']}.iam.gserviceaccount.com`,
        ),
      ).toContain(n.accounts[who]);
    expect(one('google_storage_bucket.artifacts').values['name']).toBe(v['bucket_name'] || n.defaultBucket);
    expect(one('google_bigquery_dataset.artifacts').values['dataset_id']).toBe(DEFAULT_DATASET);
    expect(
      ofType('google_bigquery_table')
        .map((t) => t.values['table_id'])
        .sort(),
    ).toEqual([...BIGQUERY_TABLES].sort());
  });

  it('takes every region Google names, two-digit ones included, and no zone or multi-region', () => {
    const text = readFileSync('terraform/variables.tf', 'utf8');
    const pattern = /variable "region" \{[\s\S]*?condition\s*=\s*can\(regex\("([^"]+)"/.exec(text)![1]!;
    const region = new RegExp(pattern.replace(/\\\\/g, '\\'));
    // Google's regions (gcloud's Artifact Registry hosts, one per region, as of 2026).
    const regions =
      'africa-south1 asia-east1 asia-east2 asia-northeast1 asia-northeast2 asia-northeast3 asia-south1 asia-south2 asia-southeast1 asia-southeast2 asia-southeast3 australia-southeast1 australia-southeast2 europe-central2 europe-north1 europe-north2 europe-southwest1 europe-west1 europe-west10 europe-west12 europe-west2 europe-west3 europe-west4 europe-west6 europe-west8 europe-west9 me-central1 me-central2 me-west1 northamerica-northeast1 northamerica-northeast2 northamerica-south1 southamerica-east1 southamerica-west1 us-central1 us-central2 us-east1 us-east4 us-east5 us-east7 us-south1 us-west1 us-west2 us-west3 us-west4 us-west8'.split(
        ' ',
      );
    expect(regions.filter((r) => !region.test(r))).toEqual([]);
    expect(['us-central1-a', 'EU', 'us', 'europe-west', 'europe-west123'].filter((r) => region.test(r))).toEqual([]);
  });

  it("opens receiveWebhook to dbt Cloud alone of the functions; no basic roles; on the project only the build account's log writing and source read", () => {
    const all = grants();
    // One service is callable without a Google identity: receiveWebhook. Its gate is the HMAC
    // signature of every body (README: Webhooks); by default allUsers may invoke its Cloud Run service.
    expect(all.filter((g) => /^all(Authenticated)?Users$/.test(g.member)).map((g) => [g.role, g.member, g.on])).toEqual(
      [['roles/run.invoker', 'allUsers', 'run:receiveWebhook']],
    );
    expect(all.filter((g) => /^roles\/(owner|editor|viewer)$/.test(g.role))).toEqual([]);
    const sources = `gcf-v2-sources-${projectNumber()}-${String(vars()['region'])}`;
    expect(
      all
        .filter((g) => g.on.startsWith('project:'))
        .map((g) => [g.role, g.member, g.on])
        .sort(),
    ).toEqual([
      ['roles/logging.logWriter', account('build'), `project:${vars()['project_id']}`],
      [
        'roles/storage.objectViewer',
        account('build'),
        `project:${vars()['project_id']} if resource.name == "projects/_/buckets/${sources}" || resource.name.startsWith("projects/_/buckets/${sources}/")`,
      ],
    ]);
    expect(all.filter((g) => !g.type.endsWith('_iam_member')).map((g) => g.address)).toEqual([]);
  });

  it('lets each identity do only its own work, on its own resource', () => {
    const held = (member: string): string[] =>
      grants()
        .filter((g) => g.member === member)
        .map((g) => `${g.role} on ${g.on}`)
        .sort();
    const v = vars();
    const bucket = `${v['project_id']}-dbt-artifacts`;
    const topic = `${v['name_prefix']}-runs`;
    const secret = `${v['name_prefix']}-dbt-cloud-token`;
    // harvestRun creates and reads objects (no delete, so no overwrite) and reads the token.
    expect(held(account('harvest-run'))).toEqual([
      `roles/secretmanager.secretAccessor on ${secret}`,
      `roles/storage.objectCreator on ${bucket}`,
      `roles/storage.objectViewer on ${bucket}`,
    ]);
    // The dispatchers publish run messages and read the token.
    for (const name of ['dispatch-hourly', 'backfill'])
      expect(held(account(name))).toEqual([
        `roles/pubsub.publisher on ${topic}`,
        `roles/secretmanager.secretAccessor on ${secret}`,
      ]);
    expect(held(account('scheduler'))).toEqual(['roles/run.invoker on run:dispatchHourly']);
    expect(held(account('push'))).toEqual(['roles/run.invoker on run:harvestRun']);
    // receiveWebhook publishes run messages and reads its own secret; it never calls dbt Cloud, so no token.
    expect(held(account('receive-webhook'))).toEqual([
      `roles/pubsub.publisher on ${topic}`,
      `roles/secretmanager.secretAccessor on ${v['name_prefix']}-dbt-cloud-webhook-secret`,
    ]);
    const sources = `gcf-v2-sources-${projectNumber()}-${String(v['region'])}`;
    expect(held(account('build'))).toEqual([
      `roles/artifactregistry.writer on ${v['name_prefix']}-functions`,
      `roles/logging.logWriter on project:${v['project_id']}`,
      `roles/storage.objectViewer on ${bucket}-source`,
      `roles/storage.objectViewer on project:${v['project_id']} if resource.name == "projects/_/buckets/${sources}" || resource.name.startsWith("projects/_/buckets/${sources}/")`,
    ]);
    for (const member of v['backfill_invokers'] as string[])
      expect(held(member)).toEqual(['roles/run.invoker on run:backfill']);
    // The deployer may act as this deployment's accounts, and no other: no project-wide serviceAccountUser.
    const deployer = account('deployer');
    expect(held(deployer)).toEqual(
      ['build', 'scheduler', 'push', ...Object.values(SLUGS)]
        .map(
          (id) =>
            `roles/iam.serviceAccountUser on projects/${v['project_id']}/serviceAccounts/${account(id).slice('serviceAccount:'.length)}`,
        )
        .sort(),
    );
    // Pub/Sub's agent dead-letters; it mints push tokens without a grant in a project that enabled Pub/Sub after April 2021.
    const agent = `serviceAccount:service-${projectNumber()}@gcp-sa-pubsub.iam.gserviceaccount.com`;
    expect(held(agent)).toEqual([
      `roles/pubsub.publisher on ${topic}-dead-letter`,
      `roles/pubsub.subscriber on ${v['name_prefix']}-harvest-push`,
    ]);
    // Nobody else holds anything.
    const known = new Set([
      ...[
        'harvest-run',
        'dispatch-hourly',
        'backfill',
        'receive-webhook',
        'scheduler',
        'push',
        'build',
        'deployer',
      ].map(account),
      agent,
      'allUsers',
      ...(v['backfill_invokers'] as string[]),
    ]);
    expect(grants().filter((g) => !known.has(g.member))).toEqual([]);
  });

  it('runs each function as its own account, built by the build account, configured by variables the code reads', () => {
    for (const f of DEPLOYED) {
      const r = fn(f.name);
      const build = first<Record<string, unknown>>(r.values['build_config']);
      expect(build['runtime'], f.name).toBe('nodejs22');
      expect(build['entry_point'], f.name).toBe(f.name);
      expect(
        `serviceAccount:${String(build['service_account']).replace(/^projects\/[^/]+\/serviceAccounts\//, '')}`,
      ).toBe(account('build'));
      const sc = serviceConfig(f.name);
      expect(`serviceAccount:${String(sc['service_account_email'])}`).toBe(account(SLUGS[f.name]!));
      expect(sc['min_instance_count']).toBe(0);
      expect(sc['secret_environment_variables']).toEqual([]);
      const variables = Object.keys(env(f.name)).sort();
      for (const name of variables) expect(CONFIG_VARIABLES, `${f.name} sets ${name}`).toContain(name);
      for (const group of (f.needs as readonly Need[]).flatMap((need) => NEED_OPTIONS[need]))
        expect(
          group.some((key) => variables.includes(OPTIONS[key].variable)),
          `${f.name} lacks ${group.join(' or ')}`,
        ).toBe(true);
      expect(variables, 'the token is read from Secret Manager, never set in plain text').not.toContain(
        'DBT_CLOUD_TOKEN',
      );
      const callsDbtCloud = (f.needs as readonly Need[]).includes('dbtCloud');
      expect(env(f.name)['DBT_CLOUD_TOKEN_SECRET']).toBe(
        callsDbtCloud
          ? `projects/${vars()['project_id']}/secrets/${vars()['name_prefix']}-dbt-cloud-token/versions/latest`
          : undefined,
      );
      // More than one request at once needs a whole vCPU on Cloud Run functions.
      if (Number(sc['max_instance_request_concurrency']) > 1)
        expect(Number(sc['available_cpu'])).toBeGreaterThanOrEqual(1);
    }
    expect(env('harvestRun')['ARTIFACTS_DESTINATION']).toMatch(/^gs:\/\//);
    for (const name of ['dispatchHourly', 'backfill', 'receiveWebhook'])
      expect(env(name)['RUNS_TOPIC']).toBe(`projects/${vars()['project_id']}/topics/${vars()['name_prefix']}-runs`);
  });

  it("reads receiveWebhook's secret at run time, and scopes it like the functions that harvest", () => {
    const e = env('receiveWebhook');
    expect(
      Object.keys(e).filter(
        (k) => k.startsWith('DBT_CLOUD_TOKEN') || k === 'DBT_CLOUD_WEBHOOK_SECRET' || k === 'DBT_CLOUD_HOST',
      ),
    ).toEqual([]);
    expect(e['DBT_CLOUD_WEBHOOK_SECRET_NAME']).toBe(
      `projects/${vars()['project_id']}/secrets/${vars()['name_prefix']}-dbt-cloud-webhook-secret/versions/latest`,
    );
    // The same scope as the functions that call dbt Cloud: what it publishes, they would harvest.
    for (const k of [
      'DBT_CLOUD_ACCOUNT_ID',
      'HARVEST_INCLUDE_CANCELLED',
      'DBT_CLOUD_PROJECT_ID',
      'DBT_CLOUD_ENVIRONMENT_ID',
      'HARVEST_JOB_IDS',
    ])
      expect(e[k], k).toBe(env('harvestRun')[k]);
    expect(
      ofType('google_secret_manager_secret')
        .map((r) => r.values['secret_id'])
        .sort(),
    ).toEqual([`${vars()['name_prefix']}-dbt-cloud-token`, `${vars()['name_prefix']}-dbt-cloud-webhook-secret`]);
    expect(Number(serviceConfig('receiveWebhook')['timeout_seconds'])).toBeLessThanOrEqual(30);
  });

  it('reaches from outside only the functions people and dbt Cloud call: Scheduler and Pub/Sub push are internal traffic', () => {
    expect(Object.fromEntries(DEPLOYED.map((f) => [f.name, serviceConfig(f.name)['ingress_settings']]))).toEqual({
      dispatchHourly: 'ALLOW_INTERNAL_ONLY',
      backfill: 'ALLOW_ALL',
      harvestRun: 'ALLOW_INTERNAL_ONLY',
      receiveWebhook: 'ALLOW_ALL',
    });
  });

  it('keeps the current function source: no delete rule on its bucket', () => {
    expect(one('google_storage_bucket.source').values['lifecycle_rule']).toEqual([]);
    expect(String(one('google_storage_bucket_object.source').values['name'])).toMatch(
      /^function-source-[0-9a-f]{64}\.zip$/,
    );
  });

  it('grants exactly what docs/deployment.md lists, to whom it says', () => {
    const v = vars();
    const prefix = String(v['name_prefix']);
    const project = String(v['project_id']);
    const accountOf = (who: string): string[] => {
      if (SLUGS[who]) return [account(SLUGS[who])];
      if (['scheduler', 'push', 'build', 'deployer'].includes(who)) return [account(who)];
      if (who === 'backfill_invokers') return v['backfill_invokers'] as string[];
      if (who.startsWith('allUsers')) return ['allUsers'];
      if (who.startsWith("Pub/Sub's service agent"))
        return [`serviceAccount:service-${projectNumber()}@gcp-sa-pubsub.iam.gserviceaccount.com`];
      throw new Error(`docs/deployment.md names an unknown grantee: ${who}`);
    };
    const places: Record<string, string> = {
      'the token secret': `${prefix}-dbt-cloud-token`,
      'the webhook secret': `${prefix}-dbt-cloud-webhook-secret`,
      'the runs topic': `${prefix}-runs`,
      'the dead-letter topic': `${prefix}-runs-dead-letter`,
      'the push subscription': `${prefix}-harvest-push`,
      'the artifacts bucket': `${project}-dbt-artifacts`,
      'the source bucket': `${project}-dbt-artifacts-source`,
      "the functions' repository": `${prefix}-functions`,
      'the project': `project:${project}`,
    };
    const accounts = ['build', 'scheduler', 'push', ...Object.values(SLUGS)].map(
      (id) => `projects/${project}/serviceAccounts/${account(id).slice('serviceAccount:'.length)}`,
    );
    const documented = rows(
      docSection(readFileSync('docs/deployment.md', 'utf8'), 'What is granted, and to whom'),
    ).flatMap(([who, role, on]) => {
      const r = /`(roles\/[\w.]+)`/.exec(role!)![1]!;
      const where = on!.startsWith('the project, only the bucket')
        ? 'project-conditioned'
        : on === 'each service account above'
          ? accounts
          : /^the (\w+) function$/.test(on!)
            ? `run:${/^the (\w+) function$/.exec(on!)![1]}`
            : places[on!];
      if (where === undefined) throw new Error(`docs/deployment.md names an unknown resource: ${on}`);
      const cleaned = /^`?([^`]+)`?/.exec(who!)![1]!;
      return accountOf(cleaned).flatMap((member) => [where].flat().map((w) => `${member} ${r} ${w}`));
    });
    const planned = grants().map(
      (g) => `${g.member} ${g.role} ${g.on.startsWith(`project:${project} if `) ? 'project-conditioned' : g.on}`,
    );
    expect([...new Set(documented)].sort()).toEqual([...new Set(planned)].sort());
  });

  it('filters on a partition key in every query of the docs of a table that requires one', () => {
    const hive = (t: PlannedResource) =>
      first<{ require_partition_filter?: boolean } | undefined>(
        first<{ hive_partitioning_options: unknown } | undefined>(t.values['external_data_configuration'])
          ?.hive_partitioning_options,
      );
    const tables = ofType('google_bigquery_table');
    const required = tables
      .filter((t) => hive(t)?.require_partition_filter === true)
      .map((t) => String(t.values['table_id']));
    expect(required.sort()).toEqual(['coverage', 'run_history', 'run_results', 'step_summaries']);
    // And the telemetry table, made once there is telemetry (telemetry_table).
    required.push('fusion_telemetry');
    // A view over such a table needs the same filter (it reaches the table through the view).
    const views = tables
      .filter((t) => (t.values['view'] as unknown[] | undefined)?.length)
      .filter((t) => required.some((r) => first<{ query: string }>(t.values['view']).query.includes(`.${r}\``)))
      .map((t) => String(t.values['table_id']));
    expect(views.sort()).toEqual(['model_timings', 'source_freshness', 'test_failures']);
    const partitioned = [...required, ...views];
    const statements = ['README.md', 'docs/querying.md']
      .flatMap((f) => codeBlocks(readFileSync(f, 'utf8'), ['sql']))
      .flatMap((b) => b.split(';'))
      .filter((q) => /\bSELECT\b/i.test(q));
    expect(statements.length).toBeGreaterThan(3);
    const keys = /\b(?:\w+\.)?(date|hour|job_id|run_id|step)\s*(>=|<=|=|>|<|BETWEEN\b|IN\b)/i;
    for (const q of statements) {
      for (const table of partitioned) {
        if (!new RegExp(`\\b${String(vars()['bigquery_dataset_id'])}\\.${table}\\b`).test(q)) continue;
        const where = /\bWHERE\b([\s\S]*?)(\bGROUP BY\b|\bORDER BY\b|\)\s*,|$)/i.exec(q)?.[1] ?? '';
        expect(where, `this query reads ${table} without a partition filter:\n${q}`).toMatch(keys);
      }
    }
  });

  it('locks the bucket down, and ages only manifests and catalogs to colder classes', () => {
    const bucket = one('google_storage_bucket.artifacts').values;
    expect([
      bucket['public_access_prevention'],
      bucket['uniform_bucket_level_access'],
      bucket['force_destroy'],
    ]).toEqual(['enforced', true, false]);
    const rules = bucket['lifecycle_rule'] as {
      action: { type: string; storage_class: string }[];
      condition: { matches_suffix: string[] }[];
    }[];
    expect(rules.map((r) => first<{ storage_class: string }>(r.action).storage_class).sort()).toEqual([
      'ARCHIVE',
      'COLDLINE',
      'NEARLINE',
    ]);
    for (const r of rules)
      expect(first<{ matches_suffix: string[] }>(r.condition).matches_suffix).toEqual([
        '/manifest.json',
        '/catalog.json',
      ]);
  });

  it('pushes with OIDC to harvestRun and dead-letters, with an ack deadline covering the timeout', () => {
    const sub = one('google_pubsub_subscription.harvest').values;
    const push = first<Record<string, unknown>>(sub['push_config']);
    expect(`serviceAccount:${first<{ service_account_email: string }>(push['oidc_token']).service_account_email}`).toBe(
      account('push'),
    );
    expect(first<{ dead_letter_topic: string }>(sub['dead_letter_policy']).dead_letter_topic).toBe(
      `projects/${vars()['project_id']}/topics/${vars()['name_prefix']}-runs-dead-letter`,
    );
    expect(Number(sub['ack_deadline_seconds'])).toBeGreaterThanOrEqual(
      Number(serviceConfig('harvestRun')['timeout_seconds']),
    );
    expect(first<{ ttl: string }>(sub['expiration_policy']).ttl).toBe('');
  });

  it('schedules dispatchHourly at minute 10 UTC, waiting longer than the function may run', () => {
    const job = one('google_cloud_scheduler_job.hourly').values;
    expect([job['schedule'], job['time_zone']]).toEqual(['10 * * * *', 'Etc/UTC']);
    expect(parseInt(String(job['attempt_deadline']), 10)).toBeGreaterThan(
      Number(serviceConfig('dispatchHourly')['timeout_seconds']),
    );
    expect(
      `serviceAccount:${first<{ oidc_token: { service_account_email: string }[] }>(job['http_target']).oidc_token[0]!.service_account_email}`,
    ).toBe(account('scheduler'));
  });

  it("keeps every instance together under dbt Cloud's 5,000 requests a minute", () => {
    const rpm = Number(env('harvestRun')['DBT_CLOUD_REQUESTS_PER_MINUTE']);
    const callers = DEPLOYED.filter((f) => (f.needs as readonly Need[]).includes('dbtCloud'));
    expect(callers.map((f) => f.name).sort()).toEqual(['backfill', 'dispatchHourly', 'harvestRun']);
    const instances = callers.reduce((n, f) => n + Number(serviceConfig(f.name)['max_instance_count']), 0);
    expect(rpm * instances).toBeLessThanOrEqual(5000);
  });

  it('cannot dead-letter healthy runs of a 31-day backfill at 1,000 runs a day: the attempts outlast the drain many times', () => {
    const c = capacity(plan);
    // README: capacity. Cloud Run answers 429 while saturated, and each counts as a delivery attempt.
    expect(c.drainSeconds).toBeGreaterThan(0);
    expect(c.attemptsSpanSeconds / c.drainSeconds).toBeGreaterThan(3);
  });

  it('is formatted (terraform fmt -check)', async () => {
    const { stdout } = await promisify(execFile)('terraform', [
      'fmt',
      '-check',
      '-recursive',
      '-list=true',
      'terraform',
    ]).catch((e: { stdout: string }) => ({ stdout: `not formatted: ${e.stdout}` }));
    expect(stdout.trim()).toBe('');
  });

  it('describes every variable and output', () => {
    const config = plan.configuration as {
      root_module: {
        variables: Record<string, { description?: string }>;
        outputs: Record<string, { description?: string }>;
      };
    };
    for (const [name, v] of Object.entries(config.root_module.variables))
      expect(v.description ?? '', name).not.toBe('');
    for (const [name, o] of Object.entries(config.root_module.outputs)) expect(o.description ?? '', name).not.toBe('');
  });
});

/**
 * The capacity arithmetic of a 31-day backfill at 1,000 runs a day (31,000 messages at once), from
 * the planned values: how long harvestRun takes to drain it, bounded by its instances and by the
 * dbt Cloud rate limit, against how long Pub/Sub keeps retrying a message before dead-lettering it.
 */
function capacity(p: PlanJson): { drainSeconds: number; attemptsSpanSeconds: number; runsPerSecond: number } {
  const res = plannedResources(p);
  const harvest = res.find((r) => r.address === 'google_cloudfunctions2_function.fn["harvestRun"]')!;
  const sc = first<Record<string, unknown>>(harvest.values['service_config']);
  const sub = res.find((r) => r.address === 'google_pubsub_subscription.harvest')!.values;
  const retry = first<{ minimum_backoff: string; maximum_backoff: string }>(sub['retry_policy']);
  const attempts = Number(first<{ max_delivery_attempts: number }>(sub['dead_letter_policy']).max_delivery_attempts);
  const instances = Number(sc['max_instance_count']);
  const concurrency = Number(sc['max_instance_request_concurrency']);
  const rpm = Number((sc['environment_variables'] as Record<string, string>)['DBT_CLOUD_REQUESTS_PER_MINUTE']);
  const SECONDS_PER_RUN = 10; // README: a run of three dbt steps with 35 MB of artifacts
  const REQUESTS_PER_RUN = 13; // npm run bench: 1 run + 3 steps x 4 files
  const runsPerSecond = Math.min(
    (instances * concurrency) / SECONDS_PER_RUN,
    (instances * rpm) / 60 / REQUESTS_PER_RUN,
  );
  const min = parseInt(retry.minimum_backoff, 10);
  const max = parseInt(retry.maximum_backoff, 10);
  let span = 0;
  for (let retryNo = 0; retryNo < attempts - 1; retryNo++) span += Math.min(max, min * 2 ** retryNo);
  return { drainSeconds: 31_000 / runsPerSecond, attemptsSpanSeconds: span, runsPerSecond };
}

describe('what a plan catches: each mistake made on a copy fails terraform:plan', () => {
  const cases: [string, (files: Record<string, string>) => Record<string, string>, RegExp][] = [
    [
      'a validation that can never pass',
      (f) => ({
        ...f,
        'variables.tf': f['variables.tf']!.replace('"^[A-Za-z_][A-Za-z0-9_]*$"', '"^[A-Za-z_][A-Za-z0-9_]{0,1023}$"'),
      }),
      /Invalid value for variable[\s\S]*bigquery_dataset_id/,
    ],
    [
      'a reference to an attribute that does not exist',
      (f) => ({
        ...f,
        'outputs.tf': `${f['outputs.tf']}\noutput "typo" {\n  description = "x"\n  value       = google_cloudfunctions2_function.fn["backfill"].service_config[0].url\n}\n`,
      }),
      /Unsupported attribute[\s\S]*"url"/,
    ],
    [
      'a value of the wrong type',
      (f) => ({
        ...f,
        'functions.tf': f['functions.tf']!.replace(
          'min_instance_count               = 0',
          'min_instance_count               = "none"',
        ),
      }),
      /Incorrect attribute value type|Inappropriate value for attribute "min_instance_count"/,
    ],
    [
      'a missing required argument',
      (f) => ({ ...f, 'pubsub.tf': f['pubsub.tf']!.replace(/\n\s*topic\s*=\s*google_pubsub_topic\.runs\.id\n/, '\n') }),
      /Missing required argument[\s\S]*"topic"/,
    ],
    [
      'an argument the provider does not have',
      (f) => ({
        ...f,
        'functions.tf': f['functions.tf']!.replace(
          '    ingress_settings                 = each.value.ingress',
          '    ingress_settings                 = each.value.ingress\n    ingress                          = "all"',
        ),
      }),
      /Unsupported argument[\s\S]*"ingress"/,
    ],
    [
      'a for_each whose keys are known only after apply',
      (f) => ({
        ...f,
        'iam.tf': `${f['iam.tf']}\nresource "google_pubsub_topic_iam_member" "by_id" {\n  for_each = toset([google_pubsub_topic.runs.id])\n  topic    = each.value\n  role     = "roles/pubsub.viewer"\n  member   = "group:x@example.com"\n}\n`,
      }),
      /Invalid for_each argument/,
    ],
    [
      'a name prefix too long for 30-character service account ids',
      (f) => ({
        ...f,
        'variables.tf': f['variables.tf']!.replace(
          'default     = "dbt-harvester"',
          'default     = "dbt-harvester-prod"',
        ),
      }),
      /Invalid value for variable[\s\S]*name_prefix must be 2 to 14/,
    ],
    [
      'a dead-letter retention Pub/Sub refuses',
      (f) => ({ ...f, 'variables.tf': f['variables.tf']!.replace('default     = "1209600s"', 'default     = "60s"') }),
      /Invalid value for variable[\s\S]*dead_letter_retention/,
    ],
    [
      "more instances than dbt Cloud's rate limit allows",
      (f) => ({ ...f, 'variables.tf': f['variables.tf']!.replace('default     = 400', 'default     = 1000') }),
      /exceeds dbt Cloud's 5,000 requests a minute/,
    ],
  ];

  it.each(cases)(
    '%s',
    async (_name, mutate, error) => {
      const run = await planTerraform({ standIns, mutate });
      expect(run.ok, run.output).toBe(false);
      expect(run.output).toMatch(error);
    },
    120_000,
  );
});

const setVariable =
  (name: string, value: string) =>
  (f: Record<string, string>): Record<string, string> => ({
    ...f,
    'variables.tf': f['variables.tf']!.replace(
      new RegExp(`(variable "${name}" \\{[\\s\\S]*?\\n  default\\s*=\\s*)[^\\n]+`),
      `$1${value}`,
    ),
  });

describe('region = "europe-west12" (a region with a two-digit number)', () => {
  it('plans, everything in that region', async () => {
    const run = await planTerraform({ standIns, vars: { region: 'europe-west12' } });
    expect(run.ok, run.output).toBe(true);
    const fns = plannedResources(run.plan!).filter((r) => r.type === 'google_cloudfunctions2_function');
    expect(fns.map((r) => r.values['location'])).toEqual(fns.map(() => 'europe-west12'));
  }, 120_000);
});

describe('dbt_cloud_host (the account access URLs of 2026)', () => {
  it('has no default: a plan without it stops and asks for it', async () => {
    const example = readFileSync('terraform/terraform.tfvars.example', 'utf8');
    const run = await planTerraform({
      standIns,
      varFile: 'no-host.tfvars',
      mutate: (f) => ({ ...f, 'no-host.tfvars': example.replace(/^dbt_cloud_host\s*=.*$/m, '') }),
    });
    expect(run.ok).toBe(false);
    expect(run.output).toMatch(/No value for required variable[\s\S]*dbt_cloud_host/);
  }, 120_000);

  it('plans with a shared getdbt.com host, warning that it is deprecated; the account URL plans without the warning', async () => {
    const run = await planTerraform({ standIns, vars: { dbt_cloud_host: 'cloud.getdbt.com' } });
    expect(run.ok, run.output).toBe(true);
    expect(run.output).toMatch(
      /Warning: Check block assertion failed[\s\S]*getdbt\.com URL, deprecated\s+since\s+1\s+November\s+2026/,
    );
    const fine = await planTerraform({ standIns });
    expect(fine.output).not.toMatch(/Check block assertion failed/);
  }, 240_000);
});

describe('webhook_enabled = false', () => {
  it('leaves the webhook path out: no function, account, secret or grant of it, and the rest as it was', async () => {
    const run = await planTerraform({ standIns, mutate: setVariable('webhook_enabled', 'false') });
    expect(run.ok, run.output).toBe(true);
    const off = plannedResources(run.plan!).filter((r) => r.mode === 'managed');
    const addresses = new Set(off.map((r) => r.address));
    expect(off.filter((r) => /webhook|receiveWebhook/i.test(r.address)).map((r) => r.address)).toEqual([]);
    expect(
      resources
        .filter((r) => !addresses.has(r.address))
        .map((r) => r.address)
        .sort(),
    ).toEqual([
      'google_cloud_run_v2_service_iam_member.webhook_public[0]',
      'google_cloudfunctions2_function.fn["receiveWebhook"]',
      'google_pubsub_topic_iam_member.webhook_publisher[0]',
      'google_secret_manager_secret.webhook[0]',
      'google_secret_manager_secret_iam_member.webhook_reader[0]',
      'google_service_account.fn["receiveWebhook"]',
      'google_service_account_iam_member.deployer_acts_as["receiveWebhook"]',
    ]);
    expect(run.plan!.planned_values.outputs?.['webhook_url']?.value ?? null).toBeNull();
  }, 120_000);
});

describe('webhook_access = "no-invoker-check" (organisations with domain restricted sharing)', () => {
  it('grants nothing to allUsers and names the command that disables the invoker check', async () => {
    const run = await planTerraform({ standIns, mutate: setVariable('webhook_access', '"no-invoker-check"') });
    expect(run.ok, run.output).toBe(true);
    const managed = plannedResources(run.plan!).filter((r) => r.mode === 'managed');
    expect(managed.filter((r) => String(r.values['member']).startsWith('all'))).toEqual([]);
    expect(run.plan!.planned_values.outputs?.['webhook_access']?.value).toBe('no-invoker-check');
    // The service's name is known after apply, so the command is too (cloudbuild.yaml runs it).
    const changes = (run.plan as unknown as { output_changes: Record<string, { after_unknown: boolean }> })
      .output_changes;
    expect(changes['webhook_access_command']?.after_unknown).toBe(true);
    expect(
      (plan as unknown as { output_changes: Record<string, { after: unknown; after_unknown: boolean }> })
        .output_changes['webhook_access_command'],
    ).toMatchObject({ after: null, after_unknown: false });
  }, 120_000);
});

describe('pubsub_legacy_token_creator = true (projects that enabled Pub/Sub before April 2021)', () => {
  it("lets Pub/Sub's agent mint tokens for the push account, and nothing more", async () => {
    const run = await planTerraform({ standIns, mutate: setVariable('pubsub_legacy_token_creator', 'true') });
    expect(run.ok, run.output).toBe(true);
    const extra = plannedResources(run.plan!).filter(
      (r) => r.mode === 'managed' && !resources.some((x) => x.address === r.address),
    );
    expect(extra.map((r) => [r.address, r.values['role'], r.values['member']])).toEqual([
      [
        'google_service_account_iam_member.pubsub_token_creator[0]',
        'roles/iam.serviceAccountTokenCreator',
        `serviceAccount:service-${projectNumber()}@gcp-sa-pubsub.iam.gserviceaccount.com`,
      ],
    ]);
  }, 120_000);
});

describe('cloudbuild.yaml', () => {
  const build = parseYaml(readFileSync('cloudbuild.yaml', 'utf8')) as {
    steps: { id?: string; name: string; args?: string[]; entrypoint?: string }[];
    substitutions?: Record<string, string>;
    options?: Record<string, string>;
  };
  const stepText = (s: (typeof build.steps)[number]): string => [s.entrypoint ?? '', ...(s.args ?? [])].join(' ');

  it('pins every image, the Cloud SDK image to a release of the last year, terraform to the version the project tests with', () => {
    for (const step of build.steps) expect(step.name, step.id).toMatch(/(:(?!latest$)[\w.-]+|@sha256:[0-9a-f]{64})$/);
    const sdk = build.steps.find((s) => s.name.includes('google-cloud-cli'))!.name;
    // 568.0.0 was released on 2026-05-12, and the images are kept for one year.
    expect(Number(/:(\d+)\.\d+\.\d+-emulators$/.exec(sdk)?.[1])).toBeGreaterThanOrEqual(568);
    for (const s of build.steps.filter((x) => x.name.startsWith('hashicorp/terraform')))
      expect(s.name).toBe('hashicorp/terraform:1.11.4');
  });

  it('tests by .ci/run, as CI does, with terraform on the path, before any Terraform step, and applies only when allowed', () => {
    // One description of how the project is tested: the build runs the same script as CI.
    const testIndex = build.steps.findIndex((s) => /(^|\s)\.ci\/run(\s|$)/m.test(stepText(s)));
    expect(testIndex).toBeGreaterThanOrEqual(0);
    expect(build.steps.filter((s) => /npm (run )?test|vitest/.test(stepText(s)))).toEqual([]);
    const tools = build.steps.findIndex((s) => s.id === 'tools');
    expect(tools).toBeGreaterThanOrEqual(0);
    expect(tools).toBeLessThan(testIndex);
    expect(stepText(build.steps[testIndex]!)).toContain('/workspace/.tools');
    const terraformSteps = build.steps
      .map((s, i) => [s, i] as const)
      .filter(([s]) => s.id !== 'tools' && s.name.startsWith('hashicorp/terraform'))
      .map(([, i]) => i);
    expect(Math.min(...terraformSteps)).toBeGreaterThan(testIndex);
    const apply = build.steps.find((s) => s.id === 'apply')!;
    expect(stepText(apply)).toMatch(/_APPLY/);
    expect(build.substitutions?.['_APPLY']).toBe('false');
    expect(stepText(build.steps.find((s) => s.id === 'init')!)).toMatch(/backend-config=bucket=\$\{_TF_STATE_BUCKET\}/);
  });

  it('checks the live deployment with deploy verify right after the apply, with the names the apply used', () => {
    const ids = build.steps.map((s) => s.id);
    expect(ids.indexOf('verify')).toBeGreaterThan(ids.indexOf('apply'));
    const verify = stepText(build.steps.find((s) => s.id === 'verify')!);
    expect(verify).toMatch(/if \[ "\$\{_APPLY\}" = "true" \]/);
    expect(verify).toMatch(/node_modules\/\.bin\/node lib\/cli\/main\.ts deploy verify --project="\$PROJECT_ID"/);
    for (const output of ['region', 'name_prefix', 'bigquery_dataset_id']) {
      expect(verify).toContain(`terraform -chdir=terraform output -raw ${output}`);
      expect(plan.planned_values.outputs?.[output], output).toBeDefined();
    }
  });

  it('keeps its logs in Cloud Logging, as a build run by a user-specified service account must', () => {
    expect(build.options?.['logging']).toBe('CLOUD_LOGGING_ONLY');
  });
});

describe('alert_sinks = ["slack", "webhook"] (docs/alerts.md)', () => {
  it('adds alertRun, told by harvestRun over its own topic, with least privilege and a secret per sink', async () => {
    const run = await planTerraform({
      standIns,
      mutate: (f) =>
        setVariable(
          'alert_webhook_url',
          '"https://alerts.example.com/hook"',
        )(setVariable('alert_sinks', '["slack", "webhook"]')(f)),
    });
    expect(run.ok, run.output).toBe(true);
    const on = plannedResources(run.plan!).filter((r) => r.mode === 'managed');
    const v = vars();
    const [prefix, project] = [String(v['name_prefix']), String(v['project_id'])];
    const before = new Set(resources.map((r) => r.address));
    expect(
      on
        .filter((r) => !before.has(r.address))
        .map((r) => r.address)
        .sort(),
    ).toEqual([
      'google_cloud_run_v2_service_iam_member.alert_invoker[0]',
      'google_cloudfunctions2_function.fn["alertRun"]',
      'google_pubsub_subscription.alert[0]',
      'google_pubsub_subscription.runs_stored_dead_letters[0]',
      'google_pubsub_subscription_iam_member.alert_dead_letter_subscriber[0]',
      'google_pubsub_topic.runs_stored[0]',
      'google_pubsub_topic.runs_stored_dead_letters[0]',
      'google_pubsub_topic_iam_member.alert_dead_letter_publisher[0]',
      'google_pubsub_topic_iam_member.harvest_stored_publisher[0]',
      'google_secret_manager_secret.alerts["slack"]',
      'google_secret_manager_secret.alerts["webhook"]',
      'google_secret_manager_secret_iam_member.alert_reader["slack"]',
      'google_secret_manager_secret_iam_member.alert_reader["webhook"]',
      'google_service_account.fn["alertRun"]',
      'google_service_account_iam_member.deployer_acts_as["alertRun"]',
      'google_storage_bucket_iam_member.alert_read[0]',
      'google_storage_bucket_iam_member.alert_records[0]',
    ]);
    const get = (address: string) => on.find((r) => r.address === address)!.values;
    const fnOf = get('google_cloudfunctions2_function.fn["alertRun"]');
    const sc = first<Record<string, unknown>>(fnOf['service_config']);
    expect(first<Record<string, unknown>>(fnOf['build_config'])['entry_point']).toBe('alertRun');
    expect(sc['ingress_settings']).toBe('ALLOW_INTERNAL_ONLY');
    expect(`serviceAccount:${String(sc['service_account_email'])}`).toBe(account('alert-run'));
    const alertEnv = sc['environment_variables'] as Record<string, string>;
    for (const name of Object.keys(alertEnv)) expect(CONFIG_VARIABLES, `alertRun sets ${name}`).toContain(name);
    const alertRun = FUNCTIONS.find((f) => f.name === 'alertRun')!;
    for (const group of (alertRun.needs as readonly Need[]).flatMap((need) => NEED_OPTIONS[need]))
      expect(
        group.some((key) => OPTIONS[key].variable in alertEnv),
        `alertRun lacks ${group.join(' or ')}`,
      ).toBe(true);
    expect(alertEnv).toMatchObject({
      ALERTS_SLACK_WEBHOOK_URL_SECRET: `projects/${project}/secrets/${prefix}-alerts-slack-webhook-url/versions/latest`,
      ALERTS_WEBHOOK_URL: 'https://alerts.example.com/hook',
      ALERTS_WEBHOOK_SECRET_NAME: `projects/${project}/secrets/${prefix}-alerts-webhook-secret/versions/latest`,
    });
    expect(Object.keys(alertEnv).filter((k) => k.startsWith('DBT_CLOUD_TOKEN'))).toEqual([]);
    const harvestEnv = first<Record<string, unknown>>(
      get('google_cloudfunctions2_function.fn["harvestRun"]')['service_config'],
    )['environment_variables'] as Record<string, string>;
    expect(harvestEnv['RUN_STORED_TOPIC']).toBe(`projects/${project}/topics/${prefix}-runs-stored`);
    // Pushed with OIDC as the push account, retried with backoff, then dead-lettered.
    const sub = get('google_pubsub_subscription.alert[0]');
    expect(first<{ oidc_token: unknown }>(sub['push_config']).oidc_token).toMatchObject([
      { service_account_email: account('push').slice('serviceAccount:'.length) },
    ]);
    expect(first<Record<string, unknown>>(sub['dead_letter_policy'])).toMatchObject({
      dead_letter_topic: `projects/${project}/topics/${prefix}-runs-stored-dead-letter`,
    });
    // alertRun reads the bucket, creates objects only under _alerts/, and reads its sinks' secrets.
    const bucket = `${project}-dbt-artifacts`;
    const granted = (member: string) =>
      on
        .filter((r) => /_iam_member$/.test(r.type) && r.values['member'] === member)
        .map(
          (r) =>
            `${String(r.values['role'])} on ${String(r.values['bucket'] ?? r.values['secret_id'] ?? r.values['topic'])}`,
        )
        .sort();
    expect(granted(account('alert-run'))).toEqual([
      `roles/secretmanager.secretAccessor on ${prefix}-alerts-slack-webhook-url`,
      `roles/secretmanager.secretAccessor on ${prefix}-alerts-webhook-secret`,
      `roles/storage.objectCreator on ${bucket}`,
      `roles/storage.objectViewer on ${bucket}`,
    ]);
    const records = first<Record<string, string>>(
      get('google_storage_bucket_iam_member.alert_records[0]')['condition'],
    );
    const prefixPath = String(v['artifacts_prefix'] ?? '') ? `${String(v['artifacts_prefix'])}/` : '';
    expect(records['expression']).toBe(
      `resource.name.startsWith("projects/_/buckets/${bucket}/objects/${prefixPath}_alerts/")`,
    );
    expect(granted(account('harvest-run'))).toContain(`roles/pubsub.publisher on ${prefix}-runs-stored`);
    expect(ofType('google_secret_manager_secret_version')).toEqual([]);
  }, 120_000);
});
