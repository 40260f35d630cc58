/**
 * npm run demo: starts the fake dbt Cloud with a day of runs, harvests three hours of it into
 * ./demo-output/history with the real CLI (a child process, exactly as a user runs it), fetches
 * the newest production manifest for CI, and prints what was stored; then writes a month of a
 * realistic project's runs (harness/history-demo.ts, stored as the harvester stores them), ending
 * the day the demo harvested, and writes the history report over both: the month before, and the
 * three hours just harvested (their jobs are the fake's, beside the month's three).
 */
import { spawn } from 'node:child_process';
import { cp, readdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { startFakeDbtCloud } from '../harness/fake-dbt-cloud/server.ts';
import { writeHistoryDemo } from '../harness/history-demo.ts';

const OUT = 'demo-output';
const token = 'demo-token';
const fake = await startFakeDbtCloud({
  from: new Date('2022-06-01T00:00:00Z'),
  to: new Date('2022-06-02T00:00:00Z'),
  token,
});
await rm(OUT, { recursive: true, force: true });

const env = {
  ...process.env,
  DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
  DBT_CLOUD_TOKEN: token,
  DBT_CLOUD_HOST: fake.url,
};
const run = (args: string[]): Promise<number> =>
  new Promise((resolve, reject) => {
    process.stdout.write(`\n$ dbt-harvester ${args.join(' ')}\n`);
    const child = spawn(process.execPath, ['lib/cli/main.ts', ...args], { env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });

process.stdout.write(
  `fake dbt Cloud at ${fake.url}: account ${fake.accountId}, ${fake.account.runs.length} runs on 2022-06-01\n`,
);
const harvested = await run([
  'retrieve-artifacts-time-interval',
  '--start-time',
  '2022-06-01T09:00:00',
  '--end-time',
  '2022-06-01T12:00:00',
  '--output-folder',
  join(OUT, 'history'),
]);
const again = await run([
  'retrieve-artifacts-time-interval',
  '--start-time',
  '2022-06-01T09:00:00',
  '--end-time',
  '2022-06-01T12:00:00',
  '--output-folder',
  join(OUT, 'history'),
]);
const job = fake.account.jobs.find((j) => j.generateDocs)!;
const manifest = await run([
  'retrieve-most-recent-artifact',
  'manifest',
  '--job-id',
  String(job.id),
  '--output-folder',
  join(OUT, 'state'),
]);
await fake.stop();
// The month before the harvested day, generated; the harvested runs (and their history rows)
// copied beside it, so that the report shows both: what was just harvested, and what a month holds.
const month = await writeHistoryDemo(join(OUT, 'month'), { end: new Date('2022-06-01T00:00:00Z') });
await cp(join(OUT, 'history'), join(OUT, 'month'), { recursive: true });
process.stdout.write(
  `\nA month of a realistic project before it (generated: ${month.runs} runs of ${month.jobs} jobs), and the runs just harvested, in ./${OUT}/month\n`,
);
const report = await run(['history', '--from', join(OUT, 'month'), '--out', join(OUT, 'history.html')]);

const files: { path: string; size: number }[] = [];
const walk = async (dir: string): Promise<void> => {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) await walk(full);
    else files.push({ path: relative(OUT, full), size: (await stat(full)).size });
  }
};
await walk(join(OUT, 'history'));
await walk(join(OUT, 'state'));
const runs = files.filter((f) => f.path.endsWith('_run.json'));
const hours = new Map<string, number>();
for (const r of runs) {
  const hour = /date=[^/]+\/hour=\d\d/.exec(r.path)![0];
  hours.set(hour, (hours.get(hour) ?? 0) + 1);
}
const example = runs.find((r) => files.filter((f) => f.path.startsWith(r.path.replace('_run.json', ''))).length > 4)!;
process.stdout.write(
  `\nHarvested into ./${OUT}/history: ${runs.length} runs, ${files.length} files, ${(files.reduce((s, f) => s + f.size, 0) / 1048576).toFixed(1)} MiB\n`,
);
for (const [hour, count] of [...hours].sort()) process.stdout.write(`  ${hour}: ${count} runs\n`);
process.stdout.write(`One run:\n`);
for (const f of files.filter((f) => f.path.startsWith(example.path.replace('_run.json', ''))))
  process.stdout.write(`  ${f.path} (${f.size} bytes)\n`);
process.stdout.write(`For CI: ${files.find((f) => f.path.startsWith('state/'))?.path ?? '(none)'}\n`);
process.stdout.write(
  `The report over the generated month and the three hours harvested (the fake's jobs): open ./${OUT}/history.html in a browser\n`,
);
process.exitCode = harvested === 0 && again === 0 && manifest === 0 && report === 0 ? 0 : 1;
