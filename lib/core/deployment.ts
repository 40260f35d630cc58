/**
 * The names of what `terraform/` deploys, from the project, the region and the name prefix: the
 * functions, their service accounts, the scheduler job, the topics and subscriptions, the secrets,
 * the BigQuery tables. `deploy verify` looks them up by these names; the Terraform test checks
 * that the plan names every one of them so.
 * @module
 */

/** The functions of the table, by entry point, and the slug of their resource names. */
export const FUNCTION_SLUGS = {
  dispatchHourly: 'dispatch-hourly',
  backfill: 'backfill',
  harvestRun: 'harvest-run',
  receiveWebhook: 'receive-webhook',
} as const;
export type DeployedFunction = keyof typeof FUNCTION_SLUGS;

/** The external tables and views of the BigQuery dataset (terraform/bigquery.tf). */
export const BIGQUERY_TABLES = [
  'runs',
  'run_history',
  'run_results',
  'coverage',
  'step_summaries',
  'model_timings',
  'test_failures',
  'source_freshness',
] as const;

export const DEFAULT_NAME_PREFIX = 'dbt-harvester';
export const DEFAULT_DATASET = 'dbt_artifacts';

export interface DeploymentNames {
  project: string;
  region: string;
  prefix: string;
  /** Each function's name (also its Cloud Run service's). */
  functions: Record<DeployedFunction, string>;
  /** Each function's own service account, and the callers'. */
  accounts: Record<DeployedFunction | 'scheduler' | 'push' | 'build', string>;
  /** The account every apply runs as (deploy/bootstrap.sh), unless deployer_service_account says otherwise. */
  deployer: string;
  schedulerJob: string;
  runsTopic: string;
  deadLetterTopic: string;
  pushSubscription: string;
  deadLetterSubscription: string;
  tokenSecret: string;
  webhookSecret: string;
  /** The artifacts bucket when bucket_name is left empty. */
  defaultBucket: string;
}

export function deploymentNames(project: string, region: string, prefix = DEFAULT_NAME_PREFIX): DeploymentNames {
  const email = (id: string) => `${prefix}-${id}@${project}.iam.gserviceaccount.com`;
  const slugs = Object.entries(FUNCTION_SLUGS) as [DeployedFunction, string][];
  return {
    project,
    region,
    prefix,
    functions: Object.fromEntries(slugs.map(([name, slug]) => [name, `${prefix}-${slug}`])) as Record<
      DeployedFunction,
      string
    >,
    accounts: {
      ...(Object.fromEntries(slugs.map(([name, slug]) => [name, email(slug)])) as Record<DeployedFunction, string>),
      scheduler: email('scheduler'),
      push: email('push'),
      build: email('build'),
    },
    deployer: email('deployer'),
    schedulerJob: `${prefix}-hourly`,
    runsTopic: `${prefix}-runs`,
    deadLetterTopic: `${prefix}-runs-dead-letter`,
    pushSubscription: `${prefix}-harvest-push`,
    deadLetterSubscription: `${prefix}-runs-dead-letter`,
    tokenSecret: `${prefix}-dbt-cloud-token`,
    webhookSecret: `${prefix}-dbt-cloud-webhook-secret`,
    defaultBucket: `${project}-dbt-artifacts`,
  };
}

/** A project id, a region and a name prefix, as terraform/variables.tf takes them. */
export const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
export const REGION = /^[a-z]+-[a-z]+[0-9]{1,2}$/;
export const NAME_PREFIX = /^[a-z][a-z0-9-]{0,12}[a-z0-9]$/;
