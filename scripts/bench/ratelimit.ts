import { OPTIONS } from '../../lib/config/options.ts';
import { results, rows, log, harvestAll, uniformAccount } from './shared.ts';

/** The benchmark's rate limit part (npm run bench -- --only ratelimit). */
export async function ratelimitPart(): Promise<void> {
  const limit = 100;
  const fake = await uniformAccount({ rateLimitPerSecond: limit, everyMinutes: (24 * 60 * 20) / 200 });
  log(`rate limit: ${fake.account.runs.length} runs against a fake that answers 429 above ${limit} requests a second`);
  // The client is set to 90 % of the limit, as the default (4,500 a minute) is of dbt Cloud's 5,000.
  const clientPerMinute = Math.round(limit * 60 * 0.9);
  const r = await harvestAll(fake, Number(OPTIONS.concurrency.default), clientPerMinute);
  await fake.stop();
  const ok = (r.requests - r.throttled) / r.seconds;
  results['rateLimit'] = {
    limitPerSecond: limit,
    ...r,
    successfulPerSecond: Number(ok.toFixed(1)),
    shareOfLimit: Number((ok / limit).toFixed(2)),
  };
  rows.push([
    'rate limit',
    `${r.runs} runs, fake limit ${limit} req/s, client limit ${Math.round(limit * 60 * 0.9)}/min`,
    `${r.stored}/${r.runs} stored in ${r.seconds} s, ${r.throttled} answers 429`,
    `all stored: ${r.stored === r.runs ? 'yes' : 'NO'}`,
  ]);
  rows.push([
    'rate limit',
    'successful requests per second',
    `${ok.toFixed(1)} (${((100 * ok) / limit).toFixed(0)} % of the limit)`,
    `>= 80 %: ${ok / limit >= 0.8 ? 'yes' : 'NO'}`,
  ]);
}
