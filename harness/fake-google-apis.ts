/**
 * A Google Cloud project with the harvester deployed in it, as Google's REST APIs describe it
 * (Cloud Functions v2, Cloud Run v2, Cloud Scheduler v1, Pub/Sub v1, Secret Manager v1, the Cloud
 * Storage JSON API, BigQuery v2), for `deploy verify`'s tests: a model of the resources, with the
 * names terraform/ gives them and the fields those APIs answer, that a test breaks one way at a time;
 * and a loopback server answering the APIs' GETs from it (an access token required), with a Cloud
 * Run front before each function that lets a call through only with an ID token for the service's
 * URL, or with none for a service open to allUsers, as Cloud Run does
 * (https://cloud.google.com/run/docs/authenticating/service-to-service).
 * @module
 */
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  BIGQUERY_TABLES,
  FUNCTION_SLUGS,
  type DeployedFunction,
  type DeploymentNames,
} from '../lib/core/deployment.ts';
import { apiRoot, type ApiAnswer, type GoogleApis } from '../lib/google/apis.ts';

type Json = Record<string, unknown>;

export interface ProjectModel {
  names: DeploymentNames;
  functions: Map<string, Json>;
  services: Map<string, Json>;
  /** Who may invoke each service (its run.invoker members), by service name. */
  invokers: Map<string, Set<string>>;
  jobs: Map<string, Json>;
  topics: Map<string, Json>;
  subscriptions: Map<string, Json>;
  secrets: Map<string, { secret: Json; versions: Json[]; policy: Json }>;
  buckets: Map<string, { bucket: Json; policy: Json }>;
  datasets: Map<string, { dataset: Json; tables: Set<string> }>;
}

export interface DeployedOptions {
  /** Where each function's Cloud Run service answers. */
  uri: (fn: DeployedFunction) => string;
  webhooks?: boolean;
  bucket?: string;
  dataset?: string;
}

/** A healthy deployment, as one terraform apply leaves it once the secrets have their values. */
export function deployedProject(n: DeploymentNames, options: DeployedOptions): ProjectModel {
  const where = `projects/${n.project}/locations/${n.region}`;
  const bucket = options.bucket ?? n.defaultBucket;
  const model: ProjectModel = {
    names: n,
    functions: new Map(),
    services: new Map(),
    invokers: new Map(),
    jobs: new Map(),
    topics: new Map(),
    subscriptions: new Map(),
    secrets: new Map(),
    buckets: new Map(),
    datasets: new Map(),
  };
  for (const name of Object.keys(FUNCTION_SLUGS) as DeployedFunction[]) {
    if (name === 'receiveWebhook' && options.webhooks === false) continue;
    const fn = n.functions[name];
    const service = `${where}/services/${fn}`;
    const uri = options.uri(name);
    model.functions.set(`${where}/functions/${fn}`, {
      name: `${where}/functions/${fn}`,
      state: 'ACTIVE',
      environment: 'GEN_2',
      url: uri,
      serviceConfig: {
        service,
        uri,
        revision: `${fn}-00001-abc`,
        serviceAccountEmail: n.accounts[name],
        environmentVariables:
          name === 'harvestRun' ? { ARTIFACTS_DESTINATION: `gs://${bucket}/dbt`, LOG_EXECUTION_ID: 'true' } : {},
      },
    });
    const revision = `${service}/revisions/${fn}-00001-abc`;
    model.services.set(service, {
      name: service,
      uri,
      generation: '1',
      observedGeneration: '1',
      reconciling: false,
      terminalCondition: { type: 'Ready', state: 'CONDITION_SUCCEEDED' },
      latestReadyRevision: revision,
      latestCreatedRevision: revision,
    });
    const invokers =
      name === 'dispatchHourly'
        ? [`serviceAccount:${n.accounts.scheduler}`]
        : name === 'harvestRun'
          ? [`serviceAccount:${n.accounts.push}`]
          : name === 'receiveWebhook'
            ? ['allUsers']
            : [];
    model.invokers.set(service, new Set(invokers));
  }
  const dispatch = model.functions.get(`${where}/functions/${n.functions.dispatchHourly}`)!;
  const harvest = model.functions.get(`${where}/functions/${n.functions.harvestRun}`)!;
  const uriOf = (fn: Json) => (fn['serviceConfig'] as Json)['uri'] as string;
  model.jobs.set(`${where}/jobs/${n.schedulerJob}`, {
    name: `${where}/jobs/${n.schedulerJob}`,
    schedule: '10 * * * *',
    timeZone: 'Etc/UTC',
    state: 'ENABLED',
    httpTarget: {
      uri: uriOf(dispatch),
      httpMethod: 'POST',
      oidcToken: { serviceAccountEmail: n.accounts.scheduler, audience: uriOf(dispatch) },
    },
  });
  const topic = (id: string) => `projects/${n.project}/topics/${id}`;
  for (const id of [n.runsTopic, n.deadLetterTopic]) model.topics.set(topic(id), { name: topic(id) });
  const subscription = `projects/${n.project}/subscriptions/${n.pushSubscription}`;
  model.subscriptions.set(subscription, {
    name: subscription,
    topic: topic(n.runsTopic),
    state: 'ACTIVE',
    pushConfig: {
      pushEndpoint: uriOf(harvest),
      oidcToken: { serviceAccountEmail: n.accounts.push, audience: uriOf(harvest) },
    },
    deadLetterPolicy: { deadLetterTopic: topic(n.deadLetterTopic), maxDeliveryAttempts: 100 },
  });
  const secret = (id: string, readers: DeployedFunction[]) => {
    const name = `projects/${n.project}/secrets/${id}`;
    model.secrets.set(name, {
      secret: { name, replication: { automatic: {} } },
      versions: [{ name: `${name}/versions/1`, state: 'ENABLED' }],
      policy: {
        version: 1,
        bindings: [
          {
            role: 'roles/secretmanager.secretAccessor',
            members: readers.map((r) => `serviceAccount:${n.accounts[r]}`),
          },
        ],
      },
    });
  };
  secret(n.tokenSecret, ['dispatchHourly', 'backfill', 'harvestRun']);
  if (options.webhooks !== false) secret(n.webhookSecret, ['receiveWebhook']);
  model.buckets.set(bucket, {
    bucket: { name: bucket, location: 'EUROPE-WEST1' },
    policy: {
      version: 3,
      bindings: [
        { role: 'roles/storage.objectCreator', members: [`serviceAccount:${n.accounts.harvestRun}`] },
        { role: 'roles/storage.objectViewer', members: [`serviceAccount:${n.accounts.harvestRun}`] },
      ],
    },
  });
  const dataset = options.dataset ?? 'dbt_artifacts';
  model.datasets.set(`projects/${n.project}/datasets/${dataset}`, {
    dataset: { id: `${n.project}:${dataset}` },
    tables: new Set(BIGQUERY_TABLES),
  });
  return model;
}

export interface Answer {
  status: number;
  json: unknown;
}

const notFound = (what: string): Answer => ({
  status: 404,
  json: { error: { code: 404, message: `${what} not found`, status: 'NOT_FOUND' } },
});

/** What the APIs answer to a read of `path` (the API's root stripped), as the model has it. */
export function answer(model: ProjectModel, path: string): Answer {
  const url = new URL(path, 'http://x');
  const p = decodeURIComponent(url.pathname);
  const found = (map: Map<string, Json>, key: string): Answer =>
    map.has(key) ? { status: 200, json: map.get(key) } : notFound(key);
  const routes: [RegExp, (m: RegExpExecArray) => Answer][] = [
    [/^\/v2\/(projects\/[^/]+\/locations\/[^/]+\/functions\/[^/]+)$/, (m) => found(model.functions, m[1]!)],
    [/^\/v2\/(projects\/[^/]+\/locations\/[^/]+\/services\/[^/]+)$/, (m) => found(model.services, m[1]!)],
    [/^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/]+)$/, (m) => found(model.jobs, m[1]!)],
    [/^\/v1\/(projects\/[^/]+\/topics\/[^/]+)$/, (m) => found(model.topics, m[1]!)],
    [/^\/v1\/(projects\/[^/]+\/subscriptions\/[^/]+)$/, (m) => found(model.subscriptions, m[1]!)],
    [
      /^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+)(\/versions|:getIamPolicy)?$/,
      (m) => {
        const s = model.secrets.get(m[1]!);
        if (!s) return notFound(m[1]!);
        if (m[2] === '/versions') return { status: 200, json: s.versions.length ? { versions: s.versions } : {} };
        if (m[2] === ':getIamPolicy') return { status: 200, json: s.policy };
        return { status: 200, json: s.secret };
      },
    ],
    [
      /^\/storage\/v1\/b\/([^/]+)(\/iam)?$/,
      (m) => {
        const b = model.buckets.get(m[1]!);
        if (!b) return notFound(`bucket ${m[1]}`);
        if (m[2] && url.searchParams.get('optionsRequestedPolicyVersion') !== '3')
          return { status: 400, json: { error: { message: 'policy version 3 required for conditions' } } };
        return { status: 200, json: m[2] ? b.policy : b.bucket };
      },
    ],
    [
      /^\/bigquery\/v2\/(projects\/[^/]+\/datasets\/[^/]+)(?:\/tables\/([^/]+))?$/,
      (m) => {
        const d = model.datasets.get(m[1]!);
        if (!d) return notFound(m[1]!);
        if (m[2] === undefined) return { status: 200, json: d.dataset };
        return d.tables.has(m[2]) ? { status: 200, json: { id: m[2], type: 'EXTERNAL' } } : notFound(`table ${m[2]}`);
      },
    ],
  ];
  for (const [re, route] of routes) {
    const m = re.exec(p);
    if (m) return route(m);
  }
  return { status: 404, json: { error: { code: 404, message: `no such API path ${p}` } } };
}

/** What a deployed function answers to a call (`deploy verify`'s probes), in memory. */
export type Probe = (url: string, options: { method: string; body?: unknown; authenticated: boolean }) => ApiAnswer;

/** The APIs over the model in this process (no HTTP), recording every read and call. */
export function modelApis(
  model: ProjectModel,
  probe: Probe,
  caller = `${model.names.prefix}-deployer@${model.names.project}.iam.gserviceaccount.com`,
): GoogleApis & { reads: string[]; calls: unknown[] } {
  const reads: string[] = [];
  const calls: unknown[] = [];
  return {
    caller,
    reads,
    calls,
    async read(api, path, options = {}) {
      reads.push(`${options.method ?? 'GET'} ${api} ${path}`);
      const a = answer(model, `${new URL(apiRoot(api)).pathname.replace(/\/$/, '')}${path}`);
      return { status: a.status, json: a.json, text: JSON.stringify(a.json) };
    },
    async call(url, options) {
      calls.push({ url, ...options });
      return probe(url, options);
    },
  };
}

export interface FakeGoogleApis {
  /** The root every API answers under (GOOGLE_APIS_ENDPOINT). */
  url: string;
  /** Where a function's service answers: its URL behind the Cloud Run front. */
  serviceUrl: (fn: DeployedFunction) => string;
  model: ProjectModel;
  /** Every request: method and path, API reads and calls to the services. */
  requests: { method: string; path: string }[];
  close(): Promise<void>;
}

export interface FakeGoogleApisOptions {
  names: DeploymentNames;
  /** The access token the APIs accept. */
  accessToken: string;
  /** Where each function itself listens (behind the front). */
  backends: Partial<Record<DeployedFunction, string>>;
  webhooks?: boolean;
}

/** The payload of a JWT, or null. */
function jwtPayload(token: string): Json | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Json;
  } catch {
    return null;
  }
}

export async function startFakeGoogleApis(options: FakeGoogleApisOptions): Promise<FakeGoogleApis> {
  const requests: { method: string; path: string }[] = [];
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const serviceUrl = (fn: DeployedFunction) => `${base}/__run/${options.names.functions[fn]}`;
  const model = deployedProject(options.names, {
    uri: serviceUrl,
    ...(options.webhooks !== undefined ? { webhooks: options.webhooks } : {}),
  });
  const byService = new Map(
    (Object.keys(FUNCTION_SLUGS) as DeployedFunction[]).map((fn) => [options.names.functions[fn], fn]),
  );
  const json = (res: ServerResponse, a: Answer) =>
    res.writeHead(a.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(a.json));

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', path });
    const front = /^\/__run\/([^/?]+)(.*)$/.exec(path);
    if (front) {
      void (async () => {
        const service = front[1]!;
        const fn = byService.get(service);
        const where = `projects/${options.names.project}/locations/${options.names.region}/services/${service}`;
        const backend = fn ? options.backends[fn] : undefined;
        const deployed = model.services.get(where);
        if (!fn || !backend || !deployed) return void res.writeHead(404).end('<html>Not Found</html>');
        const invokers = model.invokers.get(where) ?? new Set();
        const token = /^Bearer (.+)$/.exec(req.headers['authorization'] ?? '')?.[1];
        if (!invokers.has('allUsers')) {
          // Cloud Run: no token, 403; a token for another audience, 401.
          if (!token) return void res.writeHead(403, { 'Content-Type': 'text/html' }).end('<html>Forbidden</html>');
          if (jwtPayload(token)?.['aud'] !== serviceUrl(fn))
            return void res.writeHead(401, { 'Content-Type': 'text/html' }).end('<html>Unauthorized</html>');
        }
        const body: Buffer[] = [];
        for await (const chunk of req) body.push(chunk as Buffer);
        const target = new URL(backend);
        const headers = { ...req.headers, host: target.host };
        const forwarded = httpRequest(
          { host: target.hostname, port: target.port, method: req.method, path: front[2] || '/', headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forwarded.on('error', () => res.writeHead(503).end('<html>Service Unavailable</html>'));
        forwarded.end(Buffer.concat(body));
      })();
      return;
    }
    if (req.headers['authorization'] !== `Bearer ${options.accessToken}`)
      return json(res, {
        status: 401,
        json: { error: { code: 401, message: 'Request had invalid authentication credentials.' } },
      });
    if (req.method !== 'GET') return json(res, { status: 405, json: { error: { message: 'only reads here' } } });
    json(res, answer(model, path));
  });

  return {
    url: base,
    serviceUrl,
    model,
    requests,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
