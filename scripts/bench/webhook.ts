import { spawn } from 'node:child_process';
import { results, rows } from './shared.ts';

/**
 * receiveWebhook under the load an adversarial review used: rounds of 80 concurrent 1 MiB requests
 * with a junk Authorization (refused before their body is read), and 80 with a signature-shaped
 * header over a body past the cap (refused by its declared size); the instance's peak RSS.
 */

/** The benchmark's webhook part (npm run bench -- --only webhook). */
export async function webhookPart(): Promise<void> {
  const child = spawn(process.execPath, ['scripts/bench-webhook-child.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  // The child's report lines, among its log lines (which go to stdout too).
  const line = async <T>(key: string): Promise<T> => {
    for (;;) {
      const found = lines.find((l) => l.startsWith(`{"${key}"`));
      if (found !== undefined) return JSON.parse(found) as T;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const { port, idleMb } = await line<{ port: number; idleMb: number }>('port');
  const body = Buffer.alloc(1024 * 1024, 0x78);
  const statuses: number[] = [];
  const fire = (authorization: string) =>
    fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { Authorization: authorization, 'Content-Type': 'application/json' },
      body,
    })
      .then((r) => statuses.push(r.status))
      .catch(() => statuses.push(0));
  const started = performance.now();
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: 80 }, () => fire('junk')));
    await Promise.all(Array.from({ length: 80 }, () => fire('a'.repeat(64))));
  }
  const seconds = (performance.now() - started) / 1000;
  child.kill('SIGTERM');
  const { maxRssMb } = await line<{ maxRssMb: number }>('maxRssMb');
  const refused = statuses.filter((s) => s === 401 || s === 413).length;
  results['webhook'] = { idleMb, maxRssMb, requests: statuses.length, refused, seconds };
  rows.push([
    'webhook',
    `receiveWebhook, ${statuses.length} requests of 1 MiB (80 at once; junk or signature-shaped Authorization)`,
    `${refused} answered 401/413, ${statuses.filter((x) => x === 0).length} cut off mid-body, none read, in ${seconds.toFixed(1)} s; peak RSS ${maxRssMb.toFixed(0)} MB (idle ${idleMb.toFixed(0)} MB)`,
    `< 256 MiB: ${maxRssMb < 256 ? 'yes' : 'NO'}`,
  ]);
}
