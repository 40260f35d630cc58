/**
 * webhook register|list|delete|test: dbt Cloud's webhook subscriptions for receiveWebhook, through
 * the same client as every other command (API v3), and a signed sample to check a receiver.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, unlink } from 'node:fs/promises';
import { OPTIONS } from '../../config/options.ts';
import { anyText, fromParser, jobIdList, positiveInt } from '../../config/text-values.ts';
import { InputError, errorMessage } from '../../core/errors.ts';
import { DbtCloudHttpError } from '../../dbt-cloud/dbt-cloud-errors.ts';
import { RUN_END_EVENTS, signWebhook, type WebhookSubscription } from '../../dbt-cloud/webhooks.ts';
import { redact } from '../../log.ts';
import { arg, dbtCloud, clientOptions, commandConfig, defineCommand, type Command } from '../command.ts';

const _USER_AGENT = 'dbt-cloud-harvester-cli';

/** https, or http on loopback (a receiver under npm run dev), without credentials. */
const receiverUrl = fromParser((value: string): string | { problem: string } => {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return { problem: `"${value}" is not a URL` };
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    return { problem: `must be https (dbt Cloud sends webhooks over https only), not ${url.protocol}//` };
  if (url.username || url.password)
    return { problem: 'must not carry credentials: the signature authenticates each delivery' };
  return url.toString();
});

const URL_ARG = arg.text(receiverUrl, 'the receiveWebhook URL (https, or http on loopback)', {
  placeholder: 'URL',
  required: '--url URL is required: the receiveWebhook URL (README: Webhooks)',
});

function describe(sub: WebhookSubscription): Record<string, unknown> {
  return {
    id: sub.id,
    name: sub.name ?? null,
    url: sub.client_url,
    events: sub.event_types ?? [],
    jobIds: sub.job_ids ?? [],
    active: sub.active ?? null,
    lastStatus: sub.http_status_code ?? null,
  };
}

/**
 * A new file only its owner may read, for the secret: opened before the subscription is created, so
 * that a path that cannot take it fails first (the secret is shown only once). Never an existing file.
 */
async function secretFileFor(
  path: string,
): Promise<{ write: (secret: string) => Promise<void>; abandon: () => Promise<void> }> {
  const handle = await open(path, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`Cannot create --secret-file ${path}`, [
      err.code === 'EEXIST'
        ? 'it exists; the secret is never written over a file (remove it, or name another)'
        : errorMessage(err),
    ]);
  });
  return {
    write: async (secret) => {
      try {
        await handle.writeFile(secret);
      } finally {
        await handle.close();
      }
    },
    abandon: async () => {
      await handle.close();
      await unlink(path).catch(() => undefined);
    },
  };
}

export const webhookRegister = defineCommand({
  name: 'webhook register',
  summary: 'subscribe receiveWebhook to the runs that end (prints the secret once)',
  usage: `--url URL [--job-id J ...] [--name NAME] [--secret-file FILE]`,
  description: `Creates a dbt Cloud webhook subscription that sends ${RUN_END_EVENTS.join(' and ')} to URL, for
the jobs given (default: HARVEST_JOB_IDS if set, else every job of the account).
dbt Cloud shows the subscription's secret once, now. It is printed in the "secret" field of the
answer, or, with --secret-file, written to a new file only you can read, and nowhere else. Put it
into the deployment's Secret Manager secret (README: Webhooks):
  gcloud secrets versions add PREFIX-dbt-cloud-webhook-secret --data-file=FILE
Exit status: 0 created; 1 dbt Cloud refused; 2 bad usage.`,
  dbtCloud: true,
  settings: [],
  args: {
    url: URL_ARG,
    'job-id': arg.text(jobIdList, 'only this job (repeatable, or comma-separated)', {
      placeholder: 'J',
      multiple: true,
    }),
    name: arg.text(
      anyText.transform((s) => s.trim()).refine((s) => s.length > 0 && s.length <= 255, 'must be 1 to 255 characters'),
      'the subscription name (default dbt-cloud-harvester)',
      { placeholder: 'NAME' },
    ),
    'secret-file': arg.path('file-to-write', 'write the secret to this new file (mode 600) instead of printing it', {
      placeholder: 'FILE',
    }),
  },
  async run(ctx) {
    const { io, args } = ctx;
    const url = args.url;
    const jobIds = args['job-id']?.flat();
    const name = args.name ?? 'dbt-cloud-harvester';
    const secretFile = args['secret-file'];
    const config = commandConfig(ctx, { needs: ['dbtCloud'] });
    const file = secretFile !== undefined ? await secretFileFor(secretFile) : undefined;
    const client = await dbtCloud(config.dbtCloud, clientOptions(io, config));
    let kept = false;
    try {
      const created = await client.createWebhookSubscription({
        name,
        description: 'dbt-cloud-harvester: harvest each run as it ends',
        client_url: url,
        event_types: RUN_END_EVENTS,
        job_ids: jobIds ?? config.scope.jobIds ?? [],
        active: true,
      });
      const secret = created.hmac_secret ?? undefined;
      if (!secret) {
        io.stdout(`${JSON.stringify(describe(created))}\n`);
        io.stderr(
          `dbt Cloud created subscription ${created.id} but sent no secret: delete it (webhook delete ${created.id}) and register again.\n`,
        );
        return 1;
      }
      if (file) {
        redact(secret);
        await file.write(secret);
        kept = true;
        io.stdout(`${JSON.stringify({ ...describe(created), secretFile })}\n`);
        io.stderr(
          `The secret is in ${secretFile} (shown nowhere else). Store it, then remove the file:\n  gcloud secrets versions add PREFIX-dbt-cloud-webhook-secret --data-file=${secretFile} && rm ${secretFile}\n`,
        );
      } else {
        // The one output that carries a secret, as asked: printed before the secret is registered
        // with the scrubber, which then keeps it out of everything written after.
        io.stdout(`${JSON.stringify({ ...describe(created), secret })}\n`);
        redact(secret);
        io.stderr(
          'The "secret" above is shown this once; dbt Cloud will not show it again. Store it in the deployment\'s secret (README: Webhooks).\n',
        );
      }
      return 0;
    } finally {
      if (file && !kept) await file.abandon();
      client.close();
    }
  },
});

export const webhookList = defineCommand({
  name: 'webhook list',
  summary: "list the account's webhook subscriptions",
  usage: '',
  description: `Prints each webhook subscription of the account, one JSON line each (never its secret).
Exit status: 0 listed; 1 dbt Cloud refused; 2 bad usage.`,
  dbtCloud: true,
  settings: [],
  args: {},
  async run(ctx) {
    const { io } = ctx;
    const config = commandConfig(ctx, { needs: ['dbtCloud'] });
    const client = await dbtCloud(config.dbtCloud, clientOptions(io, config));
    try {
      const subs = await client.listWebhookSubscriptions();
      for (const sub of subs) io.stdout(`${JSON.stringify(describe(sub))}\n`);
      if (subs.length === 0 && io.isTTY) io.stderr('no webhook subscriptions\n');
      return 0;
    } finally {
      client.close();
    }
  },
});

export const webhookDelete = defineCommand({
  name: 'webhook delete',
  summary: 'delete a webhook subscription',
  usage: 'ID',
  description: `Deletes the webhook subscription ID (as webhook list prints it). The hourly dispatch still harvests every run.
Exit status: 0 deleted; 1 dbt Cloud refused or has no such subscription; 2 bad usage.`,
  dbtCloud: true,
  settings: [],
  args: {
    id: arg.text(
      anyText.refine(
        (s) => /^[A-Za-z0-9_-]{1,100}$/.test(s),
        'must be a subscription id as webhook list shows it, such as wsu_12345abcde',
      ),
      'the subscription',
      {
        position: 0,
        placeholder: 'ID',
        required: 'name one subscription id: webhook delete ID (webhook list shows them)',
      },
    ),
  },
  async run(ctx) {
    const { io } = ctx;
    const id = ctx.args.id;
    const config = commandConfig(ctx, { needs: ['dbtCloud'] });
    const client = await dbtCloud(config.dbtCloud, clientOptions(io, config));
    try {
      await client.deleteWebhookSubscription(id);
      io.stdout(`${JSON.stringify({ deleted: id })}\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof DbtCloudHttpError && err.status === 404)) throw err;
      io.stderr(`no webhook subscription ${id} in account ${config.dbtCloud.accountId} (webhook list shows them)\n`);
      return 1;
    } finally {
      client.close();
    }
  },
});

/** The secret in --secret-file, trimmed. */
async function readSecretFile(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: unknown) => {
    throw new InputError(`Cannot read --secret-file ${file}`, [errorMessage(err)]);
  });
  const secret = text.trim();
  if (!secret)
    throw new InputError(`--secret-file ${file} is empty`, ['it should hold the secret webhook register printed']);
  redact(secret);
  return secret;
}

export const webhookTest = defineCommand({
  name: 'webhook test',
  summary: 'send a signed sample event to a receiver',
  usage: '--url URL [--secret-file FILE] [--run-id R]',
  description: `Sends URL an event signed as dbt Cloud signs it, with the secret in FILE or in DBT_CLOUD_WEBHOOK_SECRET
(or DBT_CLOUD_WEBHOOK_SECRET_NAME), and prints the answer. By default the event is job.run.started,
which a receiver checks and ignores (200): the signature and the URL work. With --run-id R, it is
job.run.completed for run R, as dbt Cloud would send it (the run is read from dbt Cloud): the
receiver publishes it and the run is harvested.
Exit status: 0 the receiver answered 2xx; 1 it did not; 2 bad usage.`,
  dbtCloud: true,
  settings: [],
  args: {
    url: URL_ARG,
    'secret-file': arg.path('file-to-read', 'a file holding the subscription secret', { placeholder: 'FILE' }),
    'run-id': arg.text(positiveInt(), 'send job.run.completed for this run', { placeholder: 'R' }),
  },
  async run(ctx) {
    const { io, args } = ctx;
    const { url, 'run-id': runId, 'secret-file': file } = args;
    const needs: ('dbtCloud' | 'accountId' | 'webhookSecret')[] = [
      runId !== undefined ? 'dbtCloud' : 'accountId',
      ...(file === undefined ? (['webhookSecret'] as const) : []),
    ];
    const config = commandConfig(ctx, {
      needs,
      missing: {
        webhookSecret: `the secret is required: --secret-file FILE, or ${OPTIONS.webhookSecret.variable} (or ${OPTIONS.webhookSecretName.variable})`,
      },
    });
    const secret = file !== undefined ? await readSecretFile(file) : await secretOf(config.webhookSecret!);
    let data: Record<string, unknown> = {
      jobId: '0',
      runId: '0',
      runStatus: 'Running',
      runStatusCode: 3,
      jobName: 'dbt-harvester webhook test',
    };
    let eventType = 'job.run.started';
    if (runId !== undefined) {
      const client = await dbtCloud(config.dbtCloud!, clientOptions(io, config));
      try {
        const run = await client.getRun(runId, []);
        if (!run.finished_at)
          throw new InputError(`Run ${runId} has not finished`, [
            'dbt Cloud sends job.run.completed when it ends; test with a run that has',
          ]);
        eventType = 'job.run.completed';
        const status = run.status;
        data = {
          jobId: String(run.job_definition_id),
          runId: String(run.id),
          environmentId: run.environment_id != null ? String(run.environment_id) : undefined,
          projectId: run.project_id != null ? String(run.project_id) : undefined,
          runStatus: status === 10 ? 'Success' : status === 30 ? 'Cancelled' : 'Errored',
          runStatusCode: status,
          runFinishedAt: run.finished_at,
        };
      } finally {
        client.close();
      }
    }
    const body = JSON.stringify({
      accountId: config.accountId,
      eventId: `wev_test_${randomUUID()}`,
      timestamp: new Date().toISOString(),
      eventType,
      webhookId: 'wsu_dbt_harvester_test',
      webhookName: 'dbt-harvester webhook test',
      data,
    });
    let status: number;
    let answer: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: signWebhook(secret, body) },
        body,
        signal: AbortSignal.timeout(30_000),
      });
      status = res.status;
      answer = (await res.text()).slice(0, 2000);
    } catch (err) {
      io.stderr(`no answer from ${url}: ${errorMessage(err)}\n`);
      return 1;
    }
    io.stdout(`${JSON.stringify({ url, eventType, status, answer: parseOr(answer) })}\n`);
    if (status === 401) io.stderr('the receiver refused the signature: is it configured with the same secret?\n');
    return status >= 200 && status < 300 ? 0 : 1;
  },
});

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export const WEBHOOK_COMMANDS: readonly Command[] = [webhookRegister, webhookList, webhookDelete, webhookTest];

/** The webhook secret from its variable or Secret Manager (whose client loads only then). */
async function secretOf(
  source: Parameters<typeof import('../../secrets/secret-manager.ts').secretFrom>[0],
): Promise<string> {
  const { WEBHOOK_SECRET, secretFrom } = await import('../../secrets/secret-manager.ts');
  return secretFrom(source, WEBHOOK_SECRET).get();
}
