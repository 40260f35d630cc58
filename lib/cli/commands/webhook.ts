/**
 * webhook register|list|delete|test: dbt Cloud's webhook subscriptions for receiveWebhook, through
 * the same client as every other command (API v3), and a signed sample to check a receiver.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, unlink } from 'node:fs/promises';
import { loadConfig } from '../../config/load.ts';
import { OPTIONS } from '../../config/options.ts';
import { InputError, errorMessage } from '../../core/errors.ts';
import { DbtCloudHttpError } from '../../dbt-cloud/errors.ts';
import { RUN_END_EVENTS, signWebhook, type WebhookSubscription } from '../../dbt-cloud/webhooks.ts';
import { connectDbtCloud } from '../../harvest/connect.ts';
import { redact } from '../../log.ts';
import { WEBHOOK_SECRET, secretFrom } from '../../secrets/secret-manager.ts';
import { Usage, cliLogger, type Command, type FlagValues } from '../command.ts';

const USER_AGENT = 'dbt-cloud-harvester-cli';

/** https, or http on loopback (a receiver under npm run dev). */
function receiverUrl(usage: Usage, value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.trim()) {
    usage.problems.push('--url URL is required: the receiveWebhook URL (terraform output webhook_url)');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    usage.problems.push(`--url "${value}" is not a URL`);
    return undefined;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    usage.problems.push(`--url must be https (dbt Cloud sends webhooks over https only), not ${url.protocol}//`);
    return undefined;
  }
  if (url.username || url.password) {
    usage.problems.push('--url must not carry credentials: the signature authenticates each delivery');
    return undefined;
  }
  return url.toString();
}

function jobIdsOf(usage: Usage, value: FlagValues[string]): number[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [String(value)];
  return list
    .flatMap((v) => v.split(','))
    .map((v) => usage.positive('job-id', v.trim()))
    .filter((n): n is number => n !== undefined);
}

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

export const webhookRegister: Command = {
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
    url: { type: 'string', placeholder: 'URL', describe: 'the receiveWebhook URL (https)' },
    'job-id': { type: 'string', multiple: true, placeholder: 'J', describe: 'only this job (repeatable)' },
    name: { type: 'string', placeholder: 'NAME', describe: 'the subscription name (default dbt-cloud-harvester)' },
    'secret-file': {
      type: 'string',
      placeholder: 'FILE',
      describe: 'write the secret to this new file (mode 600) instead of printing it',
    },
  },
  positionals: false,
  async run({ io, flags }) {
    const usage = new Usage();
    const url = receiverUrl(usage, flags['url']);
    const jobIds = jobIdsOf(usage, flags['job-id']);
    const name = typeof flags['name'] === 'string' ? flags['name'].trim() : 'dbt-cloud-harvester';
    usage.check(name.length > 0 && name.length <= 255, '--name must be 1 to 255 characters');
    const secretFile = typeof flags['secret-file'] === 'string' ? flags['secret-file'] : undefined;
    const config = loadConfig({ env: io.env, flags, needs: ['dbtCloud'], problems: usage.problems });
    const file = secretFile !== undefined ? await secretFileFor(secretFile) : undefined;
    const client = connectDbtCloud(config.dbtCloud, { logger: cliLogger(io, config), userAgent: USER_AGENT });
    let kept = false;
    try {
      const created = await client.createWebhookSubscription({
        name,
        description: 'dbt-cloud-harvester: harvest each run as it ends',
        client_url: url!,
        event_types: RUN_END_EVENTS,
        job_ids: jobIds ?? config.jobIds ?? [],
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
      redact(secret);
      if (file) {
        await file.write(secret);
        kept = true;
        io.stdout(`${JSON.stringify({ ...describe(created), secretFile })}\n`);
        io.stderr(
          `The secret is in ${secretFile} (shown nowhere else). Store it, then remove the file:\n  gcloud secrets versions add PREFIX-dbt-cloud-webhook-secret --data-file=${secretFile} && rm ${secretFile}\n`,
        );
      } else {
        io.stdout(`${JSON.stringify({ ...describe(created), secret })}\n`);
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
};

export const webhookList: Command = {
  name: 'webhook list',
  summary: "list the account's webhook subscriptions",
  usage: '',
  description: `Prints each webhook subscription of the account, one JSON line each (never its secret).
Exit status: 0 listed; 1 dbt Cloud refused; 2 bad usage.`,
  dbtCloud: true,
  settings: [],
  args: {},
  positionals: false,
  async run({ io, flags }) {
    const config = loadConfig({ env: io.env, flags, needs: ['dbtCloud'] });
    const client = connectDbtCloud(config.dbtCloud, { logger: cliLogger(io, config), userAgent: USER_AGENT });
    try {
      const subs = await client.listWebhookSubscriptions();
      for (const sub of subs) io.stdout(`${JSON.stringify(describe(sub))}\n`);
      if (subs.length === 0 && io.isTTY) io.stderr('no webhook subscriptions\n');
      return 0;
    } finally {
      client.close();
    }
  },
};

export const webhookDelete: Command = {
  name: 'webhook delete',
  summary: 'delete a webhook subscription',
  usage: 'ID',
  description: `Deletes the webhook subscription ID (as webhook list prints it). The hourly dispatch still harvests every run.
Exit status: 0 deleted; 1 dbt Cloud refused or has no such subscription; 2 bad usage.`,
  dbtCloud: true,
  settings: [],
  args: {},
  positionals: true,
  async run({ io, flags, positionals }) {
    const usage = new Usage();
    const id = positionals[0];
    usage.check(positionals.length === 1, 'name one subscription id: webhook delete ID (webhook list shows them)');
    const config = loadConfig({ env: io.env, flags, needs: ['dbtCloud'], problems: usage.problems });
    const client = connectDbtCloud(config.dbtCloud, { logger: cliLogger(io, config), userAgent: USER_AGENT });
    try {
      await client.deleteWebhookSubscription(id!);
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
};

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

export const webhookTest: Command = {
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
    url: { type: 'string', placeholder: 'URL', describe: 'the receiver (https, or http on loopback)' },
    'secret-file': { type: 'string', placeholder: 'FILE', describe: 'a file holding the subscription secret' },
    'run-id': { type: 'string', placeholder: 'R', describe: 'send job.run.completed for this run' },
  },
  positionals: false,
  async run({ io, flags }) {
    const usage = new Usage();
    const url = receiverUrl(usage, flags['url']);
    const runId = usage.positive('run-id', flags['run-id']);
    const file = typeof flags['secret-file'] === 'string' ? flags['secret-file'] : undefined;
    const needs: ('dbtCloud' | 'accountId' | 'webhookSecret')[] = [
      runId !== undefined ? 'dbtCloud' : 'accountId',
      ...(file === undefined ? (['webhookSecret'] as const) : []),
    ];
    const config = loadConfig({
      env: io.env,
      flags,
      needs,
      missing: {
        webhookSecret: `the secret is required: --secret-file FILE, or ${OPTIONS.webhookSecret.variable} (or ${OPTIONS.webhookSecretName.variable})`,
      },
      problems: usage.problems,
    });
    const secret =
      file !== undefined ? await readSecretFile(file) : await secretFrom(config.webhookSecret!, WEBHOOK_SECRET).get();
    let data: Record<string, unknown> = {
      jobId: '0',
      runId: '0',
      runStatus: 'Running',
      runStatusCode: 3,
      jobName: 'dbt-harvester webhook test',
    };
    let eventType = 'job.run.started';
    if (runId !== undefined) {
      const client = connectDbtCloud(config.dbtCloud!, { logger: cliLogger(io, config), userAgent: USER_AGENT });
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
      const res = await fetch(url!, {
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
};

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export const WEBHOOK_COMMANDS: readonly Command[] = [webhookRegister, webhookList, webhookDelete, webhookTest];
