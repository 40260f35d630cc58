import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OFFLINE_GCLOUD_ENV,
  checkGcloud,
  gcloudCommandsIn,
  gcloudShim,
  realGcloud,
  wordsOf,
} from '../../harness/gcloud.ts';
import { startMetadataServer, type MetadataServer } from '../../harness/metadata-server.ts';
import { addSecretVersionCommand } from '../../lib/secrets/secret-manager.ts';
import { deploymentNames, type DeployedFunction } from '../../lib/core/deployment.ts';
import { verifyDeployment } from '../../lib/deploy/verify.ts';
import { deployedProject, modelApis, type ProjectModel } from '../../harness/fake-google-apis.ts';
import { codeBlocks } from '../markdown.ts';

/**
 * Every gcloud command the project asks a user or Cloud Build to run is parsed by the real gcloud,
 * offline: with no account configured, a command that parses stops at the missing credentials, one
 * that does not stops at `ERROR: (gcloud.…) argument …`. The bootstrap script runs end to end with
 * every call it makes checked so; the README's and cloudbuild.yaml's commands are checked one by one.
 *
 * Every check runs where a metadata server answers, as inside a Cloud Build step (a stand-in on
 * loopback, which gcloud finds through GCE_METADATA_ROOT): the checks must not take its identity.
 */
const gcloud = realGcloud();
if (!gcloud && process.env['CI']) throw new Error('CI=true: the Google Cloud SDK (gcloud) is required for these tests');

const PROJECT = 'my-data-platform';
/** What the README's commands expect to be set, as a user following it would have set them. */
const README_PRELUDE = `PROJECT=${PROJECT}; REGION=europe-west1; NAME_PREFIX=dbt-harvester; DEPLOYER=dbt-harvester-deployer@${PROJECT}.iam.gserviceaccount.com
DBT_CLOUD_TOKEN=dbtc_example; WEBHOOK_URL=https://example.run.app
terraform() { echo tf-output; }
npm() { echo npm-output; }`;

function runScript(script: string, args: string[], pathFirst: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'bash',
      [script, ...args],
      { env: { PATH: `${pathFirst}:${process.env['PATH']}`, HOME: tmpdir() }, timeout: 240_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, output: `${stdout}${stderr}` });
      },
    );
    child.stdin?.end();
  });
}

let metadata: MetadataServer;
/** What a Cloud Build step's machine provides: a metadata server with the build's account and project. */
let ambient: Record<string, string>;

beforeAll(async () => {
  metadata = await startMetadataServer();
  ambient = { GCE_METADATA_ROOT: metadata.host };
});
afterAll(() => metadata?.close());

async function expectAllParse(commands: string[][]): Promise<void> {
  const checks = [];
  // Two at a time: gcloud takes most of a second to start.
  for (let i = 0; i < commands.length; i += 2)
    checks.push(...(await Promise.all(commands.slice(i, i + 2).map((c) => checkGcloud(c, gcloud, ambient)))));
  const failed = checks.filter((c) => !c.parsed).map((c) => `gcloud ${c.argv.join(' ')}\n${c.output}`);
  expect(failed).toEqual([]);
}

describe.runIf(gcloud)('gcloud commands, parsed by the real gcloud offline', () => {
  it('takes no identity from a metadata server that answers, as one does inside Cloud Build', async () => {
    // The stand-in is one gcloud believes: without the offline settings, gcloud takes its account.
    const config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
    try {
      const taken = await new Promise<string>((resolve) => {
        const child = execFile(
          gcloud!,
          ['config', 'get-value', 'account'],
          { env: { ...ambient, PATH: process.env['PATH'], HOME: config, CLOUDSDK_CONFIG: config }, timeout: 60_000 },
          (_err, stdout) => resolve(stdout.trim()),
        );
        child.stdin?.end();
      });
      expect(taken).toBe(metadata.account);
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
    // With them, a command that parses stops at the missing credentials, and no token was asked for.
    metadata.requests.length = 0;
    const check = await checkGcloud(['pubsub', 'topics', 'describe', 'runs', `--project=${PROJECT}`], gcloud, ambient);
    expect(check.output).toMatch(/You do not currently have an active account selected/);
    expect(check.parsed).toBe(true);
    expect(metadata.requests.filter((r) => /token|identity|email/.test(r))).toEqual([]);
    expect(OFFLINE_GCLOUD_ENV.CLOUDSDK_CORE_CHECK_GCE_METADATA).toBe('false');
  }, 120_000);

  it('deploy/bootstrap.sh runs through on a new project, every gcloud call it makes parsed', async () => {
    const shim = gcloudShim(gcloud, ambient);
    try {
      const run = await runScript('deploy/bootstrap.sh', [PROJECT], shim.dir);
      expect(run.output).toContain('Ready: state in gs://my-data-platform-tf-state');
      expect(run.code, run.output).toBe(0);
      const calls = shim.calls();
      // The first run creates what a later run only finds: the bucket, the account, every grant.
      expect(calls.map((c) => c.slice(0, 3).join(' '))).toEqual(
        expect.arrayContaining([
          'services enable cloudresourcemanager.googleapis.com',
          'storage buckets create',
          'iam service-accounts create',
          'projects add-iam-policy-binding my-data-platform',
        ]),
      );
      const conditional = calls.find((c) => c.includes('--role=roles/resourcemanager.projectIamAdmin'))!;
      expect(conditional.find((a) => a.startsWith('--condition='))).toBe(
        "--condition=^;^expression=api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/logging.logWriter', 'roles/storage.objectViewer']);title=build-account-grants-only",
      );
    } finally {
      shim.close();
    }
  }, 300_000);

  it('fails on a --condition whose commas are not escaped with an alternate delimiter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-'));
    const shim = gcloudShim(gcloud, ambient);
    try {
      const script = join(dir, 'bootstrap.sh');
      const text = readFileSync('deploy/bootstrap.sh', 'utf8');
      // The script's own text, a bash variable in it: not a template.
      const escaped = ['--condition="^;^expression=$', '{PROJECT_GRANTS_ONLY};title='].join('');
      expect(text).toContain(escaped);
      writeFileSync(script, text.replace(escaped, escaped.replace('^;^', '').replace(';title=', ',title=')));
      const run = await runScript(script, [PROJECT], shim.dir);
      expect(run.code).not.toBe(0);
      expect(run.output).toMatch(
        /ERROR: \(gcloud\.projects\.add-iam-policy-binding\) argument --condition: valid keys are/,
      );
      expect(run.output).not.toContain('Ready:');
    } finally {
      shim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('parses every gcloud command of the README and docs/, in their code blocks and their text', async () => {
    const readme = [
      'README.md',
      ...readdirSync('docs')
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ]
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    // Code blocks, and commands quoted inline in the text.
    const inline = [...readme.matchAll(/`(gcloud [^`]+)`/g)].map((m) => m[1]!);
    const commands = [...codeBlocks(readme, ['sh', 'bash']).flatMap(gcloudCommandsIn), ...inline];
    // The deployment needs these; a README that lost them would not be followable.
    for (const expected of ['auth login', 'auth application-default login', 'builds submit', 'secrets versions add']) {
      expect(
        commands.some((c) => c.startsWith(`gcloud ${expected}`)),
        expected,
      ).toBe(true);
    }
    await expectAllParse(commands.map((c) => wordsOf(c, README_PRELUDE)));
  }, 300_000);

  it("parses every gcloud command of cloudbuild.yaml, its steps' and its comments'", async () => {
    const text = readFileSync('cloudbuild.yaml', 'utf8');
    const build = parseYaml(text) as { steps: { args?: string[] }[]; substitutions: Record<string, string> };
    // Cloud Build's substitutions as a build would have them, then bash as the step runs it.
    const substitute = (s: string): string =>
      s
        .replace(/\$\{(_[A-Z_]+)\}/g, (_m, name: string) =>
          name === '_APPLY'
            ? 'true'
            : name === '_TF_STATE_BUCKET'
              ? `${PROJECT}-tf-state`
              : (build.substitutions[name] ?? ''),
        )
        .replace(/\$PROJECT_ID/g, PROJECT)
        .replace(/\$\$/g, '$');
    const scripts = build.steps.flatMap((s) => s.args ?? []).map(substitute);
    const comments = text
      .split('\n')
      .filter((l) => /^#\s+gcloud\s/.test(l))
      .map((l) => l.replace(/^#\s+/, ''));
    const commands = [...scripts.flatMap(gcloudCommandsIn), ...comments];
    expect(commands.some((c) => c.includes('--no-invoker-iam-check'))).toBe(true);
    const prelude = `terraform() { case "$*" in *webhook_service*) echo dbt-harvester-receive-webhook ;; *region*) echo europe-west1 ;; *) echo no-invoker-check ;; esac; }`;
    await expectAllParse(commands.map((c) => wordsOf(c, prelude)));
  }, 300_000);

  it('parses the commands the harvester itself prints: storing a secret, opening receiveWebhook', async () => {
    const fromTerraform = readFileSync('terraform/outputs.tf', 'utf8');
    const template = /"(gcloud run services update .+)" : null/
      .exec(fromTerraform)![1]!
      .replace(/\$\{[^}]+\}/g, (m) =>
        m.includes('project_id') ? PROJECT : m.includes('region') ? 'europe-west1' : 'dbt-harvester-receive-webhook',
      );
    const printed = [
      addSecretVersionCommand({ project: PROJECT, secret: 'dbt-harvester-dbt-cloud-token' }, 'DBT_CLOUD_TOKEN'),
      addSecretVersionCommand(
        { project: PROJECT, secret: 'dbt-harvester-dbt-cloud-webhook-secret' },
        'DBT_CLOUD_WEBHOOK_SECRET',
      ),
      template,
    ];
    await expectAllParse(
      printed.flatMap(gcloudCommandsIn).map((c) => wordsOf(c, 'DBT_CLOUD_TOKEN=x; DBT_CLOUD_WEBHOOK_SECRET=y')),
    );
  }, 120_000);
});

/** Every fix `deploy verify` prints, from deployments broken every way it reports at once. */
async function verifyFixes(): Promise<string[]> {
  const n = deploymentNames(PROJECT, 'europe-west1', 'dbt-harvester');
  const uri = (fn: DeployedFunction) => `https://${n.functions[fn]}-x.a.run.app`;
  const where = `projects/${PROJECT}/locations/europe-west1`;
  const secret = (m: ProjectModel, id: string) => m.secrets.get(`projects/${PROJECT}/secrets/${id}`)!;
  const broken: ((m: ProjectModel) => void)[] = [
    (m) => {
      m.functions.get(`${where}/functions/${n.functions.harvestRun}`)!['state'] = 'FAILED';
      m.services.get(`${where}/services/${n.functions.backfill}`)!['terminalCondition'] = { state: 'CONDITION_FAILED' };
      m.jobs.get(`${where}/jobs/${n.schedulerJob}`)!['state'] = 'PAUSED';
      secret(m, n.tokenSecret).versions = [];
      secret(m, n.webhookSecret).versions = [];
      m.buckets.get(n.defaultBucket)!.policy['bindings'] = [];
    },
    (m) => {
      m.jobs.get(`${where}/jobs/${n.schedulerJob}`)!['state'] = 'DISABLED';
      secret(m, n.tokenSecret).policy['bindings'] = [];
      secret(m, n.webhookSecret).policy['bindings'] = [];
    },
  ];
  const fixes: string[] = [];
  for (const [i, breakIt] of broken.entries()) {
    const model = deployedProject(n, { uri });
    breakIt(model);
    // The dispatchers' dry runs fail: no token, then a token dbt Cloud refuses, then something else.
    const details = [
      'The dbt Cloud token is not set: secret has no enabled version',
      'dbt Cloud answered 401 Invalid token.',
    ][i]!;
    const api = modelApis(model, (url, o) =>
      url === uri('harvestRun')
        ? { status: 403, json: null, text: '' }
        : url === uri('receiveWebhook')
          ? { status: 403, json: null, text: '' }
          : {
              status: 502,
              json: { error: 'dispatch failed', details: [o.method === 'GET' ? 'x' : details] },
              text: '',
            },
    );
    for await (const c of verifyDeployment(api, {
      project: PROJECT,
      region: 'europe-west1',
      prefix: 'dbt-harvester',
      dataset: 'dbt_artifacts',
      now: Date.now,
    }))
      if (c.fix) fixes.push(c.fix);
  }
  // And a dry run that fails for a reason of its own: its logs.
  const model = deployedProject(n, { uri });
  const api = modelApis(model, () => ({
    status: 500,
    json: { error: 'dispatch failed', details: ['Pub/Sub unavailable'] },
    text: '',
  }));
  for await (const c of verifyDeployment(api, {
    project: PROJECT,
    region: 'europe-west1',
    prefix: 'dbt-harvester',
    dataset: 'dbt_artifacts',
    now: Date.now,
  }))
    if (c.fix) fixes.push(c.fix);
  return fixes;
}

describe.runIf(gcloud)('the commands deploy verify prints', () => {
  it('parses every one, each kind of fix included', async () => {
    const fixes = await verifyFixes();
    const commands = [...new Set(fixes.flatMap(gcloudCommandsIn))];
    for (const kind of [
      'gcloud functions describe',
      'gcloud run services describe',
      'gcloud scheduler jobs resume',
      'gcloud secrets versions add',
      'gcloud secrets add-iam-policy-binding',
      'gcloud storage buckets add-iam-policy-binding',
      'gcloud logging read',
    ])
      expect(
        commands.some((c) => c.startsWith(kind)),
        kind,
      ).toBe(true);
    await expectAllParse(commands.map((c) => wordsOf(c, 'DBT_CLOUD_TOKEN=x')));
  }, 300_000);
});

describe('the gcloud command extractor', () => {
  it('finds commands inside substitutions, pipes and continuations, and stops where they end', () => {
    const text =
      'printf %s "$T" | gcloud secrets versions add s --project=p --data-file=- \\\n  && rm f\nX="$(gcloud config get-value account 2>/dev/null)"\n# a note on gcloud, not a command\n';
    expect(gcloudCommandsIn(text)).toEqual([
      'gcloud secrets versions add s --project=p --data-file=-',
      'gcloud config get-value account',
    ]);
  });
});
