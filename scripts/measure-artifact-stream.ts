/**
 * Streams one large artifact from a fake dbt Cloud (in its own process) through the client and
 * prints the peak RSS of this process, so that memory that grows with the artifact shows up.
 *
 *   npm run measure:stream -- [--bytes 1073741824]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { DbtCloudClient } from '../lib/dbt-cloud/client.ts';

const { values } = parseArgs({ options: { bytes: { type: 'string', default: String(1024 ** 3) } } });
const bytes = Number(values.bytes);
const token = 'measure-token';

const child = spawn(
  process.execPath,
  [
    'harness/fake-dbt-cloud/main.ts',
    '--port',
    '0',
    '--hours',
    '2',
    '--token',
    token,
    '--manifest-bytes',
    String(bytes),
    '--now',
    '2022-06-01T02:00:00Z',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const [line] = (await once(child.stdout!, 'data')) as [Buffer];
const info = JSON.parse(line.toString().split('\n')[0]!) as { url: string; accountId: number };

const client = new DbtCloudClient({ baseUrl: info.url, accountId: info.accountId, token });
let run: number | undefined;
let step: number | undefined;
for await (const page of client.listRuns({ status: 10, include_related: ['run_steps'] })) {
  for (const r of page) {
    const s = r.run_steps?.find((x) => /dbt (build|run|compile)/.test(x.name));
    if (s) {
      run = r.id;
      step = s.index;
      break;
    }
  }
  if (run) break;
}
if (run === undefined || step === undefined) throw new Error('no run with a manifest');

let peak = process.memoryUsage.rss();
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
const baseline = process.memoryUsage.rss();
const started = performance.now();
const result = await client.getRunArtifact(run, 'manifest.json', step);
if (!result.found) throw new Error('manifest not found');
const hash = createHash('sha256');
let received = 0;
for await (const chunk of result.body) {
  received += (chunk as Buffer).length;
  hash.update(chunk as Buffer);
}
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage.rss());
client.close();
child.kill();

const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);
process.stdout.write(
  `${JSON.stringify({
    artifactBytes: received,
    contentLength: result.contentLength,
    seconds: Number(seconds.toFixed(2)),
    mbPerSecond: Number((received / 1024 / 1024 / seconds).toFixed(1)),
    rssBeforeMb: Number(mb(baseline)),
    peakRssMb: Number(mb(peak)),
    growthMb: Number(mb(peak - baseline)),
    sha256: hash.digest('hex'),
  })}\n`,
);
