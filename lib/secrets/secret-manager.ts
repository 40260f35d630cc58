/**
 * Secrets from Secret Manager (the dbt Cloud token, the webhook secret), read at run time and
 * cached: a deployment needs no secret version to start, answers a clear error until one exists,
 * and picks up a rotated value within the cache's lifetime, with no redeploy.
 *
 * Reads `projects/P/secrets/S/versions/V:access` over the Secret Manager REST API
 * (https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access)
 * with the instance's credentials (https://cloud.google.com/docs/authentication/application-default-credentials).
 * @module
 */
import { GoogleAuth } from 'google-auth-library';
import fetch from 'node-fetch';
import { z } from 'zod';
import { HarvesterError, errorMessage } from '../core/errors.ts';
import { redact } from '../log.ts';

/** `projects/P/secrets/S` with a version (`latest` by default). */
export interface SecretVersionName {
  project: string;
  secret: string;
  version: string;
}

/** A secret cannot be read: no version yet, no permission, or Secret Manager unreachable. */
export class SecretUnavailableError extends HarvesterError {
  constructor(message: string) {
    super('SECRET_UNAVAILABLE', message);
  }
}

/** The dbt Cloud token cannot be read. */
export class TokenUnavailableError extends SecretUnavailableError {}

export interface SecretProvider {
  (): Promise<string>;
  /** Reads again now, unless it was read less than `minAgeMs` ago: a value that no longer works may have been rotated. */
  refresh(minAgeMs: number): Promise<string>;
}

export interface SecretOptions {
  /** How long a read value is used before it is read again (default 5 minutes). */
  ttlMs?: number;
  /**
   * While a read fails, the last good value keeps serving for this long after it was read (default
   * an hour): a Secret Manager blip does not refuse every delivery, and a secret removed on purpose
   * stops working within the hour.
   */
  staleMs?: number;
  /** Tests and emulators only: a Secret Manager REST endpoint, called without credentials. */
  endpoint?: string;
  now?: () => number;
}

/** What a secret holds, for its messages: `the dbt Cloud token`, and the variable to add a version from. */
interface SecretKind {
  what: string;
  variable: string;
  /** A problem with the value, or null when it looks right. */
  check: (value: string) => string | null;
  error: new (message: string) => SecretUnavailableError;
}

const AccessResponse = z.object({ name: z.string().optional(), payload: z.object({ data: z.string() }) });

const printable =
  (what: string) =>
  (value: string): string | null =>
    /^[\x21-\x7e]+$/.test(value) ? null : `has spaces, control or non-ASCII characters, which no ${what} has`;

export const TOKEN_SECRET: SecretKind = {
  what: 'the dbt Cloud token',
  variable: 'DBT_CLOUD_TOKEN',
  check: printable('dbt Cloud token'),
  error: TokenUnavailableError,
};
export const WEBHOOK_SECRET: SecretKind = {
  what: 'the webhook secret',
  variable: 'DBT_CLOUD_WEBHOOK_SECRET',
  // The same minimum as the variable's (config/options.ts): whatever the source, one rule.
  check: (value) =>
    value.length < 8
      ? 'is too short to be a webhook secret dbt Cloud issued (webhook register prints it)'
      : printable('webhook secret')(value),
  error: SecretUnavailableError,
};

export function secretProvider(name: SecretVersionName, kind: SecretKind, options: SecretOptions = {}): SecretProvider {
  const ttl = options.ttlMs ?? 300_000;
  const stale = options.staleMs ?? 3_600_000;
  const now = options.now ?? Date.now;
  const base = (options.endpoint ?? 'https://secretmanager.googleapis.com').replace(/\/+$/, '');
  const path = `projects/${name.project}/secrets/${name.secret}/versions/${name.version}`;
  const auth = options.endpoint
    ? undefined
    : new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  const add = addSecretVersionCommand(name, kind.variable);
  const fail = (message: string): never => {
    throw new kind.error(message);
  };
  let cached: { value: string; readAt: number } | undefined;
  let reading: Promise<string> | undefined;

  const read = async (): Promise<string> => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (auth) {
      const access = await auth
        .getAccessToken()
        .catch((err: unknown) =>
          fail(`Cannot get credentials to read ${kind.what} from Secret Manager: ${errorMessage(err)}`),
        );
      if (access) headers['Authorization'] = `Bearer ${access}`;
    }
    const access = () => fetch(`${base}/v1/${path}:access`, { headers, signal: AbortSignal.timeout(10_000) });
    let response: Awaited<ReturnType<typeof access>>;
    try {
      // A connection that fails before any answer (a pooled one the far side closed while the
      // instance sat idle) is tried once more on a new one; a timeout is not.
      response = await access().catch((err: unknown) => (isTimeout(err) ? Promise.reject(err) : access()));
    } catch (err) {
      return fail(`Cannot reach Secret Manager to read ${kind.what} (${path}): ${errorMessage(err)}`);
    }
    if (response.status === 404 || response.status === 400) {
      fail(
        `${capital(kind.what)} is not set: secret ${name.secret} has no enabled version "${name.version}" in project ${name.project}. Add one: ${add}`,
      );
    }
    if (response.status === 403)
      fail(
        `This service account may not read ${kind.what} (${path}): it needs roles/secretmanager.secretAccessor on the secret.`,
      );
    if (!response.ok) fail(`Secret Manager answered ${response.status} to reading ${kind.what} (${path}).`);
    const parsed = AccessResponse.safeParse(await response.json().catch(() => null));
    if (!parsed.success) return fail(`Secret Manager's answer for ${path} has no payload.`);
    const value = Buffer.from(parsed.data.payload.data, 'base64').toString('utf8').trim();
    if (!value) fail(`${capital(kind.what)} in ${path} is empty. Add a version with it: ${add}`);
    const problem = kind.check(value);
    if (problem) fail(`${capital(kind.what)} in ${path} ${problem}. Add a version with it as it is: ${add}`);
    redact(value);
    return value;
  };

  const load = (): Promise<string> =>
    (reading ??= read()
      .then((value) => {
        cached = { value, readAt: now() };
        return value;
      })
      .catch((err: unknown) => {
        // Bounded staleness: the last good value, while it is younger than `stale`.
        if (cached && now() < cached.readAt + stale) return cached.value;
        throw err;
      })
      .finally(() => (reading = undefined)));

  const provider = (async () => (cached && now() < cached.readAt + ttl ? cached.value : load())) as SecretProvider;
  provider.refresh = async (minAgeMs) => (cached && now() < cached.readAt + minAgeMs ? cached.value : load());
  return provider;
}

/** The command that stores a secret's value as a new version, from the variable holding it. */
export function addSecretVersionCommand(name: Pick<SecretVersionName, 'project' | 'secret'>, variable: string): string {
  return `printf %s "$${variable}" | gcloud secrets versions add ${name.secret} --project=${name.project} --data-file=-`;
}

/** A secret as the configuration gives it: the value, or where to read it. */
export interface Secret {
  get(): Promise<string>;
  /** Reads it again unless that was done less than `minAgeMs` ago (a rotated secret); a fixed value stays. */
  refresh(minAgeMs: number): Promise<string>;
}

export function secretFrom(
  source: string | { secret: SecretVersionName; endpoint?: string },
  kind: SecretKind,
): Secret {
  if (typeof source === 'string') return { get: async () => source, refresh: async () => source };
  const provider = secretProvider(source.secret, kind, { endpoint: source.endpoint });
  return { get: () => provider(), refresh: (minAgeMs) => provider.refresh(minAgeMs) };
}

/** The dbt Cloud token from its secret. */
export function secretTokenProvider(name: SecretVersionName, options: SecretOptions = {}): SecretProvider {
  return secretProvider(name, TOKEN_SECRET, options);
}

const isTimeout = (err: unknown): boolean =>
  err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');

const capital = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
