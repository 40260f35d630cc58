/**
 * Google Cloud's REST APIs with the caller's own credentials (application default credentials:
 * `gcloud auth application-default login`, a key in GOOGLE_APPLICATION_CREDENTIALS, or, on Cloud
 * Build and Google Cloud, the metadata server's account:
 * https://cloud.google.com/docs/authentication/application-default-credentials). What `deploy
 * verify` needs: reading a resource (GET, or the POST some APIs use to read an IAM policy), an ID
 * token for an authenticated call to a Cloud Run service, and the call itself. Every request has a
 * timeout; finding credentials is bounded too, so a machine without any (and without a metadata
 * server) is told so in seconds.
 * @module
 */
import { GoogleAuth, type AuthClient } from 'google-auth-library';
import fetch from 'node-fetch';
import { HarvesterError, errorMessage } from '../core/errors.ts';

/** The APIs and their roots (each service's discovery document). */
export const GOOGLE_APIS = {
  cloudfunctions: 'https://cloudfunctions.googleapis.com',
  run: 'https://run.googleapis.com',
  cloudscheduler: 'https://cloudscheduler.googleapis.com',
  pubsub: 'https://pubsub.googleapis.com',
  secretmanager: 'https://secretmanager.googleapis.com',
  storage: 'https://storage.googleapis.com/storage/v1',
  bigquery: 'https://bigquery.googleapis.com/bigquery/v2',
  /** Dataplex's Data Lineage API, which `lineage export --dataplex` writes events to. */
  datalineage: 'https://datalineage.googleapis.com',
} as const;
export type GoogleApi = keyof typeof GOOGLE_APIS;

/**
 * Where an API's paths start: its own host, or under one endpoint that stands in for every API
 * (tests), keeping the API's own path (`/storage/v1`, `/bigquery/v2`) so that paths stay distinct.
 */
export function apiRoot(api: GoogleApi, endpoint?: string): string {
  if (!endpoint) return GOOGLE_APIS[api];
  return `${endpoint.replace(/\/+$/, '')}${new URL(GOOGLE_APIS[api]).pathname.replace(/\/$/, '')}`;
}

/** No usable credentials, or credentials Google refuses: exit status 2, with how to log in. */
export class GoogleCredentialsError extends HarvesterError {
  constructor(message: string, cause?: unknown) {
    super('GOOGLE_CREDENTIALS', message, { cause, exitCode: 2 });
  }
}

export const LOGIN_HINT =
  'Log in with `gcloud auth application-default login` (add `--impersonate-service-account=<the deployer>` to act as the deployer), or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file; on Cloud Build, the build runs as its own service account.';

export interface ApiAnswer {
  status: number;
  /** The JSON body; null when it is not JSON. */
  json: unknown;
  /** The body's first characters, for messages. */
  text: string;
}

export interface GoogleApis {
  /** The caller, for messages (`someone@example.com`), when the credentials say. */
  readonly caller: string | null;
  /** A resource of an API: `GET {root}{path}`, or a POST for the APIs that read IAM policies so. */
  read(api: GoogleApi, path: string, options?: { method?: 'GET' | 'POST'; body?: unknown }): Promise<ApiAnswer>;
  /**
   * A call to a deployed service's URL: with an ID token for it (`authenticated`), or without any
   * identity, as dbt Cloud calls a public function.
   */
  call(url: string, options: { method: 'GET' | 'POST'; body?: unknown; authenticated: boolean }): Promise<ApiAnswer>;
}

export interface GoogleApisOptions {
  /** Tests and local stand-ins: one root for every API (GOOGLE_APIS_ENDPOINT). */
  endpoint?: string;
  /** The longest wait for credentials, and for each request (default 15 s and 30 s). */
  credentialsTimeoutMs?: number;
  requestTimeoutMs?: number;
}

const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];
/** Bodies read from Google's answers are small resources; anything past this is cut. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

function within<T>(ms: number, what: Promise<T>, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    what,
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(late()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The caller's credentials, checked by getting an access token. Throws GoogleCredentialsError,
 * within `credentialsTimeoutMs`, when there are none or Google refuses them.
 */
export async function connectGoogle(options: GoogleApisOptions = {}): Promise<GoogleApis> {
  const credentialsMs = options.credentialsTimeoutMs ?? 15_000;
  const requestMs = options.requestTimeoutMs ?? 30_000;
  const auth = new GoogleAuth({ scopes: SCOPES });
  const noCredentials = (detail: string, cause?: unknown) =>
    new GoogleCredentialsError(`No Google credentials to check the deployment with (${detail}). ${LOGIN_HINT}`, cause);
  let client: AuthClient;
  try {
    client = await within(credentialsMs, auth.getClient(), () =>
      noCredentials(`none found within ${Math.round(credentialsMs / 1000)} s, and no metadata server answered`),
    );
    await within(credentialsMs, client.getAccessToken(), () =>
      noCredentials(`no access token within ${Math.round(credentialsMs / 1000)} s`),
    );
  } catch (err) {
    if (err instanceof GoogleCredentialsError) throw err;
    throw noCredentials(errorMessage(err).split('\n')[0]!.slice(0, 300), err);
  }
  const caller = await within(5_000, auth.getCredentials(), () => new Error('no answer'))
    .then((c) => c.client_email ?? null)
    .catch(() => null);
  const root = (api: GoogleApi): string => apiRoot(api, options.endpoint);

  const bearer = async (): Promise<string> => {
    const { token } = await within(credentialsMs, client.getAccessToken(), () =>
      noCredentials('no access token in time'),
    );
    if (!token) throw noCredentials('the credentials gave no access token');
    return token;
  };

  const send = async (
    url: string,
    method: 'GET' | 'POST',
    headers: Record<string, string>,
    body: unknown,
  ): Promise<ApiAnswer> => {
    const res = await fetch(url, {
      method,
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(requestMs),
      redirect: 'manual',
    });
    const bytes: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body ?? []) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > MAX_ANSWER_BYTES) break;
      bytes.push(buf);
    }
    const text = Buffer.concat(bytes).toString('utf8');
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, json, text: text.slice(0, 500) };
  };

  return {
    caller,
    async read(api, path, opts = {}) {
      const answer = await send(
        `${root(api)}${path}`,
        opts.method ?? 'GET',
        { Authorization: `Bearer ${await bearer()}` },
        opts.body,
      );
      if (answer.status === 401)
        throw new GoogleCredentialsError(
          `Google refused the credentials${caller ? ` of ${caller}` : ''} (401 from ${api}). ${LOGIN_HINT}`,
        );
      return answer;
    },
    async call(url, opts) {
      const headers: Record<string, string> = {};
      if (opts.authenticated) headers['Authorization'] = `Bearer ${await idToken(auth, url, credentialsMs)}`;
      return send(url, opts.method, headers, opts.body);
    },
  };
}

/**
 * An ID token whose audience is the service's URL, as Cloud Run checks it
 * (https://cloud.google.com/run/docs/authenticating/service-to-service): service accounts and the
 * metadata server mint one for the audience; user credentials give the ID token of their login,
 * which Cloud Run accepts from users who may invoke the service (as `gcloud auth
 * print-identity-token` does; an audience is not honoured for them).
 */
async function idToken(auth: GoogleAuth, audience: string, timeoutMs: number): Promise<string> {
  const late = () =>
    new GoogleCredentialsError(`No ID token for ${audience} within ${Math.round(timeoutMs / 1000)} s.`);
  try {
    const client = await within(timeoutMs, auth.getIdTokenClient(audience), late);
    return await within(timeoutMs, client.idTokenProvider.fetchIdToken(audience), late);
  } catch (err) {
    if (err instanceof GoogleCredentialsError) throw err;
    throw new GoogleCredentialsError(
      `These credentials cannot make an ID token to call ${audience} (${errorMessage(err).split('\n')[0]}). ${LOGIN_HINT}`,
      err,
    );
  }
}
