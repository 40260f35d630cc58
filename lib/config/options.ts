/**
 * Every setting, declared once: its environment variable, its flag where the CLI has one, its
 * default, its check and one line of help. The functions read the variables; the CLI reads the
 * flags first. The README's configuration table is checked against this list by a test.
 * @module
 */
import { z } from 'zod';
import { parseDestination, type Destination } from '../core/destination.ts';
import { ACCESS_URL_WHERE, parseBaseUrl } from './host.ts';
import { ALERT_RULES, type AlertRule } from '../core/alert.ts';
import { boolText, fromParser, jobIdList, positiveInt } from './text-values.ts';

/** The four artifacts dbt documents for every project (an allow-list tests and benchmarks name). */
export const DEFAULT_ARTIFACTS = ['manifest.json', 'catalog.json', 'run_results.json', 'sources.json'] as const;
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR'] as const;

/** `projects/P/topics/T` or a topic id. */
export interface TopicName {
  project?: string;
  topic: string;
}

/** A Secret Manager secret version: `projects/P/secrets/S[/versions/V]` (version `latest` by default). */
export interface SecretVersionName {
  project: string;
  secret: string;
  version: string;
}

function parseSecretName(text: string): SecretVersionName | { problem: string } {
  const m =
    /^projects\/([a-z][a-z0-9-]{4,28}[a-z0-9]|\d+)\/secrets\/([A-Za-z0-9_-]{1,255})(?:\/versions\/(latest|[1-9]\d*))?$/.exec(
      text.trim(),
    );
  if (!m) return { problem: `"${text}" is not projects/PROJECT/secrets/SECRET[/versions/VERSION]` };
  return { project: m[1]!, secret: m[2]!, version: m[3] ?? 'latest' };
}

export interface OptionSpec<T = unknown> {
  /** The environment variable. */
  readonly variable: string;
  /** The CLI flag, where the CLI reads this setting (`--flag`). */
  readonly flag?: string;
  /** A flag that takes no value. */
  readonly switch?: boolean;
  /** The value used when neither is set, as text. */
  readonly default?: string;
  /** What the value looks like, for help (`ID`, `N`). */
  readonly placeholder?: string;
  readonly describe: string;
  /** Parses and checks the text. */
  readonly schema: z.ZodType<T, string>;
  /** Never printed. */
  readonly secret?: boolean;
  /** What to say when it is required and missing (after its name), where the general words would not help. */
  readonly missing?: string;
}

const artifactName = z
  .string()
  .regex(
    /^([A-Za-z0-9_.-]+\.json|telemetry)$/,
    "each entry must be a file name in target/ ending in .json, such as manifest.json, or telemetry (Fusion runs' metadata/telemetry-<step>-otel.parquet)",
  )
  .refine((s) => s !== '..', 'must not be ..');

function parseTopic(text: string): TopicName | { problem: string } {
  const trimmed = text.trim();
  const m = /^projects\/([^/]+)\/topics\/([^/]+)$/.exec(trimmed);
  if (m) return { project: m[1]!, topic: m[2]! };
  if (/^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/.test(trimmed) && !trimmed.startsWith('goog')) return { topic: trimmed };
  return { problem: `"${text}" is not projects/PROJECT/topics/TOPIC or a topic id` };
}

/** Alert rule names separated by commas, each once. */
const alertRuleList = fromParser<AlertRule[]>((text) => {
  const names = [
    ...new Set(
      text
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = names.filter((n) => !(ALERT_RULES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0)
    return {
      problem: `must name rules among ${ALERT_RULES.join(', ')}${unknown.length ? ` ("${unknown.join('", "')}" is not one)` : ''}`,
    };
  return names as AlertRule[];
});

/** A ratio above 1 (1.5 for "half as long again"). */
const ratioAbove1 = fromParser<number>((text) => {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) && n > 1 && n <= 100
    ? n
    : { problem: `must be a number above 1 and at most 100 (1.5: half as long again), not "${text}"` };
});

/** An alert sink's URL: https (http only to this machine, for tests and local receivers). */
const sinkUrl = fromParser<string>((text) => {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return { problem: 'must be a URL (https://...)' };
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback)
    ? text.trim()
    : { problem: 'must be an https URL' };
});

export const OPTIONS = {
  accountId: {
    variable: 'DBT_CLOUD_ACCOUNT_ID',
    flag: 'account-id',
    placeholder: 'ID',
    describe: 'the dbt Cloud account (required)',
    schema: positiveInt(),
  },
  token: {
    variable: 'DBT_CLOUD_TOKEN',
    flag: 'token',
    placeholder: 'TOKEN',
    secret: true,
    describe: 'a service token or personal access token (required; prefer the variable, flags show in ps)',
    schema: z
      .string()
      .trim()
      .min(1, 'is required (a dbt Cloud service token or personal access token)')
      .refine(
        (t) => /^[\x21-\x7e]+$/.test(t),
        'must be printable ASCII without spaces, as dbt Cloud tokens are (is a character of the token mistyped or pasted with a control character?)',
      ),
  },
  tokenSecret: {
    variable: 'DBT_CLOUD_TOKEN_SECRET',
    describe:
      'instead of the token: the Secret Manager secret holding it, read at run time (projects/P/secrets/S[/versions/V])',
    schema: fromParser(parseSecretName),
  },
  host: {
    variable: 'DBT_CLOUD_HOST',
    flag: 'host',
    placeholder: 'HOST',
    // No default: the shared getdbt.com region URLs were deprecated on 1 November 2026, and each
    // account has its own access URL (docs: platform/about-platform/account-url-migration).
    describe: "the account's access URL, such as ab123.us1.dbt.com (required; https implied for a bare host)",
    missing: `is required: your account's access URL, such as ab123.us1.dbt.com (${ACCESS_URL_WHERE})`,
    schema: fromParser(parseBaseUrl),
  },
  projectId: {
    variable: 'DBT_CLOUD_PROJECT_ID',
    flag: 'project-id',
    placeholder: 'ID',
    describe: 'harvest only this project',
    schema: positiveInt(),
  },
  environmentId: {
    variable: 'DBT_CLOUD_ENVIRONMENT_ID',
    flag: 'environment-id',
    placeholder: 'ID',
    describe: 'harvest only this environment',
    schema: positiveInt(),
  },
  jobIds: {
    variable: 'HARVEST_JOB_IDS',
    flag: 'job-ids',
    placeholder: 'J,J',
    describe: 'harvest only these jobs (comma-separated ids)',
    schema: jobIdList,
  },
  jobId: {
    variable: 'DBT_CLOUD_JOB_ID',
    flag: 'job-id',
    placeholder: 'J',
    describe: 'the job (default job of retrieve-most-recent-artifact and trigger-job)',
    schema: positiveInt(),
  },
  webhookSecret: {
    variable: 'DBT_CLOUD_WEBHOOK_SECRET',
    secret: true,
    describe: "receiveWebhook: the webhook subscription's secret, which signs each delivery",
    schema: z
      .string()
      .trim()
      .min(8, 'is too short to be a webhook secret dbt Cloud issued (webhook register prints it)')
      .refine(
        (t) => /^[\x21-\x7e]+$/.test(t),
        'must be printable ASCII without spaces, as the secret webhook register printed',
      ),
  },
  webhookSecretName: {
    variable: 'DBT_CLOUD_WEBHOOK_SECRET_NAME',
    describe:
      'instead of the webhook secret: the Secret Manager secret holding it, read at run time (projects/P/secrets/S[/versions/V])',
    schema: fromParser(parseSecretName),
  },
  destination: {
    variable: 'ARTIFACTS_DESTINATION',
    describe: 'gs://bucket[/prefix] or a local folder',
    schema: fromParser<Destination>(parseDestination),
  },
  runsTopic: {
    variable: 'RUNS_TOPIC',
    describe: 'the topic the dispatchers publish to (projects/P/topics/T or a topic id)',
    schema: fromParser(parseTopic),
  },
  artifacts: {
    variable: 'HARVEST_ARTIFACTS',
    default: 'all',
    describe:
      "which artifacts of each dbt step: all (every top-level JSON artifact: manifest, run_results, catalog, sources, freshness, semantic_manifest, ..., and Fusion runs' telemetry) or a comma-separated allow-list (file names, and telemetry)",
    schema: z
      .string()
      .transform((s) => s.trim())
      .pipe(
        z.union([
          z.literal('all'),
          z
            .string()
            .transform((s) => [
              ...new Set(
                s
                  .split(',')
                  .map((x) => x.trim())
                  .filter(Boolean),
              ),
            ])
            .pipe(z.array(artifactName).min(1, 'must be all, or name at least one file')),
        ]),
      ),
  },
  coverage: {
    variable: 'HARVEST_COVERAGE',
    default: 'true',
    describe: "write each dbt step's coverage.json (documentation and test coverage) beside its artifacts",
    schema: boolText,
  },
  includeCancelled: {
    variable: 'HARVEST_INCLUDE_CANCELLED',
    flag: 'include-cancelled',
    switch: true,
    default: 'false',
    describe: 'also store cancelled runs',
    schema: boolText,
  },
  concurrency: {
    variable: 'HARVEST_CONCURRENCY',
    flag: 'concurrency',
    placeholder: 'N',
    default: '16',
    describe: 'runs harvested at once by the CLI (set from npm run bench)',
    schema: positiveInt(256),
  },
  requestsPerMinute: {
    variable: 'DBT_CLOUD_REQUESTS_PER_MINUTE',
    default: '4500',
    describe: "this process's client-side rate limit (dbt Cloud allows 5,000 a minute per account)",
    schema: positiveInt(600_000),
  },
  timeoutSeconds: {
    variable: 'DBT_CLOUD_TIMEOUT_SECONDS',
    default: '30',
    describe: 'timeout of each dbt Cloud request, in seconds',
    schema: positiveInt(600),
  },
  backfillMaxDays: {
    variable: 'BACKFILL_MAX_DAYS',
    default: '31',
    describe: 'the longest window a backfill accepts',
    schema: positiveInt(366, 'must be at most 366 (dbt Cloud keeps runs 365 days)'),
  },
  storageApiEndpoint: {
    variable: 'STORAGE_API_ENDPOINT',
    describe: 'tests and local emulators only: a Cloud Storage JSON API endpoint',
    schema: z.string().url(),
  },
  openLineageApiKey: {
    variable: 'OPENLINEAGE_API_KEY',
    describe: 'lineage export --url: sent as a bearer token to the OpenLineage endpoint. Never logged.',
    schema: z.string().trim().min(1, 'must not be empty'),
    secret: true,
  },
  googleApisEndpoint: {
    variable: 'GOOGLE_APIS_ENDPOINT',
    describe: 'tests and local stand-ins only: one endpoint for every Google API deploy verify and lineage export call',
    schema: z.string().url(),
  },
  secretManagerApiEndpoint: {
    variable: 'SECRET_MANAGER_API_ENDPOINT',
    describe: 'tests and local emulators only: a Secret Manager REST endpoint',
    schema: z.string().url(),
  },
  runStoredTopic: {
    variable: 'RUN_STORED_TOPIC',
    describe: 'harvestRun: the topic it tells of each run stored, for alertRun (projects/P/topics/T or a topic id)',
    schema: fromParser(parseTopic),
  },
  // Alerts (docs/alerts.md): the rules' settings, then the sinks; a sink's secret as a value or as
  // the Secret Manager secret holding it.
  alertRules: {
    variable: 'ALERTS_RULES',
    default: ALERT_RULES.join(','),
    describe: 'the alert rules to evaluate (comma-separated)',
    schema: alertRuleList,
  },
  alertIncludeWarn: {
    variable: 'ALERTS_INCLUDE_WARN',
    default: 'false',
    describe: 'also alert on tests and freshness checks that warned',
    schema: boolText,
  },
  alertSlowerRatio: {
    variable: 'ALERTS_SLOWER_RATIO',
    default: '1.5',
    describe: "model-slower: the last 7 days' median time at least this many times the 28 days before",
    schema: ratioAbove1,
  },
  alertSlowerSeconds: {
    variable: 'ALERTS_SLOWER_SECONDS',
    default: '60',
    describe: 'model-slower: and at least this many seconds longer',
    schema: positiveInt(86_400),
  },
  alertMaxMessages: {
    variable: 'ALERTS_MAX_MESSAGES',
    default: '20',
    describe: 'messages a sink is sent in one delivery at most; the runs past it are folded into one digest',
    schema: positiveInt(1000),
  },
  slackWebhookUrl: {
    variable: 'ALERTS_SLACK_WEBHOOK_URL',
    secret: true,
    describe: 'a Slack incoming webhook URL to send alerts to',
    schema: sinkUrl,
  },
  slackWebhookUrlSecret: {
    variable: 'ALERTS_SLACK_WEBHOOK_URL_SECRET',
    describe: 'instead of the Slack URL: the Secret Manager secret holding it (projects/P/secrets/S[/versions/V])',
    schema: fromParser(parseSecretName),
  },
  teamsWebhookUrl: {
    variable: 'ALERTS_TEAMS_WEBHOOK_URL',
    secret: true,
    describe: 'a Microsoft Teams workflow webhook URL to send alerts to',
    schema: sinkUrl,
  },
  teamsWebhookUrlSecret: {
    variable: 'ALERTS_TEAMS_WEBHOOK_URL_SECRET',
    describe: 'instead of the Teams URL: the Secret Manager secret holding it (projects/P/secrets/S[/versions/V])',
    schema: fromParser(parseSecretName),
  },
  alertWebhookUrl: {
    variable: 'ALERTS_WEBHOOK_URL',
    describe: 'a URL to POST each alert message to as signed JSON (needs ALERTS_WEBHOOK_SECRET)',
    schema: sinkUrl,
  },
  alertWebhookSecret: {
    variable: 'ALERTS_WEBHOOK_SECRET',
    secret: true,
    describe: 'the key that signs each generic webhook body (X-Harvester-Signature: sha256=HMAC)',
    schema: z.string().trim().min(16, 'is too short to sign with: use at least 16 characters (openssl rand -hex 32)'),
  },
  alertWebhookSecretName: {
    variable: 'ALERTS_WEBHOOK_SECRET_NAME',
    describe: 'instead of the webhook key: the Secret Manager secret holding it (projects/P/secrets/S[/versions/V])',
    schema: fromParser(parseSecretName),
  },
  pagerdutyRoutingKey: {
    variable: 'ALERTS_PAGERDUTY_ROUTING_KEY',
    secret: true,
    describe: "a PagerDuty Events API v2 integration's routing key: failed runs trigger, the next success resolves",
    schema: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9]{32}$/,
        "must be the integration's 32-character routing key (PagerDuty: Service > Integrations)",
      ),
  },
  pagerdutyRoutingKeySecret: {
    variable: 'ALERTS_PAGERDUTY_ROUTING_KEY_SECRET',
    describe: 'instead of the routing key: the Secret Manager secret holding it (projects/P/secrets/S[/versions/V])',
    schema: fromParser(parseSecretName),
  },
  logLevel: {
    variable: 'LOG_LEVEL',
    default: 'INFO',
    describe: 'DEBUG, INFO, WARNING or ERROR',
    schema: z.enum(LOG_LEVELS),
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof OPTIONS;
export type OptionValue<K extends OptionKey> = z.output<(typeof OPTIONS)[K]['schema']>;

/** The variables the configuration reads; the Terraform test checks every variable it sets is one. */
export const CONFIG_VARIABLES: readonly string[] = Object.values(OPTIONS).map((o) => o.variable);

type Defaulted = { [K in OptionKey]: (typeof OPTIONS)[K] extends { default: string } ? K : never }[OptionKey];

/** A setting's default, parsed: the one place a default is written is the table above. */
export function defaultOf<K extends Defaulted>(key: K): OptionValue<K> {
  const spec: OptionSpec = OPTIONS[key];
  return spec.schema.parse(spec.default) as OptionValue<K>;
}
