/**
 * Reads the whole configuration at once, for the functions (environment) and the CLI (flags over
 * the environment): every value parsed (host to base URL, destination, topic, scope) and checked,
 * every problem named in one ConfigError. What a caller needs is asked for up front, so that a
 * missing value stops a process at start-up, not at its first request. A process loads it once.
 * @module
 */
import type { ArtifactChoice } from '../core/artifacts.ts';
import type { Destination } from '../core/destination.ts';
import { ConfigError } from '../core/errors.ts';
import type { Scope } from '../core/scope.ts';
import { redact, type Severity } from '../log.ts';
import { readAlertSettings, type AlertSettings } from './alert-settings.ts';
import { legacyHostWarning } from './host.ts';
import {
  OPTIONS,
  defaultOf,
  type OptionKey,
  type OptionSpec,
  type OptionValue,
  type SecretVersionName,
  type TopicName,
} from './options.ts';

/** How to reach dbt Cloud: present when the account and the token (or its secret) are. */
export interface DbtCloudSettings {
  baseUrl: string;
  accountId: number;
  /** The token itself, or the Secret Manager secret to read it from at run time. */
  token: SecretSource;
  timeoutMs: number;
  requestsPerMinute: number;
}

/** A secret's value, or the Secret Manager secret to read it from at run time. */
export type SecretSource = string | { secret: SecretVersionName; endpoint?: string };

export interface Config {
  dbtCloud?: DbtCloudSettings;
  /** The account, also without a token (receiveWebhook never calls dbt Cloud). */
  accountId?: number;
  /** The secret that signs webhook deliveries (receiveWebhook). */
  webhookSecret?: SecretSource;
  /** What is harvested: project, environment, jobs, and whether cancelled runs count. */
  scope: Scope;
  jobId?: number;
  destination?: Destination;
  runsTopic?: TopicName;
  /** Every top-level JSON artifact, or an allow-list (lib/core/artifacts.ts). */
  artifacts: ArtifactChoice;
  /** Write coverage.json per step while harvesting. */
  coverage: boolean;
  concurrency: number;
  backfillMaxDays: number;
  storageApiEndpoint?: string;
  /** Tests only: where deploy verify finds Google's APIs. */
  googleApisEndpoint?: string;
  /** lineage export --url: the OpenLineage endpoint's bearer token. */
  openLineageApiKey?: string;
  logLevel: Severity;
  /** Where harvestRun tells of each run stored (alertRun reads it). */
  runStoredTopic?: TopicName;
  /** The alert rules' settings and sinks (docs/alerts.md). */
  alerts: AlertSettings;
  /** What is accepted but should change (a deprecated host), to be said once by whoever loaded the configuration. */
  warnings: string[];
}

/** What a process needs; a need that is not met is a configuration problem. */
export type Need = 'dbtCloud' | 'accountId' | 'webhookSecret' | 'destination' | 'runsTopic' | 'jobId' | 'alerts';
export type ConfigFor<N extends Need> = Config & Required<Pick<Config, N>>;

export interface ConfigSources<N extends Need> {
  env: Record<string, string | undefined>;
  /** CLI flags by name, over the environment. */
  flags?: Record<string, string | boolean | string[] | undefined>;
  /** Values a caller composed itself (the CLI's destination from its flags), with the label to name in problems. */
  values?: Partial<Record<OptionKey, { text: string; label: string }>>;
  needs?: readonly N[];
  /** Problems the caller found already (bad usage), reported in the same message. */
  problems?: readonly string[];
  /** What to say when a need is not met, where the caller knows better (the CLI names its flags). */
  missing?: Partial<Record<N, string>>;
  /** A function on Cloud Run: it stores in a bucket, never in a folder that vanishes with its instance. */
  cloud?: boolean;
}

/** The settings each need consists of: every group, and in each group one of its settings. */
export const NEED_OPTIONS: Record<Need, readonly (readonly OptionKey[])[]> = {
  dbtCloud: [['accountId'], ['token', 'tokenSecret'], ['host']],
  accountId: [['accountId']],
  webhookSecret: [['webhookSecret', 'webhookSecretName']],
  destination: [['destination']],
  runsTopic: [['runsTopic']],
  jobId: [['jobId']],
  alerts: [
    [
      'slackWebhookUrl',
      'slackWebhookUrlSecret',
      'alertWebhookUrl',
      'teamsWebhookUrl',
      'teamsWebhookUrlSecret',
      'pagerdutyRoutingKey',
      'pagerdutyRoutingKeySecret',
    ],
  ],
};

const NEED_HINTS: Record<Need, string> = {
  dbtCloud: '',
  accountId: '',
  webhookSecret: ' (webhook register prints it)',
  destination: ' (gs://bucket[/prefix] or a local folder)',
  runsTopic: ' for the dispatchers (projects/P/topics/T or a topic id)',
  jobId: '',
  alerts: ': alerts go nowhere until a sink is set (docs/alerts.md)',
};

/** Reads settings from the sources, noting which were given and every problem. */
class Reader<N extends Need> {
  readonly problems: string[];
  readonly given = new Set<OptionKey>();
  private readonly sources: ConfigSources<N>;
  constructor(sources: ConfigSources<N>) {
    this.sources = sources;
    this.problems = [...(sources.problems ?? [])];
  }

  /** How a setting is named to the user: its flag too, on the command line. */
  label(spec: OptionSpec): string {
    return this.sources.flags !== undefined && spec.flag ? `${spec.variable} (--${spec.flag})` : spec.variable;
  }

  /** The text given for a setting, and the name to put on its problems. */
  private source(key: OptionKey): { text: string; name: string } | undefined {
    const spec: OptionSpec = OPTIONS[key];
    const composed = this.sources.values?.[key];
    if (composed) return { text: composed.text, name: composed.label };
    const flag = spec.flag ? this.sources.flags?.[spec.flag] : undefined;
    if (typeof flag === 'string' || flag === true)
      return { text: flag === true ? 'true' : flag, name: `--${spec.flag}` };
    const envText = this.sources.env[spec.variable];
    if (envText !== undefined && envText !== '') return { text: envText, name: this.label(spec) };
    return undefined;
  }

  /** A setting's value, or undefined when it was not given (or was wrong: then a problem says so). */
  optional<K extends OptionKey>(key: K): OptionValue<K> | undefined {
    const given = this.source(key);
    if (!given) return undefined;
    this.given.add(key);
    const parsed = OPTIONS[key].schema.safeParse(given.text);
    if (parsed.success) return parsed.data as OptionValue<K>;
    for (const issue of parsed.error.issues) this.problems.push(`${given.name} ${issue.message}`);
    return undefined;
  }

  /** A setting with a default: its value, else the default's. */
  defaulted<K extends OptionKey & Parameters<typeof defaultOf>[0]>(key: K): OptionValue<K> {
    return this.optional(key) ?? defaultOf(key);
  }
}

export function loadConfig<N extends Need = never>(sources: ConfigSources<N>): ConfigFor<N> {
  const r = new Reader(sources);
  const accountId = r.optional('accountId');
  const config: Config = {
    accountId,
    scope: {
      projectId: r.optional('projectId'),
      environmentId: r.optional('environmentId'),
      jobIds: r.optional('jobIds'),
      includeCancelled: r.defaulted('includeCancelled'),
    },
    jobId: r.optional('jobId'),
    destination: r.optional('destination'),
    runsTopic: r.optional('runsTopic'),
    artifacts: r.defaulted('artifacts'),
    coverage: r.defaulted('coverage'),
    concurrency: r.defaulted('concurrency'),
    backfillMaxDays: r.defaulted('backfillMaxDays'),
    storageApiEndpoint: r.optional('storageApiEndpoint'),
    googleApisEndpoint: r.optional('googleApisEndpoint'),
    openLineageApiKey: r.optional('openLineageApiKey'),
    logLevel: r.defaulted('logLevel'),
    runStoredTopic: r.optional('runStoredTopic'),
    alerts: { rules: [], includeWarn: false, slowerRatio: 0, slowerSeconds: 0, maxMessages: 0 },
    warnings: [],
  };
  const secretEndpoint = r.optional('secretManagerApiEndpoint');
  const fromSecret = (secret: SecretVersionName | undefined): SecretSource | undefined =>
    secret ? { secret, ...(secretEndpoint ? { endpoint: secretEndpoint } : {}) } : undefined;
  const token = oneSecret(r, 'token', 'tokenSecret', fromSecret);
  const baseUrl = r.optional('host');
  const timeoutMs = r.defaulted('timeoutSeconds') * 1000;
  const requestsPerMinute = r.defaulted('requestsPerMinute');
  if (accountId !== undefined && token !== undefined && baseUrl !== undefined)
    config.dbtCloud = { accountId, token, baseUrl, timeoutMs, requestsPerMinute };
  // Said where dbt Cloud is called, not by every command that happens to see the variable.
  const legacy = baseUrl === undefined ? null : legacyHostWarning(baseUrl);
  if (legacy && ((sources.needs ?? []) as readonly Need[]).includes('dbtCloud')) config.warnings.push(legacy);
  config.alerts = readAlertSettings({
    optional: (key) => r.optional(key),
    defaulted: <K extends OptionKey>(key: K) =>
      (r.optional(key) ??
        (OPTIONS[key] as OptionSpec).schema.parse((OPTIONS[key] as OptionSpec).default)) as OptionValue<K>,
    secret: (valueKey, nameKey) => oneSecret(r, valueKey, nameKey, fromSecret),
    problem: (text) => r.problems.push(text),
  });
  const webhookSecret = oneSecret(r, 'webhookSecret', 'webhookSecretName', fromSecret);
  if (webhookSecret !== undefined) config.webhookSecret = webhookSecret;
  if (sources.cloud && config.destination?.kind === 'local') {
    r.problems.push(
      `${OPTIONS.destination.variable} must be gs://BUCKET[/PREFIX] for a function: "${config.destination.path}" would be a folder of the instance, lost with it`,
    );
  }
  checkNeeds(r, sources);
  if (r.problems.length > 0) throw new ConfigError([...new Set(r.problems)]);
  return config as ConfigFor<N>;
}

/** A secret given as a value or as the Secret Manager secret holding it, not both; the value is redacted from every output. */
function oneSecret<N extends Need>(
  r: Reader<N>,
  valueKey: OptionKey,
  nameKey: OptionKey,
  fromSecret: (name: SecretVersionName | undefined) => SecretSource | undefined,
): SecretSource | undefined {
  const value = r.optional(valueKey) as string | undefined;
  const name = r.optional(nameKey) as SecretVersionName | undefined;
  if (value !== undefined) redact(value);
  if (value !== undefined && name !== undefined)
    r.problems.push(`set ${r.label(OPTIONS[valueKey])} or ${OPTIONS[nameKey].variable}, not both`);
  return value ?? fromSecret(name);
}

/** A need is met when its value was given, even if it was wrong: that problem is named already. */
function checkNeeds<N extends Need>(r: Reader<N>, sources: ConfigSources<N>): void {
  for (const need of (sources.needs ?? []) as readonly Need[]) {
    if (NEED_OPTIONS[need].every((group) => group.some((key) => r.given.has(key)))) continue;
    const say = (sources.missing as Partial<Record<Need, string>> | undefined)?.[need];
    if (say !== undefined) {
      r.problems.push(say);
      continue;
    }
    for (const [first, ...alternatives] of NEED_OPTIONS[need]) {
      if ([first!, ...alternatives].some((key) => r.given.has(key))) continue;
      const spec: OptionSpec = OPTIONS[first!];
      const or = alternatives.length > 0 ? ` (or ${alternatives.map((key) => OPTIONS[key].variable).join(', ')})` : '';
      r.problems.push(`${r.label(spec)} ${spec.missing ?? `is required${or}${NEED_HINTS[need]}`}`);
    }
  }
}
