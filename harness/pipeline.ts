/**
 * The deployed pipeline, on loopback, for the tests and for npm run dev: the real Pub/Sub emulator,
 * every function of the table (lib/cloud/functions.ts) in its own functions-framework process over
 * the built entry file, a topic with a push subscription to harvestRun (retry backoff, dead-letter
 * topic), pull subscriptions that keep a copy of every published message and every dead letter, and
 * a webhook subscription of the fake dbt Cloud to receiveWebhook, its secret in Secret Manager.
 * @module
 */
import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { FUNCTIONS, type FunctionName as AnyFunctionName } from '../lib/cloud/functions.ts';
import { RUN_END_EVENTS } from '../lib/dbt-cloud/webhooks.ts';
import type { FakeDbtCloud } from './fake-dbt-cloud/server.ts';
import type { FakeSubscription } from './fake-dbt-cloud/webhooks.ts';
import { startFakeSecretManager, type FakeSecretManager } from './fake-secret-manager.ts';
import { buildOnce, freePort, startFunction, startPubSubEmulator, type Started } from './services.ts';

/** The functions every pipeline serves; alertRun only with `alerts`. */
export type FunctionName = Exclude<AnyFunctionName, 'alertRun'>;

export interface PipelineOptions {
  project: string;
  fake: FakeDbtCloud;
  /** The token the fake accepts. */
  token: string;
  /** Where harvestRun stores, and the rest of the functions' environment (it overrides the defaults). */
  env: Record<string, string>;
  maxDeliveryAttempts: number;
  backoffSeconds: { min: number; max: number };
  ackDeadlineSeconds?: number;
  /** Called with each dead letter as it arrives. */
  onDeadLetter?: (m: Message) => void;
  /** Fixed ports (npm run dev): the functions on base+1 to base+4, the emulator on base+5, alertRun on base+6. */
  basePort?: number;
  /**
   * Alerts on: alertRun served, with these settings (a sink), harvestRun publishing each run stored
   * to the topic `runs-stored`, pushed to alertRun (same retry and dead-letter settings).
   */
  alerts?: Record<string, string>;
}

export interface Pipeline {
  fns: Record<FunctionName, Started> & { alertRun?: Started };
  /** Every "run stored" message (alerts on), and every one dead-lettered. */
  stored: Message[];
  storedDead: Message[];
  /** Holds the token and the webhook secret the functions read at run time, as Secret Manager does when deployed. */
  secrets: FakeSecretManager;
  /** The fake dbt Cloud's webhook subscription to receiveWebhook (its secret is in `secrets`). */
  webhook: FakeSubscription;
  /** The Secret Manager names the functions read. */
  secretNames: { token: string; webhook: string };
  pubsub: PubSub;
  /** Every message published on the runs topic (a pull subscription's copy). */
  published: Message[];
  /** Every message moved to the dead-letter topic. */
  dead: Message[];
  /** SIGKILLs harvestRun if it still runs and starts a new process behind the same URL, where the push endpoint points. */
  restartHarvestRun: () => Promise<void>;
  close: () => Promise<void>;
}

export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, text };
}

function keep(sub: Subscription, into: Message[], then?: (m: Message) => void): void {
  sub.on('message', (m: Message) => {
    into.push(m);
    m.ack();
    then?.(m);
  });
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function forward(
  port: number,
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { ...headers, host: `127.0.0.1:${port}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * What Cloud Run puts in front of a function's instances, reduced to what the tests need: a request
 * waits while no instance is up (a cold start), and a request whose instance dies answers 503.
 */
async function frontEnd(instancePort: () => number): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          const answer = await forward(instancePort(), req.method ?? 'GET', req.url ?? '/', req.headers, body);
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED' && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          res.writeHead(503, { 'Content-Type': 'text/plain' });
          res.end(`the instance was lost: ${(err as Error).message}`);
          return;
        }
      }
    })();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const built = buildOnce();
  const emulator = await startPubSubEmulator(options.project, options.basePort ? options.basePort + 5 : undefined);
  process.env['PUBSUB_EMULATOR_HOST'] = emulator.url;
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  const pubsub = new PubSub({ projectId: options.project });
  await built.catch(async (err: unknown) => {
    await pubsub.close();
    await emulator.stop();
    throw err;
  });
  // As deployed: the functions read the token and the webhook secret from Secret Manager at run time.
  const secrets = await startFakeSecretManager();
  const secretNames = {
    token: `projects/${options.project}/secrets/dbt-cloud-token`,
    webhook: `projects/${options.project}/secrets/dbt-cloud-webhook-secret`,
  };
  secrets.addVersion(secretNames.token, options.token);
  // Every function's port is known before it starts: dbt Cloud's subscription names receiveWebhook's URL.
  const served = FUNCTIONS.filter((fn) => fn.name !== 'alertRun' || options.alerts);
  const ports = await Promise.all(
    served.map((fn, i) => (options.basePort ? options.basePort + (fn.name === 'alertRun' ? 6 : 1 + i) : freePort())),
  );
  const webhookPort = ports[served.findIndex((f) => f.name === 'receiveWebhook')]!;
  const webhook = options.fake.webhooks.create({
    name: 'dbt-cloud-harvester',
    client_url: `http://127.0.0.1:${webhookPort}/`,
    event_types: [...RUN_END_EVENTS],
    job_ids: [],
  });
  secrets.addVersion(secretNames.webhook, webhook.hmac_secret);
  const env = {
    DBT_CLOUD_ACCOUNT_ID: String(options.fake.accountId),
    DBT_CLOUD_TOKEN_SECRET: secretNames.token,
    DBT_CLOUD_WEBHOOK_SECRET_NAME: secretNames.webhook,
    SECRET_MANAGER_API_ENDPOINT: secrets.url,
    DBT_CLOUD_HOST: options.fake.url,
    DBT_CLOUD_REQUESTS_PER_MINUTE: '600000',
    RUNS_TOPIC: `projects/${options.project}/topics/dbt-runs`,
    PUBSUB_EMULATOR_HOST: emulator.url,
    // Off Google Cloud: no probe of the metadata server (and no MetadataLookupWarning).
    METADATA_SERVER_DETECTION: 'none',
    GOOGLE_CLOUD_PROJECT: options.project,
    LOG_LEVEL: 'DEBUG',
    ...(options.alerts
      ? { RUN_STORED_TOPIC: `projects/${options.project}/topics/runs-stored`, ...options.alerts }
      : {}),
    ...options.env,
  };
  const started = await Promise.allSettled(served.map((fn, i) => startFunction(fn.name, env, ports[i])));
  const failure = started.find((s) => s.status === 'rejected');
  if (failure) {
    // Leave no emulator or function behind when the pipeline cannot start.
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    await pubsub.close();
    await emulator.stop();
    await secrets.stop();
    throw failure.reason;
  }
  const processes = Object.fromEntries(
    served.map((fn, i) => [fn.name, (started[i] as PromiseFulfilledResult<Started>).value]),
  ) as Record<FunctionName, Started> & { alertRun?: Started };

  // harvestRun may be killed and replaced: one handle over every process it has been, behind one URL.
  const instances: Started[] = [processes.harvestRun];
  const latest = (): Started => instances[instances.length - 1]!;
  const front = await frontEnd(() => latest().port);

  const [topic] = await pubsub.createTopic('dbt-runs');
  const [deadTopic] = await pubsub.createTopic('dbt-runs-dead');
  await topic.createSubscription('harvest-push', {
    pushConfig: { pushEndpoint: `${front.url}/` },
    ackDeadlineSeconds: options.ackDeadlineSeconds ?? 60,
    deadLetterPolicy: { deadLetterTopic: deadTopic.name, maxDeliveryAttempts: options.maxDeliveryAttempts },
    retryPolicy: {
      minimumBackoff: { seconds: options.backoffSeconds.min },
      maximumBackoff: { seconds: options.backoffSeconds.max },
    },
  });
  const [audit] = await topic.createSubscription('audit');
  const [deadSub] = await deadTopic.createSubscription('dead-letters');
  const published: Message[] = [];
  const dead: Message[] = [];
  keep(audit, published);
  keep(deadSub, dead, options.onDeadLetter);
  const stored: Message[] = [];
  const storedDead: Message[] = [];
  if (processes.alertRun) {
    const [storedTopic] = await pubsub.createTopic('runs-stored');
    const [storedDeadTopic] = await pubsub.createTopic('runs-stored-dead');
    await storedTopic.createSubscription('alert-push', {
      pushConfig: { pushEndpoint: `${processes.alertRun.url}/` },
      ackDeadlineSeconds: options.ackDeadlineSeconds ?? 60,
      deadLetterPolicy: { deadLetterTopic: storedDeadTopic.name, maxDeliveryAttempts: options.maxDeliveryAttempts },
      retryPolicy: {
        minimumBackoff: { seconds: options.backoffSeconds.min },
        maximumBackoff: { seconds: options.backoffSeconds.max },
      },
    });
    const [storedAudit] = await storedTopic.createSubscription('stored-audit');
    const [storedDeadSub] = await storedDeadTopic.createSubscription('stored-dead-letters');
    keep(storedAudit, stored);
    keep(storedDeadSub, storedDead);
  }

  const fns: Pipeline['fns'] = {
    ...processes,
    harvestRun: {
      url: front.url,
      port: Number(new URL(front.url).port),
      output: () => instances.map((i) => i.output()).join(''),
      stop: () => latest().stop(),
      kill: () => latest().kill(),
    },
  };
  return {
    fns,
    secrets,
    webhook,
    secretNames,
    pubsub,
    published,
    dead,
    stored,
    storedDead,
    restartHarvestRun: async () => {
      await latest().kill();
      instances.push(await startFunction('harvestRun', env));
    },
    close: async () => {
      await pubsub.close();
      await Promise.all(
        served
          .filter((fn) => fn.name !== 'alertRun')
          .map((fn) => (fn.name === 'harvestRun' ? latest() : processes[fn.name as FunctionName]).stop()),
      );
      await processes.alertRun?.stop();
      await front.close();
      await emulator.stop();
      await secrets.stop();
    },
  };
}
