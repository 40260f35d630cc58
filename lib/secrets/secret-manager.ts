/**
 * The dbt Cloud token from Secret Manager, read at run time and cached: a deployment needs no
 * secret version to start, answers a clear error until one exists, and picks up a rotated token
 * within the cache's lifetime, with no redeploy.
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

/** The token cannot be read: no version yet, no permission, or Secret Manager unreachable. */
export class TokenUnavailableError extends HarvesterError {
  constructor(message: string) {
    super('TOKEN_UNAVAILABLE', message);
  }
}

export interface TokenProvider {
  (): Promise<string>;
}

export interface SecretTokenOptions {
  /** How long a read token is used before it is read again (default 5 minutes). */
  ttlMs?: number;
  /** Tests and emulators only: a Secret Manager REST endpoint, called without credentials. */
  endpoint?: string;
  now?: () => number;
}

const AccessResponse = z.object({ name: z.string().optional(), payload: z.object({ data: z.string() }) });

export function secretTokenProvider(name: SecretVersionName, options: SecretTokenOptions = {}): TokenProvider {
  const ttl = options.ttlMs ?? 300_000;
  const now = options.now ?? Date.now;
  const base = (options.endpoint ?? 'https://secretmanager.googleapis.com').replace(/\/+$/, '');
  const path = `projects/${name.project}/secrets/${name.secret}/versions/${name.version}`;
  const auth = options.endpoint ? undefined : new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  const add = `printf %s "$DBT_CLOUD_TOKEN" | gcloud secrets versions add ${name.secret} --project=${name.project} --data-file=-`;
  let cached: { token: string; until: number } | undefined;
  let reading: Promise<string> | undefined;

  const read = async (): Promise<string> => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (auth) {
      const access = await auth.getAccessToken().catch((err: unknown) => {
        throw new TokenUnavailableError(`Cannot get credentials to read the dbt Cloud token from Secret Manager: ${errorMessage(err)}`);
      });
      if (access) headers['Authorization'] = `Bearer ${access}`;
    }
    let response;
    try {
      response = await fetch(`${base}/v1/${path}:access`, { headers, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new TokenUnavailableError(`Cannot reach Secret Manager to read the dbt Cloud token (${path}): ${errorMessage(err)}`);
    }
    if (response.status === 404 || response.status === 400) {
      throw new TokenUnavailableError(`The dbt Cloud token is not set: secret ${name.secret} has no enabled version "${name.version}" in project ${name.project}. Add one: ${add}`);
    }
    if (response.status === 403) throw new TokenUnavailableError(`This service account may not read the dbt Cloud token (${path}): it needs roles/secretmanager.secretAccessor on the secret.`);
    if (!response.ok) throw new TokenUnavailableError(`Secret Manager answered ${response.status} to reading the dbt Cloud token (${path}).`);
    const parsed = AccessResponse.safeParse(await response.json().catch(() => null));
    if (!parsed.success) throw new TokenUnavailableError(`Secret Manager's answer for ${path} has no payload.`);
    const token = Buffer.from(parsed.data.payload.data, 'base64').toString('utf8').trim();
    if (!token) throw new TokenUnavailableError(`The dbt Cloud token in ${path} is empty. Add a version with the token: ${add}`);
    if (!/^[\x21-\x7e]+$/.test(token)) throw new TokenUnavailableError(`The dbt Cloud token in ${path} has spaces, control or non-ASCII characters, which no dbt Cloud token has. Add a version with the token as it is: ${add}`);
    redact(token);
    return token;
  };

  return async () => {
    if (cached && now() < cached.until) return cached.token;
    reading ??= read()
      .then((token) => {
        cached = { token, until: now() + ttl };
        return token;
      })
      .finally(() => (reading = undefined));
    return reading;
  };
}
