/**
 * Reads the whole configuration at once, for the functions (environment) and the CLI (flags over
 * the environment): every value parsed (host to base URL, destination, topic) and checked, every
 * problem named in one ConfigError. What a caller needs is asked for up front, so that a missing
 * value stops a process at start-up, not at its first request.
 * @module
 */
import { ConfigError } from '../core/errors.ts';
import type { Destination } from '../core/destination.ts';
import { redact, type Severity } from '../log.ts';
import {
  OPTIONS,
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
  projectId?: number;
  environmentId?: number;
  /** Harvest only these jobs. */
  jobIds?: number[];
  jobId?: number;
  destination?: Destination;
  runsTopic?: TopicName;
  artifacts: string[];
  /** Write coverage.json per step while harvesting. */
  coverage: boolean;
  includeCancelled: boolean;
  concurrency: number;
  backfillMaxDays: number;
  storageApiEndpoint?: string;
  logLevel: Severity;
}

/** What a process needs; a need that is not met is a configuration problem. */
export type Need = 'dbtCloud' | 'accountId' | 'webhookSecret' | 'destination' | 'runsTopic' | 'jobId';
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
  dbtCloud: [['accountId'], ['token', 'tokenSecret']],
  accountId: [['accountId']],
  webhookSecret: [['webhookSecret', 'webhookSecretName']],
  destination: [['destination']],
  runsTopic: [['runsTopic']],
  jobId: [['jobId']],
};

const NEED_HINTS: Record<Need, string> = {
  dbtCloud: '',
  accountId: '',
  webhookSecret: ' (webhook register prints it)',
  destination: ' (gs://bucket[/prefix] or a local folder)',
  runsTopic: ' for the dispatchers (projects/P/topics/T or a topic id)',
  jobId: '',
};

export function loadConfig<N extends Need = never>(sources: ConfigSources<N>): ConfigFor<N> {
  const problems = [...(sources.problems ?? [])];
  const cli = sources.flags !== undefined;
  const label = (spec: OptionSpec): string => (cli && spec.flag ? `${spec.variable} (--${spec.flag})` : spec.variable);
  const given = new Set<OptionKey>();
  const read = <K extends OptionKey>(key: K): OptionValue<K> | undefined => {
    const spec: OptionSpec = OPTIONS[key];
    const composed = sources.values?.[key];
    const flag = spec.flag ? sources.flags?.[spec.flag] : undefined;
    const envText = sources.env[spec.variable];
    let text: string | undefined;
    let name = label(spec);
    if (composed) ({ text, label: name } = composed);
    else if (typeof flag === 'string' || flag === true) {
      text = flag === true ? 'true' : flag;
      name = `--${spec.flag}`;
    } else if (envText !== undefined && envText !== '') text = envText;
    if (text !== undefined) given.add(key);
    else text = spec.default;
    if (text === undefined) return undefined;
    const parsed = spec.schema.safeParse(text);
    if (parsed.success) return parsed.data as OptionValue<K>;
    for (const issue of parsed.error.issues) problems.push(`${name} ${issue.message}`);
    return undefined;
  };

  const accountId = read('accountId');
  const token = read('token');
  const tokenSecret = read('tokenSecret');
  const secretEndpoint = read('secretManagerApiEndpoint');
  const baseUrl = read('host');
  const timeoutSeconds = read('timeoutSeconds');
  const requestsPerMinute = read('requestsPerMinute');
  const webhookSecret = read('webhookSecret');
  const webhookSecretName = read('webhookSecretName');
  const config: Config = {
    accountId,
    projectId: read('projectId'),
    jobIds: read('jobIds'),
    environmentId: read('environmentId'),
    jobId: read('jobId'),
    destination: read('destination'),
    runsTopic: read('runsTopic'),
    artifacts: read('artifacts') ?? [],
    coverage: read('coverage') ?? true,
    includeCancelled: read('includeCancelled') ?? false,
    concurrency: read('concurrency') ?? 0,
    backfillMaxDays: read('backfillMaxDays') ?? 0,
    storageApiEndpoint: read('storageApiEndpoint'),
    logLevel: read('logLevel') ?? 'INFO',
  };
  if (token !== undefined && tokenSecret !== undefined)
    problems.push(`set ${label(OPTIONS.token)} or ${OPTIONS.tokenSecret.variable}, not both`);
  const tokenSource =
    token ??
    (tokenSecret ? { secret: tokenSecret, ...(secretEndpoint ? { endpoint: secretEndpoint } : {}) } : undefined);
  if (accountId !== undefined && tokenSource !== undefined && baseUrl !== undefined) {
    config.dbtCloud = {
      accountId,
      token: tokenSource,
      baseUrl,
      timeoutMs: (timeoutSeconds ?? 30) * 1000,
      requestsPerMinute: requestsPerMinute ?? 4500,
    };
    if (token !== undefined) redact(token);
  }
  if (webhookSecret !== undefined && webhookSecretName !== undefined)
    problems.push(`set ${OPTIONS.webhookSecret.variable} or ${OPTIONS.webhookSecretName.variable}, not both`);
  const webhookSource =
    webhookSecret ??
    (webhookSecretName
      ? { secret: webhookSecretName, ...(secretEndpoint ? { endpoint: secretEndpoint } : {}) }
      : undefined);
  if (webhookSource !== undefined) config.webhookSecret = webhookSource;
  if (webhookSecret !== undefined) redact(webhookSecret);
  if (sources.cloud && config.destination?.kind === 'local') {
    problems.push(
      `${OPTIONS.destination.variable} must be gs://BUCKET[/PREFIX] for a function: "${config.destination.path}" would be a folder of the instance, lost with it`,
    );
  }
  // A need is met when its value was given, even if it was wrong: that problem is named already.
  const met = (need: Need): boolean => NEED_OPTIONS[need].every((group) => group.some((key) => given.has(key)));
  for (const need of (sources.needs ?? []) as readonly Need[]) {
    if (met(need)) continue;
    const say = (sources.missing as Partial<Record<Need, string>> | undefined)?.[need];
    if (say !== undefined) {
      problems.push(say);
      continue;
    }
    for (const [first, ...alternatives] of NEED_OPTIONS[need]) {
      if ([first!, ...alternatives].some((key) => given.has(key))) continue;
      const or = alternatives.length > 0 ? ` (or ${alternatives.map((key) => OPTIONS[key].variable).join(', ')})` : '';
      problems.push(`${label(OPTIONS[first!])} is required${or}${NEED_HINTS[need]}`);
    }
  }
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return config as ConfigFor<N>;
}
