import { parse } from '@cdktf/hcl2json';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../lib/cloud/functions.ts';
import { NEED_OPTIONS, type Need } from '../../lib/config/load.ts';
import { CONFIG_VARIABLES, OPTIONS } from '../../lib/config/options.ts';

/**
 * Offline validation of terraform/ (terraform validate needs provider downloads): every block and
 * attribute against the provider schema slice kept in test/fixtures, every reference resolved, and
 * the deployment's invariants.
 */
interface BlockSchema {
  attributes: Record<string, { required?: boolean }>;
  blocks: Record<string, BlockSchema & { required?: boolean; list?: boolean }>;
  computed?: string[];
}
interface ProviderSlice {
  resources: Record<string, BlockSchema>;
  data_sources: Record<string, BlockSchema>;
}

type Body = Record<string, unknown>;
type Tf = {
  resource?: Record<string, Record<string, Body[]>>;
  data?: Record<string, Record<string, Body[]>>;
  variable?: Record<string, Body[]>;
  output?: Record<string, Body[]>;
  locals?: Body[];
  terraform?: Body[];
  provider?: Record<string, Body[]>;
};

const DIR = 'terraform';
const META = new Set(['count', 'for_each', 'depends_on', 'provider', 'lifecycle', 'provisioner', 'connection']);
const schema = JSON.parse(readFileSync('test/fixtures/terraform-schema.json', 'utf8')) as ProviderSlice;
const files = readdirSync(DIR).filter((f) => f.endsWith('.tf'));
const text = files.map((f) => readFileSync(join(DIR, f), 'utf8')).join('\n');
const parsed: Record<string, Tf> = {};

const resources: { type: string; name: string; body: Body; file: string }[] = [];
const dataSources: { type: string; name: string; body: Body; file: string }[] = [];
const variables = new Map<string, Body>();
const outputs = new Map<string, Body>();
const locals = new Map<string, unknown>();

beforeAll(async () => {
  for (const file of files) {
    const tf = (await parse(file, readFileSync(join(DIR, file), 'utf8'))) as Tf;
    parsed[file] = tf;
    for (const [type, byName] of Object.entries(tf.resource ?? {})) for (const [name, [body]] of Object.entries(byName)) resources.push({ type, name, body: body!, file });
    for (const [type, byName] of Object.entries(tf.data ?? {})) for (const [name, [body]] of Object.entries(byName)) dataSources.push({ type, name, body: body!, file });
    for (const [name, [body]] of Object.entries(tf.variable ?? {})) variables.set(name, body!);
    for (const [name, [body]] of Object.entries(tf.output ?? {})) outputs.set(name, body!);
    for (const block of tf.locals ?? []) for (const [k, v] of Object.entries(block)) locals.set(k, v);
  }
});

/** Problems of one block body against its schema. */
function check(body: Body, s: BlockSchema, where: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (META.has(key)) continue;
    if (key === 'dynamic') {
      for (const [name, [dyn]] of Object.entries(value as Record<string, Body[]>)) {
        const block = s.blocks[name];
        if (!block) problems.push(`${where}: dynamic "${name}" is not a block`);
        else for (const content of (dyn!['content'] as Body[]) ?? []) problems.push(...check(content, block, `${where}.${name}`));
      }
      continue;
    }
    if (key in s.attributes) continue;
    const block = s.blocks[key];
    if (!block) {
      problems.push(`${where}: unknown attribute or block "${key}"`);
      continue;
    }
    const items = Array.isArray(value) ? (value as Body[]) : [value as Body];
    if (!block.list && items.length > 1) problems.push(`${where}.${key}: block given ${items.length} times`);
    for (const item of items) problems.push(...check(item, block, `${where}.${key}`));
  }
  for (const [name, a] of Object.entries(s.attributes)) if (a.required && !(name in body)) problems.push(`${where}: required attribute "${name}" missing`);
  const dynamics = Object.keys((body['dynamic'] as Body | undefined) ?? {});
  for (const [name, b] of Object.entries(s.blocks)) if (b.required && !(name in body) && !dynamics.includes(name)) problems.push(`${where}: required block "${name}" missing`);
  return problems;
}

function expressions(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => expressions(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => expressions(v, out));
  return out;
}

const resource = (type: string, name: string): Body => {
  const r = resources.find((x) => x.type === type && x.name === name);
  if (!r) throw new Error(`no ${type}.${name}`);
  return r.body;
};
const first = (v: unknown): Body => (Array.isArray(v) ? (v[0] as Body) : (v as Body));

describe('terraform/ against the provider schema', () => {
  it('parses every file and uses only known resources, blocks and attributes, with required ones present', () => {
    expect(resources.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const r of resources) {
      const s = schema.resources[r.type];
      if (!s) problems.push(`${r.file}: resource type ${r.type} is not in the schema slice (run scripts/terraform-schema-slice.ts)`);
      else problems.push(...check(r.body, s, `${r.type}.${r.name}`));
    }
    for (const d of dataSources) {
      const s = schema.data_sources[d.type];
      if (!s) problems.push(`${d.file}: data source ${d.type} is not in the schema slice`);
      else problems.push(...check(d.body, s, `data.${d.type}.${d.name}`));
    }
    expect(problems).toEqual([]);
  });

  it('resolves every reference to a resource, data source, variable or local', () => {
    const problems: string[] = [];
    const all = expressions(parsed);
    for (const e of all) {
      for (const m of e.matchAll(/\bvar\.([a-z_][a-z0-9_]*)/g)) if (!variables.has(m[1]!)) problems.push(`var.${m[1]}`);
      for (const m of e.matchAll(/\blocal\.([a-z_][a-z0-9_]*)/g)) if (!locals.has(m[1]!)) problems.push(`local.${m[1]}`);
      for (const m of e.matchAll(/\bdata\.([a-z0-9_]+)\.([a-z0-9_]+)(?:\.([a-z0-9_]+))?/g)) {
        const d = dataSources.find((x) => x.type === m[1] && x.name === m[2]);
        if (!d) problems.push(`data.${m[1]}.${m[2]}`);
        else if (m[3]) {
          const s = schema.data_sources[m[1]!]!;
          if (!(m[3] in s.attributes) && !(m[3] in s.blocks) && !s.computed?.includes(m[3])) problems.push(`data.${m[1]}.${m[2]}.${m[3]}`);
        }
      }
      for (const m of e.matchAll(/(?<![.\w])(google_[a-z0-9_]+)\.([a-z0-9_]+)(?:\[[^\]]+\])?(?:\.([a-z0-9_]+))?/g)) {
        const r = resources.find((x) => x.type === m[1] && x.name === m[2]);
        if (!r) {
          problems.push(`${m[1]}.${m[2]}`);
          continue;
        }
        if (m[3]) {
          const s = schema.resources[m[1]!]!;
          if (!(m[3] in s.attributes) && !(m[3] in s.blocks) && !s.computed?.includes(m[3])) problems.push(`${m[1]}.${m[2]}.${m[3]}`);
        }
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  });

  it('types and describes every variable, and describes every output', () => {
    for (const [name, v] of variables) {
      expect(v['type'], name).toBeTruthy();
      expect(String(v['description'] ?? ''), name).not.toBe('');
    }
    for (const [name, o] of outputs) expect(String(o['description'] ?? ''), name).not.toBe('');
    for (const name of ['bucket', 'runs_topic', 'function_urls', 'backfill_command']) expect(outputs.has(name)).toBe(true);
  });

  it('pins the google provider to the 6.x line of the schema', () => {
    expect(text).toMatch(/source\s*=\s*"hashicorp\/google"\s*\n\s*version\s*=\s*"~> 6\.\d+"/);
  });

  it('has a tfvars example that sets every required variable', () => {
    const example = readFileSync(join(DIR, 'terraform.tfvars.example'), 'utf8');
    for (const [name, v] of variables) if (!('default' in v)) expect(example).toMatch(new RegExp(`^${name}\\s*=`, 'm'));
  });
});

describe('deployment invariants', () => {
  it('grants nothing to the public and no basic or project-wide roles', () => {
    expect(text).not.toMatch(/"all(Authenticated)?Users"/);
    for (const r of resources) expect(String(r.body['member'] ?? ''), r.name).not.toMatch(/^all(Authenticated)?Users$/);
    expect(text).not.toMatch(/roles\/(owner|editor|viewer)"/);
    expect(resources.filter((r) => /^google_project_iam|_iam_(policy|binding)$/.test(r.type)).map((r) => r.type)).toEqual([]);
    expect(resources.filter((r) => r.type.startsWith('google_cloudfunctions2_function_iam'))).toEqual([]);
    const roles = resources.filter((r) => r.type.endsWith('_iam_member')).map((r) => `${r.type}:${String(r.body['role'])}`);
    expect(roles.filter((r) => r.includes('storage') && !/objectCreator|objectViewer/.test(r))).toEqual([]);
    expect(roles.filter((r) => r.includes('roles/run.invoker') && !r.startsWith('google_cloud_run_v2_service_iam_member'))).toEqual([]);
    expect(text).not.toMatch(/roles\/storage\.(admin|objectAdmin|objectUser)/);
  });

  it('rejects public members in backfill_invokers', () => {
    const validation = first(variables.get('backfill_invokers')!['validation']);
    expect(String(validation['condition'])).toMatch(/\^\(user\|group\|serviceAccount/);
  });

  it('gives each function its own service account, run.invoker on its own service, and the harvester create+read only', () => {
    const fns = locals.get('functions') as Record<string, Body>;
    expect(Object.keys(fns).sort()).toEqual(['backfill', 'dispatchHourly', 'harvestRun']);
    const fn = resource('google_cloudfunctions2_function', 'fn');
    expect(String(first(fn['service_config'])['service_account_email'])).toBe('${google_service_account.fn[each.key].email}');
    expect(String(resource('google_cloud_run_v2_service_iam_member', 'dispatch_invoker')['name'])).toContain('fn["dispatchHourly"]');
    expect(String(resource('google_cloud_run_v2_service_iam_member', 'harvest_invoker')['name'])).toContain('fn["harvestRun"]');
    expect(String(resource('google_cloud_run_v2_service_iam_member', 'backfill_invoker')['member'])).toBe('${each.value}');
    expect(String(resource('google_cloud_run_v2_service_iam_member', 'backfill_invoker')['for_each'])).toContain('var.backfill_invokers');
    for (const name of ['harvest_create', 'harvest_read']) {
      const grant = resource('google_storage_bucket_iam_member', name);
      expect(String(grant['member'])).toContain('fn["harvestRun"]');
      expect(String(grant['bucket'])).toBe('${google_storage_bucket.artifacts.name}');
    }
    const publish = resource('google_pubsub_topic_iam_member', 'dispatch_publisher');
    expect(String(publish['topic'])).toBe('${google_pubsub_topic.runs.id}');
    expect(String(publish['for_each'])).not.toContain('harvestRun');
    expect(String(resource('google_secret_manager_secret_iam_member', 'token_reader')['secret_id'])).toBe('${google_secret_manager_secret.token.id}');
  });

  it('runs gen2 functions on nodejs22, scaling to zero with an explicit maximum', () => {
    const fn = resource('google_cloudfunctions2_function', 'fn');
    expect(first(fn['build_config'])['runtime']).toBe('nodejs22');
    const sc = first(fn['service_config']);
    expect(sc['min_instance_count']).toBe(0);
    expect(String(sc['max_instance_count'])).toMatch(/max_instances/);
    expect(String(sc['available_memory'])).toMatch(/memory/);
    expect(String(sc['timeout_seconds'])).toMatch(/timeout/);
  });

  it('deploys every function of the table, and nothing else', () => {
    const fn = resource('google_cloudfunctions2_function', 'fn');
    expect(first(fn['build_config'])['entry_point']).toBe('${each.key}');
    expect(Object.keys(locals.get('functions') as Body).sort()).toEqual(FUNCTIONS.map((f) => f.name).sort());
  });

  it('sets only environment variables the config schema reads, and every required one', () => {
    const envText = JSON.stringify(locals.get('common_env'));
    const common = [...envText.matchAll(/\b([A-Z][A-Z0-9_]{2,})\s*=/g)].map((m) => m[1]!);
    const fns = locals.get('functions') as Record<string, Body>;
    const fn = resource('google_cloudfunctions2_function', 'fn');
    const secret = first(first(fn['service_config'])['secret_environment_variables']);
    expect(secret['key']).toBe('DBT_CLOUD_TOKEN');
    for (const [name, spec] of Object.entries(fns)) {
      const own = Object.keys(spec['env'] as Body);
      const all = new Set([...common, ...own, String(secret['key'])]);
      for (const v of all) expect(CONFIG_VARIABLES, `${name} sets ${v}`).toContain(v);
      const needs = FUNCTIONS.find((f) => f.name === name)!.needs as readonly Need[];
      const required = needs.flatMap((need) => NEED_OPTIONS[need].map((key) => OPTIONS[key].variable));
      for (const variable of [...required, 'DBT_CLOUD_HOST']) expect(all.has(variable), `${name} lacks ${variable}`).toBe(true);
    }
  });

  it('keeps the token out of the state: a secret by reference, no secret version, no token in plain env', () => {
    expect(resources.filter((r) => r.type === 'google_secret_manager_secret_version')).toEqual([]);
    expect(JSON.stringify(locals.get('common_env'))).not.toContain('DBT_CLOUD_TOKEN');
    expect(variables.has('dbt_cloud_token')).toBe(false);
    const secret = first(first(resource('google_cloudfunctions2_function', 'fn')['service_config'])['secret_environment_variables']);
    expect(secret['secret']).toBe('${google_secret_manager_secret.token.secret_id}');
  });

  it('locks the bucket down and ages objects to colder classes', () => {
    const bucket = resource('google_storage_bucket', 'artifacts');
    expect(bucket['public_access_prevention']).toBe('enforced');
    expect(bucket['uniform_bucket_level_access']).toBe(true);
    expect(bucket['force_destroy']).toBe(false);
    expect(JSON.stringify(bucket['dynamic'])).toMatch(/NEARLINE.*COLDLINE.*ARCHIVE/);
  });

  it('uploads the source under a name that carries its hash', () => {
    expect(String(resource('google_storage_bucket_object', 'source')['name'])).toMatch(/archive_file\.source\.output_(sha256|md5)/);
  });

  it('pushes with OIDC, retry backoff, a dead-letter policy, an ack deadline covering the timeout, and no expiry', () => {
    const sub = resource('google_pubsub_subscription', 'harvest');
    const push = first(sub['push_config']);
    expect(first(push['oidc_token'])['service_account_email']).toBe('${google_service_account.push.email}');
    expect(String(push['push_endpoint'])).toContain('fn["harvestRun"]');
    expect(first(sub['retry_policy'])).toMatchObject({ minimum_backoff: expect.any(String), maximum_backoff: expect.any(String) });
    expect(first(sub['dead_letter_policy'])['dead_letter_topic']).toBe('${google_pubsub_topic.dead_letters.id}');
    expect(String(sub['ack_deadline_seconds'])).toContain('var.harvest_timeout_seconds');
    expect(first(sub['expiration_policy'])['ttl']).toBe('');
    expect(String(first(variables.get('harvest_timeout_seconds')!['validation'])['condition'])).toContain('<= 600');
    const dead = resource('google_pubsub_subscription', 'dead_letters');
    expect(dead['topic']).toBe('${google_pubsub_topic.dead_letters.id}');
    expect(first(dead['expiration_policy'])['ttl']).toBe('');
    expect(String(resource('google_pubsub_topic_iam_member', 'dead_letter_publisher')['member'])).toBe('${local.pubsub_agent}');
    expect(String(resource('google_pubsub_subscription_iam_member', 'dead_letter_subscriber')['member'])).toBe('${local.pubsub_agent}');
  });

  it('schedules dispatchHourly at minute 10 UTC with OIDC and retries', () => {
    const job = resource('google_cloud_scheduler_job', 'hourly');
    expect(first(variables.get('schedule')!)['default'] ?? variables.get('schedule')!['default']).toBe('10 * * * *');
    expect(job['time_zone']).toBe('Etc/UTC');
    const target = first(job['http_target']);
    expect(target['http_method']).toBe('POST');
    expect(String(target['uri'])).toContain('fn["dispatchHourly"]');
    expect(first(target['oidc_token'])['service_account_email']).toBe('${google_service_account.scheduler.email}');
    expect(Number(first(job['retry_config'])['retry_count'])).toBeGreaterThan(0);
  });

  it('makes the history queryable: Hive-partitioned external tables over _run.json and the run results', () => {
    const runs = first(resource('google_bigquery_table', 'runs')['external_data_configuration']);
    expect(runs['source_uris']).toEqual(['${local.destination}/*/_run.json']);
    expect(String(first(runs['hive_partitioning_options'])['source_uri_prefix'])).toContain('{date:DATE}/{hour:INTEGER}/{job_id:INTEGER}/{run_id:INTEGER}');
    const results = first(resource('google_bigquery_table', 'run_results')['external_data_configuration']);
    expect(String(results['source_uris'])).toContain('*_run_results.json');
    const fields = String(results['schema']);
    for (const f of ['invocation_id', 'dbt_version', 'generated_at', 'elapsed_time', 'unique_id', 'status', 'execution_time', 'failures', 'message']) expect(fields).toContain(`"${f}"`);
  });

  it('alerts on dead letters and function errors through the configured channels', () => {
    const policies = resources.filter((r) => r.type === 'google_monitoring_alert_policy');
    expect(policies.map((p) => p.name).sort()).toEqual(['dead_letters', 'function_errors']);
    for (const p of policies) expect(p.body['notification_channels']).toBe('${var.notification_channels}');
    expect(JSON.stringify(resource('google_monitoring_alert_policy', 'dead_letters'))).toContain('num_undelivered_messages');
  });

  it('enables the APIs it needs', () => {
    for (const api of ['cloudfunctions', 'run', 'cloudbuild', 'pubsub', 'cloudscheduler', 'secretmanager', 'bigquery', 'monitoring']) expect(text).toContain(`"${api}.googleapis.com"`);
  });

  it('is formatted (terraform fmt -check)', async () => {
    const { stdout } = await promisify(execFile)('terraform', ['fmt', '-check', '-recursive', '-list=true', DIR]).catch((e: { stdout: string }) => ({ stdout: `not formatted: ${e.stdout}` }));
    expect(stdout.trim()).toBe('');
  });
});

describe('cloudbuild.yaml', () => {
  const build = parseYaml(readFileSync('cloudbuild.yaml', 'utf8')) as { steps: { id?: string; name: string; args?: string[]; script?: string; entrypoint?: string }[]; substitutions?: Record<string, string> };
  const stepText = (s: (typeof build.steps)[number]): string => [s.entrypoint ?? '', ...(s.args ?? []), s.script ?? ''].join(' ');

  it('pins every image', () => {
    for (const step of build.steps) expect(step.name, step.id).toMatch(/(:(?!latest$)[\w.-]+|@sha256:[0-9a-f]{64})$/);
  });

  it('runs the tests before any Terraform step, and applies only when allowed', () => {
    const testIndex = build.steps.findIndex((s) => /npm (run )?test|npm t\b/.test(stepText(s)));
    const terraformIndex = build.steps.findIndex((s) => /terraform/.test(s.name) || /\bterraform\b/.test(stepText(s)));
    expect(testIndex).toBeGreaterThanOrEqual(0);
    expect(terraformIndex).toBeGreaterThan(testIndex);
    const apply = build.steps.find((s) => /terraform apply|\bapply\b/.test(stepText(s)))!;
    expect(stepText(apply)).toMatch(/_APPLY/);
    expect(build.substitutions?.['_APPLY']).toBe('false');
    expect(stepText(build.steps.find((s) => /\binit\b/.test(stepText(s)))!)).toMatch(/backend-config=.*_TF_STATE_BUCKET/);
  });
});
