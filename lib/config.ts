import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { baseUrlFromHost } from './dbt-cloud/host.ts';

/**
 * One schema parses the environment for the functions and the CLI (CLI flags are merged over the
 * environment before parsing). A bad or missing value fails at start-up with one message that
 * names every offending variable.
 */
export const DEFAULT_ARTIFACTS = ['manifest.json', 'catalog.json', 'run_results.json', 'sources.json'] as const;

const positiveInt = z
  .string()
  .trim()
  .regex(/^\d+$/, 'must be a positive whole number')
  .transform(Number)
  .refine((n) => n > 0 && Number.isSafeInteger(n), 'must be a positive whole number');

const optionalInt = positiveInt.optional();

const artifactName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+\.json$/, 'each entry must be a file name in target/ ending in .json, such as manifest.json')
  .refine((s) => s !== '..', 'must not be ..');

const boolText = z
  .string()
  .trim()
  .toLowerCase()
  .refine((s) => ['true', 'false', '1', '0', 'yes', 'no'].includes(s), 'must be true or false')
  .transform((s) => ['true', '1', 'yes'].includes(s));

export const EnvSchema = z.object({
  DBT_CLOUD_ACCOUNT_ID: positiveInt,
  DBT_CLOUD_TOKEN: z.string().trim().min(1, 'is required (a dbt Cloud service token or personal access token)'),
  DBT_CLOUD_HOST: z.string().trim().min(1).default('cloud.getdbt.com'),
  DBT_CLOUD_PROJECT_ID: optionalInt,
  DBT_CLOUD_ENVIRONMENT_ID: optionalInt,
  DBT_CLOUD_JOB_ID: optionalInt,
  ARTIFACTS_DESTINATION: z.string().trim().min(1).optional(),
  RUNS_TOPIC: z.string().trim().min(1).optional(),
  HARVEST_ARTIFACTS: z
    .string()
    .default(DEFAULT_ARTIFACTS.join(','))
    .transform((s) => [...new Set(s.split(',').map((x) => x.trim()).filter(Boolean))])
    .pipe(z.array(artifactName).min(1, 'must name at least one file')),
  HARVEST_INCLUDE_CANCELLED: boolText.default(false),
  HARVEST_CONCURRENCY: positiveInt.refine((n) => n <= 256, 'must be at most 256').default(16),
  /** The client-side limit; dbt Cloud's multi-tenant limit is 5,000 a minute per account. */
  DBT_CLOUD_REQUESTS_PER_MINUTE: positiveInt.refine((n) => n <= 600_000, 'must be at most 600000').default(4500),
  DBT_CLOUD_TIMEOUT_SECONDS: positiveInt.default(30),
  BACKFILL_MAX_DAYS: positiveInt.refine((n) => n <= 366, 'must be at most 366 (dbt Cloud keeps runs 365 days)').default(31),
  /** Only for tests and local emulators: the Cloud Storage JSON API endpoint. */
  STORAGE_API_ENDPOINT: z.string().url().optional(),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR']).default('INFO'),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  accountId: number;
  token: string;
  baseUrl: string;
  projectId?: number;
  environmentId?: number;
  jobId?: number;
  destination?: string;
  runsTopic?: string;
  artifacts: string[];
  includeCancelled: boolean;
  concurrency: number;
  requestsPerMinute: number;
  timeoutMs: number;
  backfillMaxDays: number;
  storageApiEndpoint?: string;
  logLevel: Env['LOG_LEVEL'];
}

/** The variables the schema reads; the Terraform test checks every variable it sets is one. */
export const CONFIG_VARIABLES = Object.keys(EnvSchema.shape);

export function loadConfig(env: Record<string, string | undefined>): Config {
  const input: Record<string, string> = {};
  for (const key of CONFIG_VARIABLES) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = EnvSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '(environment)');
      const message = issue.code === 'invalid_type' && input[key] === undefined ? 'is required' : issue.message;
      return `${key} ${message}`;
    });
    throw new ConfigError([...new Set(problems)]);
  }
  const e = result.data;
  let baseUrl: string;
  try {
    baseUrl = baseUrlFromHost(e.DBT_CLOUD_HOST);
  } catch (err) {
    throw err instanceof ConfigError ? err : new ConfigError([`DBT_CLOUD_HOST ${String(err)}`]);
  }
  return {
    accountId: e.DBT_CLOUD_ACCOUNT_ID,
    token: e.DBT_CLOUD_TOKEN,
    baseUrl,
    projectId: e.DBT_CLOUD_PROJECT_ID,
    environmentId: e.DBT_CLOUD_ENVIRONMENT_ID,
    jobId: e.DBT_CLOUD_JOB_ID,
    destination: e.ARTIFACTS_DESTINATION,
    runsTopic: e.RUNS_TOPIC,
    artifacts: e.HARVEST_ARTIFACTS,
    includeCancelled: e.HARVEST_INCLUDE_CANCELLED,
    concurrency: e.HARVEST_CONCURRENCY,
    requestsPerMinute: e.DBT_CLOUD_REQUESTS_PER_MINUTE,
    timeoutMs: e.DBT_CLOUD_TIMEOUT_SECONDS * 1000,
    backfillMaxDays: e.BACKFILL_MAX_DAYS,
    storageApiEndpoint: e.STORAGE_API_ENDPOINT,
    logLevel: e.LOG_LEVEL,
  };
}

/** A topic is required for dispatching. */
export function requireRunsTopic(config: Config): string {
  if (!config.runsTopic) throw new ConfigError(['RUNS_TOPIC is required for the dispatchers (projects/P/topics/T or a topic id)']);
  return config.runsTopic;
}

/** A destination is required for harvesting. */
export function requireDestination(config: Config): string {
  if (!config.destination) throw new ConfigError(['ARTIFACTS_DESTINATION is required (gs://bucket[/prefix] or a local folder)']);
  return config.destination;
}
