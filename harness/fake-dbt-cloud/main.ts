/**
 * Serves a generated dbt Cloud account standalone:
 *   npm run fake-dbt-cloud -- --port 8080 [--seed 42] [--hours 24] [--token fake-token]
 *       [--latency-ms 0] [--rate-limit 0] [--manifest-bytes N] [--every-minutes N]
 */
import { parseArgs } from 'node:util';
import { startFakeDbtCloud } from './server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    seed: { type: 'string', default: '42' },
    hours: { type: 'string', default: '24' },
    token: { type: 'string', default: 'fake-token' },
    'latency-ms': { type: 'string', default: '0' },
    'rate-limit': { type: 'string', default: '0' },
    'manifest-bytes': { type: 'string' },
    'every-minutes': { type: 'string' },
    now: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'Usage: npm run fake-dbt-cloud -- [--port 8080] [--seed 42] [--hours 24] [--token fake-token] [--now ISO]\n' +
      '       [--latency-ms N] [--rate-limit REQ_PER_S] [--manifest-bytes N] [--every-minutes N]\n',
  );
  process.exit(0);
}

const int = (name: string, text: string): number => {
  if (!/^\d+$/.test(text)) {
    process.stderr.write(`--${name} must be a whole number, not "${text}"\n`);
    process.exit(2);
  }
  return Number(text);
};

const now = values.now ? new Date(values.now) : new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
const hours = int('hours', values.hours);
const manifestBytes =
  values['manifest-bytes'] === undefined ? undefined : int('manifest-bytes', values['manifest-bytes']);
const fake = await startFakeDbtCloud(
  {
    seed: int('seed', values.seed),
    from: new Date(now.getTime() - hours * 3_600_000),
    to: now,
    now,
    token: values.token,
    latencyMs: int('latency-ms', values['latency-ms']),
    rateLimitPerSecond: int('rate-limit', values['rate-limit']) || undefined,
    everyMinutes: values['every-minutes'] === undefined ? undefined : int('every-minutes', values['every-minutes']),
    sizeOf:
      manifestBytes === undefined
        ? undefined
        : (_run, _step, file) => (file === 'manifest.json' ? manifestBytes : undefined),
  },
  int('port', values.port),
);

const base = `${fake.url}/api/v2/accounts/${fake.accountId}`;
process.stdout.write(
  `${JSON.stringify({
    message: 'fake dbt Cloud listening',
    url: fake.url,
    accountId: fake.accountId,
    token: values.token,
    runs: fake.account.runs.length,
    window: { from: new Date(now.getTime() - hours * 3_600_000).toISOString(), to: now.toISOString() },
    try: `curl -H 'Authorization: Token ${values.token}' '${base}/runs/?order_by=-finished_at&limit=100&offset=0'`,
  })}\n`,
);

const stop = (): void => {
  void fake.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
