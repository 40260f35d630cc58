/**
 * receiveWebhook served by the functions framework in its own process, as its instance serves it
 * (its body policy, V8 tuned): prints its port, and on SIGTERM its peak RSS. Used by
 * scripts/bench.ts (webhook).
 */
import { peakRssMb } from './peak-rss.ts';
import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { FUNCTIONS } from '../lib/cloud/functions.ts';
import { serve } from '../lib/cloud/serve.ts';

const webhook = FUNCTIONS.find((f) => f.name === 'receiveWebhook')!;
const env = {
  DBT_CLOUD_ACCOUNT_ID: '43210',
  DBT_CLOUD_WEBHOOK_SECRET: 'bench-webhook-secret-0123456789',
  RUNS_TOPIC: 'projects/bench/topics/runs',
  LOG_LEVEL: 'ERROR',
};
ff.http('receiveWebhook', serve(webhook, env, ['--target', 'receiveWebhook']));
const server = getTestServer('receiveWebhook');
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const idle = process.memoryUsage().rss / 1048576;
process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, idleMb: idle })}\n`);
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ maxRssMb: peakRssMb() })}\n`);
  process.exit(0);
});
