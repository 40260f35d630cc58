/**
 * deploy verify: is the deployment in a Google Cloud project working? Each check of
 * lib/deploy/verify.ts as one line (ok, or what is wrong and the command that fixes it), with the
 * caller's Google credentials. Exit 0 when every check passes, 1 when one fails, 2 for usage or
 * credentials.
 * @module
 */
import { z } from 'zod';
import { DEFAULT_DATASET, DEFAULT_NAME_PREFIX, NAME_PREFIX, PROJECT_ID, REGION } from '../../core/deployment.ts';
import { arg, commandConfig, defineCommand } from '../command.ts';

const matching = (re: RegExp, what: string) => z.string().trim().regex(re, what);

const verifyArgs = {
  project: arg.text(
    matching(PROJECT_ID, 'must be a Google Cloud project id (6 to 30 lowercase letters, digits and hyphens)'),
    'the project deployed into (project_id of terraform.tfvars)',
    { placeholder: 'P', required: '--project P is required: the project deployed into' },
  ),
  region: arg.text(
    matching(REGION, 'must be a Google Cloud region such as europe-west1'),
    'the region of the functions (region of terraform.tfvars)',
    { placeholder: 'R', required: '--region R is required: the region of the functions' },
  ),
  'name-prefix': arg.text(
    matching(NAME_PREFIX, 'must be 2 to 14 lowercase letters, digits or hyphens, as name_prefix of terraform.tfvars'),
    `name_prefix of terraform.tfvars (default ${DEFAULT_NAME_PREFIX})`,
    { placeholder: 'X' },
  ),
  dataset: arg.text(
    matching(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/, 'must be a BigQuery dataset id'),
    `bigquery_dataset_id of terraform.tfvars (default ${DEFAULT_DATASET})`,
    { placeholder: 'D' },
  ),
  bucket: arg.text(
    matching(/^[a-z0-9][a-z0-9_.-]{1,220}[a-z0-9]$/, 'must be a bucket name'),
    "the artifacts bucket (default: read from harvestRun's configuration)",
    { placeholder: 'B' },
  ),
};

export const deployVerify = defineCommand({
  name: 'deploy verify',
  summary: 'check a live deployment end to end: functions, scheduler, Pub/Sub, secrets, bucket, BigQuery',
  usage: '--project P --region R [--name-prefix X] [--dataset D] [--bucket B]',
  description: `Checks the deployment terraform/ made in a project, through Google's APIs, with your credentials
(gcloud auth application-default login; on Cloud Build, the build's account), reading only: each
function deployed, active and ready on its latest revision, answering a probe (a dry run of each
dispatcher, which reads dbt Cloud with the stored token; a GET harvestRun refuses; an unsigned
delivery receiveWebhook refuses, without a Google identity); the scheduler job enabled and calling
dispatchHourly; the topics and the push subscription with its dead letters; the token secret (and the
webhook secret) with an enabled version the functions may read; the bucket, where harvestRun may
create objects; the BigQuery dataset and its tables. One line per check: ok, or what is wrong and the
command that fixes it. Probing a function needs run.invoker on it (project Owners, Cloud Run Admins and
the deployer have it).
Exit status: 0 every check passed; 1 a check failed; 2 bad usage or no usable Google credentials.`,
  dbtCloud: false,
  settings: [],
  args: verifyArgs,
  async run(ctx) {
    const { io, args } = ctx;
    const config = commandConfig(ctx);
    // Google's auth library is loaded by this command alone.
    const { connectGoogle } = await import('../../google/apis.ts');
    const { verifyDeployment } = await import('../../deploy/verify.ts');
    const api = await connectGoogle({ endpoint: config.googleApisEndpoint });
    const prefix = args['name-prefix'] ?? DEFAULT_NAME_PREFIX;
    io.stderr(
      `Checking the deployment "${prefix}" in ${args.project} (${args.region})${api.caller ? ` as ${api.caller}` : ''}\n`,
    );
    let checks = 0;
    let failed = 0;
    for await (const check of verifyDeployment(api, {
      project: args.project,
      region: args.region,
      prefix,
      dataset: args.dataset ?? DEFAULT_DATASET,
      ...(args.bucket ? { bucket: args.bucket } : {}),
      now: Date.now,
    })) {
      checks++;
      if (!check.ok) failed++;
      io.stdout(
        `${check.ok ? 'ok  ' : 'FAIL'}  ${check.what}: ${check.detail}${check.fix ? `. Fix: ${check.fix}` : ''}\n`,
      );
    }
    io.stderr(failed === 0 ? `All ${checks} checks passed.\n` : `${failed} of ${checks} checks failed.\n`);
    return failed === 0 ? 0 : 1;
  },
});
