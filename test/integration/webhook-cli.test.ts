import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RecentEvents, Refusals, handleWebhook } from '../../lib/cloud/receive-webhook.ts';
import type { RunMessage } from '../../lib/core/messages.ts';
import { WHOLE_ACCOUNT } from '../../lib/core/scope.ts';
import { silentLogger } from '../../lib/log.ts';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import { cli } from '../cli.ts';
import { TOKEN, fakeCloud } from '../helpers.ts';

/**
 * dbt-harvester webhook register|list|delete|test, in this process, against the fake dbt Cloud's v3
 * webhook API, and a receiver running the real handler on loopback.
 */
let fake: FakeDbtCloud;
let dir: string;
let env: Record<string, string>;
let receiver: Server;
let receiverUrl: string;
let receiverSecret = '';
const received: RunMessage[] = [];

beforeAll(async () => {
  fake = await fakeCloud();
  dir = await mkdtemp(join(tmpdir(), 'webhook-cli-'));
  env = { DBT_CLOUD_ACCOUNT_ID: String(fake.accountId), DBT_CLOUD_TOKEN: TOKEN, DBT_CLOUD_HOST: fake.url };
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const deps = {
        accountId: fake.accountId,
        secret: { get: async () => receiverSecret, refresh: async () => receiverSecret },
        publisher: {
          publish: async (m: readonly RunMessage[]) => {
            received.push(...m);
            return m.length;
          },
        },
        scope: WHOLE_ACCOUNT,
        logger: silentLogger,
        published: new RecentEvents(),
        refusals: new Refusals(silentLogger),
      };
      void handleWebhook(deps, {
        method: req.method ?? 'GET',
        header: (n) => req.headers[n.toLowerCase()] as string | undefined,
        rawBody: Buffer.concat(chunks),
      }).then((reply) => {
        res.writeHead(reply.status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(reply.body));
      });
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  receiver?.close();
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => fake.webhooks.subscriptions.clear());

const line = (stdout: string): Record<string, unknown> =>
  JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

describe('webhook register', () => {
  it('subscribes the URL to the run-end events of the given jobs, and hands over the secret once, in the "secret" field', async () => {
    const [a, b] = fake.account.jobs;
    const res = await cli(
      [
        'webhook',
        'register',
        '--url',
        'https://harvest.example.com/receive',
        '--job-id',
        String(a!.id),
        '--job-id',
        String(b!.id),
      ],
      env,
    );
    expect(res.code).toBe(0);
    const sub = [...fake.webhooks.subscriptions.values()];
    expect(sub).toHaveLength(1);
    expect(sub[0]).toMatchObject({
      client_url: 'https://harvest.example.com/receive',
      event_types: ['job.run.completed', 'job.run.errored'],
      job_ids: [a!.id, b!.id],
      active: true,
    });
    expect(line(res.stdout)).toMatchObject({ id: sub[0]!.id, secret: sub[0]!.hmac_secret, jobIds: [a!.id, b!.id] });
    // In one place only: stdout's "secret" field, not the advice on stderr.
    expect(res.stderr).not.toContain(sub[0]!.hmac_secret);
    expect(res.stderr).toMatch(/shown this once/);
  });

  it('defaults to HARVEST_JOB_IDS, else every job', async () => {
    const job = fake.account.jobs[2]!.id;
    expect(
      (await cli(['webhook', 'register', '--url', 'https://h.example.com/'], { ...env, HARVEST_JOB_IDS: String(job) }))
        .code,
    ).toBe(0);
    expect((await cli(['webhook', 'register', '--url', 'https://h.example.com/'], env)).code).toBe(0);
    expect([...fake.webhooks.subscriptions.values()].map((s) => s.job_ids)).toEqual([[job], []]);
  });

  it('with --secret-file writes the secret to a new file only its owner may read, and prints it nowhere', async () => {
    const file = join(dir, 'secret.txt');
    const res = await cli(['webhook', 'register', '--url', 'https://h.example.com/', '--secret-file', file], env);
    expect(res.code).toBe(0);
    const sub = [...fake.webhooks.subscriptions.values()][0]!;
    expect(await readFile(file, 'utf8')).toBe(sub.hmac_secret);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(res.stdout + res.stderr).not.toContain(sub.hmac_secret);
    expect(line(res.stdout)).toMatchObject({ id: sub.id, secretFile: file });
  });

  it('refuses an existing --secret-file before creating anything, so that no secret is lost', async () => {
    const file = join(dir, 'taken.txt');
    await writeFile(file, 'keep me');
    const res = await cli(['webhook', 'register', '--url', 'https://h.example.com/', '--secret-file', file], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/it exists/);
    expect(fake.webhooks.subscriptions.size).toBe(0);
    expect(await readFile(file, 'utf8')).toBe('keep me');
  });

  it('removes the file it opened when dbt Cloud refuses the subscription', async () => {
    const file = join(dir, 'refused.txt');
    const res = await cli(
      ['webhook', 'register', '--url', 'https://h.example.com/', '--job-id', '1', '--secret-file', file],
      env,
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/400.*job_ids: Unknown job id/);
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  it.each([
    [['--url', 'http://harvest.example.com/'], /must be https/],
    [['--url', 'not a url'], /is not a URL/],
    [['--url', 'https://user:pw@h.example.com/'], /must not carry credentials/],
    [[], /--url URL is required/],
    [
      ['--url', 'https://h.example.com/', '--job-id', 'x'],
      /--job-id must be job ids separated by commas \("x" is not one\)/,
    ],
  ])('refuses %j as bad usage (exit 2), creating nothing', async (args, message) => {
    const res = await cli(['webhook', 'register', ...args], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(fake.webhooks.subscriptions.size).toBe(0);
  });
});

describe('webhook list and delete', () => {
  it('lists every subscription, one JSON line each and never a secret; deletes one by id', async () => {
    for (let i = 0; i < 3; i++)
      await cli(['webhook', 'register', '--url', `https://h${i}.example.com/`, '--name', `hook ${i}`], env);
    const listed = await cli(['webhook', 'list'], env);
    expect(listed.code).toBe(0);
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => r['name'])).toEqual(['hook 0', 'hook 1', 'hook 2']);
    for (const sub of fake.webhooks.subscriptions.values()) expect(listed.stdout).not.toContain(sub.hmac_secret);
    const id = String(rows[1]!['id']);
    expect((await cli(['webhook', 'delete', id], env)).code).toBe(0);
    expect([...fake.webhooks.subscriptions.keys()]).not.toContain(id);
    const again = await cli(['webhook', 'delete', id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`no webhook subscription ${id}`));
  });

  it('refuses an id that could leave its path segment', async () => {
    const res = await cli(['webhook', 'delete', '../../runs'], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/ID must be a subscription id as webhook list shows it/);
  });

  it('names the sub-commands when one is missing or unknown', async () => {
    const missing = await cli(['webhook'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/"webhook" needs a command/);
    for (const name of ['webhook register', 'webhook list', 'webhook delete', 'webhook test'])
      expect(missing.stderr).toContain(name);
    const typo = await cli(['webhook', 'regster'], env);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/Unknown command "webhook regster"; did you mean "webhook register"\?/);
  });
});

describe('webhook test', () => {
  it('sends a signed sample that the receiver checks and ignores (200): the URL and the secret work', async () => {
    receiverSecret = 'the-secret-of-the-receiver-1234';
    const file = join(dir, 'test-secret.txt');
    await writeFile(file, `${receiverSecret}\n`);
    const res = await cli(['webhook', 'test', '--url', receiverUrl, '--secret-file', file], env);
    expect(res.code).toBe(0);
    expect(line(res.stdout)).toMatchObject({ eventType: 'job.run.started', status: 200, answer: { ignored: true } });
    expect(received).toEqual([]);
  });

  it('reports a receiver that refuses the signature (exit 1)', async () => {
    receiverSecret = 'the-secret-of-the-receiver-1234';
    const res = await cli(['webhook', 'test', '--url', receiverUrl], {
      ...env,
      DBT_CLOUD_WEBHOOK_SECRET: 'a-different-secret-5678',
    });
    expect(res.code).toBe(1);
    expect(line(res.stdout)).toMatchObject({ status: 401 });
    expect(res.stderr).toMatch(/refused the signature/);
    expect(res.stdout + res.stderr).not.toContain('a-different-secret-5678');
  });

  it('with --run-id sends job.run.completed for that run, as dbt Cloud would, and the receiver publishes it', async () => {
    receiverSecret = 'the-secret-of-the-receiver-1234';
    const run = fake.account.runsFinishedIn(atHour(9), atHour(10))[0]!;
    const res = await cli(['webhook', 'test', '--url', receiverUrl, '--run-id', String(run.id)], {
      ...env,
      DBT_CLOUD_WEBHOOK_SECRET: receiverSecret,
    });
    expect(res.code).toBe(0);
    expect(received.at(-1)).toMatchObject({ runId: run.id, jobId: run.jobId, source: 'webhook' });
  });

  it('needs a secret, and says where it may come from', async () => {
    const res = await cli(['webhook', 'test', '--url', receiverUrl], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--secret-file FILE, or DBT_CLOUD_WEBHOOK_SECRET/);
  });
});

/** An hour of the fake's day, 2022-06-01 (UTC). */
function atHour(hour: number): Date {
  return new Date(Date.UTC(2022, 5, 1, hour));
}
