/**
 * npm run measure:cold-start: how long a cold instance of each function takes to answer its first
 * request, beside a bare functions-framework function, measured side by side in rounds.
 *
 * Each instance is a new functions-framework process over the built code (as on Cloud Run). From its
 * spawn, the script sends the function a request it answers without calling out (a request its
 * handler refuses: 400 or 405; for receiveWebhook a signed event not for it), again and again until
 * an answer comes: the time to that answer includes loading the framework, the configuration, the
 * handler's module and its clients. A function that publishes loads the Pub/Sub client at its first
 * publish: that load, timed apart, is added for the row of a first request that publishes.
 *
 *   npm run measure:cold-start -- [--rounds 7]
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FUNCTIONS } from '../lib/cloud/functions.ts';
import { signWebhook } from '../lib/dbt-cloud/webhooks.ts';
import { buildOnce, freePort } from '../harness/services.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });
const rounds = Number(values.rounds);

const BARE_DIR = resolve('build/cold-start-bare');
await mkdir(BARE_DIR, { recursive: true });
await writeFile(join(BARE_DIR, 'package.json'), '{"type":"module"}\n');
await writeFile(
  join(BARE_DIR, 'index.js'),
  `import * as ff from '${resolve('node_modules/@google-cloud/functions-framework/build/src/index.js')}';\nff.http('bare', (req, res) => res.status(400).send('{}'));\n`,
);
await buildOnce();

const env = {
  DBT_CLOUD_ACCOUNT_ID: '43210',
  DBT_CLOUD_TOKEN: 'cold-start-token',
  DBT_CLOUD_WEBHOOK_SECRET: 'cold-start-webhook-secret',
  DBT_CLOUD_HOST: 'http://127.0.0.1:9',
  RUNS_TOPIC: 'projects/cold-start/topics/runs',
  ARTIFACTS_DESTINATION: 'gs://cold-start-bucket',
  STORAGE_API_ENDPOINT: 'http://127.0.0.1:9',
  PUBSUB_EMULATOR_HOST: '127.0.0.1:9',
  METADATA_SERVER_DETECTION: 'none',
  GOOGLE_CLOUD_PROJECT: 'cold-start',
};

interface Target {
  name: string;
  source?: string;
  /** A request the function answers at once, without calling out. */
  request: RequestInit & { headers?: Record<string, string> };
}

/** A webhook event that is not for receiveWebhook (a run that started), signed: answered 200, nothing published. */
const started = JSON.stringify({
  accountId: 43210,
  eventType: 'job.run.started',
  eventId: 'wev_cold',
  data: { runId: '1', jobId: '2' },
});

const targets: Target[] = [
  {
    name: 'bare',
    source: BARE_DIR,
    request: { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } },
  },
  ...FUNCTIONS.map(
    (fn): Target => ({
      name: fn.name,
      request:
        fn.name === 'dispatchHourly'
          ? { method: 'POST', headers: { 'X-CloudScheduler-ScheduleTime': 'not a time' } }
          : fn.name === 'receiveWebhook'
            ? {
                method: 'POST',
                body: started,
                headers: {
                  'Content-Type': 'application/json',
                  Authorization: signWebhook(env.DBT_CLOUD_WEBHOOK_SECRET, started),
                },
              }
            : { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } },
    }),
  ),
];

async function firstAnswer(target: Target): Promise<{ ms: number; status: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      'node_modules/@google-cloud/functions-framework/build/src/main.js',
      `--target=${target.name}`,
      `--port=${port}`,
      ...(target.source ? [`--source=${target.source}`] : []),
    ],
    {
      env: { PATH: process.env['PATH'] ?? '', ...env, FUNCTION_TARGET: target.name },
      stdio: 'ignore',
    },
  );
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${target.name} exited with ${child.exitCode}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, target.request);
        await res.arrayBuffer();
        return { ms: performance.now() - started, status: res.status };
      } catch {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  } finally {
    child.kill('SIGKILL');
  }
}

const samples = new Map<string, number[]>(targets.map((t) => [t.name, []]));
for (let r = 0; r < rounds; r++) {
  for (const t of targets) {
    const { ms, status } = await firstAnswer(t);
    if (status >= 500 || (status < 400 && t.name !== 'receiveWebhook'))
      throw new Error(`${t.name} answered ${status}, not the answer the script expects`);
    samples.get(t.name)!.push(ms);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// What a function's first publish adds: the Pub/Sub client's load, timed in a fresh process.
const pubsubLoads: number[] = [];
for (let r = 0; r < rounds; r++) {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--input-type=module',
    '-e',
    "const t = performance.now(); await import('@google-cloud/pubsub'); process.stdout.write(String(performance.now() - t));",
  ]);
  pubsubLoads.push(Number(stdout));
}
const bare = median(samples.get('bare')!);
process.stdout.write(
  `| function | first answer, median of ${rounds} (ms) | vs bare | goal <= 2.5x |\n| --- | --- | --- | --- |\n`,
);
for (const t of targets) {
  const m = median(samples.get(t.name)!);
  process.stdout.write(
    `| ${t.name} | ${m.toFixed(0)} | ${(m / bare).toFixed(2)}x | ${t.name === 'bare' ? '' : m / bare <= 2.5 ? 'yes' : 'NO'} |\n`,
  );
  if (t.name !== 'bare' && FUNCTIONS.find((f) => f.name === t.name)?.needs.includes('runsTopic' as never)) {
    const first = m + median(pubsubLoads);
    process.stdout.write(
      `| ${t.name}, a first request that publishes | ${first.toFixed(0)} | ${(first / bare).toFixed(2)}x | ${first / bare <= 2.5 ? 'yes' : 'NO'} |\n`,
    );
  }
}
