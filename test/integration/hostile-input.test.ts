import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGcs, type FakeGcs } from '../../harness/fake-gcs/server.ts';
import type { FakeDbtCloud } from '../../harness/fake-dbt-cloud/server.ts';
import type { FakeRun } from '../../harness/fake-dbt-cloud/model.ts';
import { DEFAULT_ARTIFACTS } from '../../lib/config/options.ts';
import { harvestRun } from '../../lib/harvest/run-harvest.ts';
import { ENVIRONMENT_FIELDS } from '../../lib/harvest/run-harvest.ts';
import { LocalFolder } from '../../lib/storage/local.ts';
import { cli, cliProcess } from '../cli.ts';
import { runFolder } from '../expected.ts';
import { TOKEN, clientFor, fakeCloud } from '../helpers.ts';

/**
 * Hostile input, round four (issue 35), each finding through what a user runs: the CLI (in its own
 * process where memory or time is what is at stake) and the harvest of a run.
 */
let fake: FakeDbtCloud;
let gcs: FakeGcs;
let dir: string;
/** Artifact bodies the fake serves instead of its own, by `run/step/file`. */
const bodies = new Map<string, () => { size: number; open: () => Readable }>();

beforeAll(async () => {
  fake = await fakeCloud({ seed: 35, bodyOf: (run, step, file) => bodies.get(`${run}/${step}/${file}`)?.() });
  gcs = await startFakeGcs({ buckets: ['harvest-bucket'] });
  dir = await mkdtemp(join(tmpdir(), 'hostile-input-'));
});
afterEach(() => {
  bodies.clear();
  fake.clearFaults();
});
afterAll(async () => {
  await fake.stop();
  await gcs.stop();
  await rm(dir, { recursive: true, force: true });
});

const account = () => ({
  DBT_CLOUD_ACCOUNT_ID: String(fake.accountId),
  DBT_CLOUD_TOKEN: TOKEN,
  DBT_CLOUD_HOST: fake.url,
});
const bytesBody = (data: Buffer) => () => ({ size: data.length, open: () => Readable.from([data]) });
let folders = 0;
const folder = async (name: string): Promise<string> => {
  const path = join(dir, `${name}-${++folders}`);
  await mkdir(path, { recursive: true });
  return path;
};

/** Successful runs whose step `step` has both a manifest and a catalog (docs generate), by order. */
function runWithCatalog(n: number): { run: FakeRun; step: number } {
  const found = fake.account.runs
    .filter((r) => r.outcome === 'success')
    .flatMap((run) => {
      const files = fake.account.expectedFiles(run.id);
      const step = files.find(
        (f) => f.file === 'catalog.json' && files.some((m) => m.step === f.step && m.file === 'manifest.json'),
      );
      return step ? [{ run, step: step.step }] : [];
    });
  const picked = found[n];
  if (!picked) throw new Error(`only ${found.length} runs with a catalog`);
  return picked;
}

/** The hour around a run, as retrieve-artifacts-time-interval takes it. */
const windowOf = (run: FakeRun): string[] => {
  const start = new Date(Math.floor(run.createdAt.getTime() / 3_600_000) * 3_600_000);
  return ['--start-time', start.toISOString(), '--end-time', new Date(start.getTime() + 3_600_000).toISOString()];
};

// ---- duplicate keys ------------------------------------------------------------------------------

/** The case: a model whose "columns" key is given twice, the second time {}; a test's metadata twice. */
const DUPLICATED_MANIFEST = `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "dbt_version": "1.9.0", "project_name": "shop"},
 "nodes": {
  "model.shop.orders": {"unique_id": "model.shop.orders", "resource_type": "model", "schema": "analytics", "name": "orders", "original_file_path": "models/orders.sql", "description": "Orders",
    "columns": {"id": {"name": "id", "description": "The key"}, "amount": {"name": "amount", "description": "What was paid"}},
    "columns": {}},
  "test.shop.not_null_orders_id": {"unique_id": "test.shop.not_null_orders_id", "resource_type": "test",
    "test_metadata": {"name": "not_null", "kwargs": {"column_name": "id"}}, "column_name": "id", "depends_on": {"nodes": ["model.shop.orders"]},
    "test_metadata": {"name": "not_null", "kwargs": {"column_name": "amount"}}, "column_name": "amount"}
 },
 "sources": {}, "unit_tests": {}}`;
const CATALOG = `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"},
 "nodes": {"model.shop.orders": {"unique_id": "model.shop.orders", "metadata": {"schema": "analytics", "name": "orders"},
   "columns": {"ID": {"name": "ID", "type": "INT64", "index": 1}, "AMOUNT": {"name": "AMOUNT", "type": "NUMERIC", "index": 2}}}},
 "sources": {}}`;
/** What JSON makes of a document: each repeated key's last value. */
const asJsonReadsIt = (text: string): string => JSON.stringify(JSON.parse(text));

async function artifactsDir(manifest: string | Buffer, catalog: string | Buffer = CATALOG): Promise<string> {
  const target = await folder('target');
  await writeFile(join(target, 'manifest.json'), manifest);
  await writeFile(join(target, 'catalog.json'), catalog);
  return target;
}

describe('a key given twice is read as JSON reads it (its last value), or the document refused', () => {
  it('coverage compute: the same figures as for the document JSON.parse makes of it, for both types', async () => {
    const crafted = await artifactsDir(DUPLICATED_MANIFEST);
    const parsed = await artifactsDir(asJsonReadsIt(DUPLICATED_MANIFEST));
    for (const type of ['doc', 'test']) {
      const args = (target: string) => [
        'coverage',
        'compute',
        type,
        '--run-artifacts-dir',
        target,
        '--cov-report',
        join(target, `${type}.json`),
      ];
      const [a, b] = [await cli(args(crafted), {}), await cli(args(parsed), {})];
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toBe(b.stdout);
      expect(await readFile(join(crafted, `${type}.json`), 'utf8')).toBe(
        await readFile(join(parsed, `${type}.json`), 'utf8'),
      );
    }
    // JSON keeps none of the first columns: nothing is documented (the merged read said 2 of 2).
    const report = JSON.parse(await readFile(join(crafted, 'doc.json'), 'utf8')) as { covered: number; total: number };
    expect(report).toMatchObject({ covered: 0, total: 2 });
    // --cov-fail-under cannot be passed by the crafted document.
    const gate = await cli(
      ['coverage', 'compute', 'doc', '--run-artifacts-dir', crafted, '--cov-fail-under', '0.5'],
      {},
      crafted,
    );
    expect(gate.code).toBe(1);
  });

  it('coverage compute: a manifest whose root gives "nodes" twice is refused, exit 2, naming the key', async () => {
    const twice = DUPLICATED_MANIFEST.replace('"sources": {}, "unit_tests": {}', '"nodes": {}, "sources": {}');
    const res = await cli(
      ['coverage', 'compute', 'doc', '--run-artifacts-dir', await artifactsDir(twice)],
      {},
      await folder('cwd'),
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/repeats the key "nodes"/);
    expect(res.stdout).toBe('');
  });

  it("the harvest of a run: the step's coverage.json is the one the JSON.parse reading gives", async () => {
    const { run, step } = runWithCatalog(0);
    const stored: string[] = [];
    for (const manifest of [DUPLICATED_MANIFEST, asJsonReadsIt(DUPLICATED_MANIFEST)]) {
      bodies.set(`${run.id}/${step}/manifest.json`, bytesBody(Buffer.from(manifest)));
      bodies.set(`${run.id}/${step}/catalog.json`, bytesBody(Buffer.from(CATALOG)));
      const dest = await folder('dest');
      const client = clientFor(fake);
      const outcome = await harvestRun(run.id, { client, store: new LocalFolder(dest), artifacts: DEFAULT_ARTIFACTS });
      client.close();
      expect(outcome.status).toBe('stored');
      stored.push(await readFile(join(dest, runFolder(run), `step=${step}`, 'coverage.json'), 'utf8'));
    }
    expect(stored[0]).toBe(stored[1]);
    expect(JSON.parse(stored[0]!)).toMatchObject({ doc: { covered: 0, total: 2 }, test: { covered: 1, total: 2 } });
  });
});

// ---- memory inside one table ---------------------------------------------------------------------

const COLUMN_BYTES = 32; // `"c0000000": {"name": "c0000000"}`
/** A catalog of one table with `columns` columns (3 million: about 96 MB), streamed. */
function wideCatalog(columns: number): { size: number; open: () => Readable } {
  const head = Buffer.from(
    '{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"}, "nodes": {"model.shop.wide": {"unique_id": "model.shop.wide", "metadata": {"schema": "analytics", "name": "wide"}, "columns": {',
  );
  const tail = Buffer.from('}}}, "sources": {}}');
  const name = (i: number) => `c${String(i).padStart(7, '0')}`;
  function* chunks(): Generator<Buffer> {
    yield head;
    for (let from = 0; from < columns; from += 20_000) {
      const parts: string[] = [];
      for (let i = from; i < Math.min(columns, from + 20_000); i++)
        parts.push(`${i === 0 ? '' : ','}"${name(i)}": {"name": "${name(i)}"}`);
      yield Buffer.from(parts.join(''));
    }
    yield tail;
  }
  return {
    size: head.length + columns * COLUMN_BYTES + (columns - 1) + tail.length,
    open: () => Readable.from(chunks()),
  };
}
const HEAP = '--max-old-space-size=256';

describe('one table of 3 million columns, in a 256 MB heap', () => {
  it('the harvest (the CLI, its own process) stores the catalog whole, leaves out that step’s coverage with one warning', async () => {
    const { run, step } = runWithCatalog(1);
    const wide = wideCatalog(3_000_000);
    bodies.set(`${run.id}/${step}/catalog.json`, () => wide);
    const out = await folder('wide');
    const res = await cliProcess(
      ['retrieve-artifacts-time-interval', ...windowOf(run), '--output-folder', out, '--job-ids', String(run.jobId)],
      account(),
      { nodeOptions: HEAP, timeoutMs: 300_000 },
    );
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const stepDir = join(out, runFolder(run), `step=${step}`);
    expect((await lstat(join(stepDir, 'catalog.json'))).size).toBe(wide.size);
    expect(await readdir(stepDir)).not.toContain('coverage.json');
    const warnings = res.stderr.split('\n').filter((l) => /more than 100,000 columns in one table/.test(l));
    expect(warnings).toHaveLength(1);
  });

  it('coverage compute (its own process) stops at the bound, exit 2, naming it', async () => {
    const wide = wideCatalog(3_000_000);
    const target = await artifactsDir(asJsonReadsIt(DUPLICATED_MANIFEST), Buffer.alloc(0));
    const chunks: Buffer[] = [];
    for await (const chunk of wide.open()) chunks.push(chunk as Buffer);
    await writeFile(join(target, 'catalog.json'), Buffer.concat(chunks));
    const res = await cliProcess(
      ['coverage', 'compute', 'doc', '--run-artifacts-dir', target],
      {},
      { nodeOptions: HEAP },
    );
    expect(res.code, res.stderr.slice(-2000)).toBe(2);
    expect(res.stderr).toMatch(/more than 100,000 columns in one table/);
  });
});

// ---- waits -----------------------------------------------------------------------------------------

describe('a server that asks to wait an hour', () => {
  it('the CLI (its own process) against 503 with Retry-After: 3600 on every answer fails at once, naming both', async () => {
    fake.inject({ kind: 'any', fault: { type: 'status', status: 503, retryAfter: '3600' } });
    const res = await cliProcess(
      ['retrieve-run-artifacts', '--run-id', String(fake.account.runs[0]!.id), '--output-folder', await folder('hour')],
      account(),
      { timeoutMs: 60_000 },
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/answered 503[\s\S]*asked to wait 3600 s more \(Retry-After\)/);
  });

  it('on a terminal, says that it waits, for how long, and what the server asked', async () => {
    fake.inject({ kind: 'run', times: 1, fault: { type: 'status', status: 503, retryAfter: '1' } });
    const res = await cli(
      ['retrieve-run-artifacts', '--run-id', String(fake.account.runs[0]!.id), '--output-folder', await folder('tty')],
      account(),
      dir,
      true,
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/retrying in \d+\.\d s \(attempt 2\): .*503 \(Retry-After: 1 s\)/);
  });
});

// ---- the rest --------------------------------------------------------------------------------------

describe('low-severity findings, as a user meets them', () => {
  it('a token typed as an argument (--token= $T, or alone) is not echoed in the error', async () => {
    const secret = 'positional-secret-8c1d4e';
    const args = ['retrieve-run-artifacts', '--run-id', '1', '--output-folder', await folder('tok')];
    for (const [extra, env] of [
      [['--token=', secret], {}],
      [[secret], { DBT_CLOUD_TOKEN: secret }],
      [['--token', 'x', secret], { DBT_CLOUD_TOKEN: secret }],
    ] as const) {
      const res = await cliProcess([...args, ...extra], { ...account(), ...env });
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/unexpected argument/i);
      expect(`${res.stdout}${res.stderr}`).not.toContain(secret);
    }
  });

  it('an artifact that is not UTF-8 is not stored, and the run not marked stored; coverage compute refuses it', async () => {
    const { run, step } = runWithCatalog(2);
    // "dbt_version": "1.9.\xff": JSON in every other respect.
    const bad = Buffer.concat([
      Buffer.from('{"metadata": {"dbt_version": "1.9.'),
      Buffer.from([0xff]),
      Buffer.from('"}, "nodes": {}, "sources": {}}'),
    ]);
    bodies.set(`${run.id}/${step}/manifest.json`, bytesBody(bad));
    const dest = await folder('utf8');
    const client = clientFor(fake);
    const outcome = await harvestRun(run.id, {
      client,
      store: new LocalFolder(dest),
      artifacts: DEFAULT_ARTIFACTS,
      sleep: async () => {},
    });
    client.close();
    expect(outcome).toMatchObject({ status: 'failed', error: expect.stringMatching(/not valid UTF-8/) });
    const stepDir = join(dest, runFolder(run), `step=${step}`);
    expect(await readdir(stepDir).catch(() => [])).not.toContain('manifest.json');
    expect(await readdir(join(dest, runFolder(run))).catch(() => [])).not.toContain('_run.json');
    const res = await cli(['coverage', 'compute', 'doc', '--run-artifacts-dir', await artifactsDir(bad)], {}, dir);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/not valid UTF-8/);
  });

  it('retrieve-run-artifacts replaces no file it did not write, unless --force', async () => {
    const { run } = runWithCatalog(3);
    const out = await folder('force');
    await writeFile(join(out, 'manifest.json'), '{"mine": true}\n');
    const args = ['retrieve-run-artifacts', '--run-id', String(run.id), '--output-folder', out];
    const refused = await cli(args, account(), dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/manifest\.json[\s\S]*--force/);
    expect(await readFile(join(out, 'manifest.json'), 'utf8')).toBe('{"mine": true}\n');
    const forced = await cli([...args, '--force'], account(), dir);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(join(out, 'manifest.json'), 'utf8')).not.toBe('{"mine": true}\n');
  });

  it('a symlinked folder inside --output-folder is not written through (not retried either): its runs fail, nothing lands outside', async () => {
    const { run } = runWithCatalog(4);
    const out = await folder('links');
    const elsewhere = await folder('elsewhere');
    const day = run.createdAt.toISOString().slice(0, 10);
    await symlink(elsewhere, join(out, `date=${day}`));
    const res = await cli(
      ['retrieve-artifacts-time-interval', ...windowOf(run), '--output-folder', out],
      account(),
      dir,
    );
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toMatch(/is a symbolic link/);
    expect(res.stderr).not.toMatch(/retrying/);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it('a schema given as a number is printed as dbt-coverage prints it (Python’s str: 1e2 is 100.0)', async () => {
    const manifest = asJsonReadsIt(DUPLICATED_MANIFEST).replace('"schema":"analytics"', '"schema":1e2');
    const catalog = asJsonReadsIt(CATALOG).replace('"schema":"analytics"', '"schema":1e2');
    const res = await cli(
      ['coverage', 'compute', 'doc', '--run-artifacts-dir', await artifactsDir(manifest, catalog)],
      {},
      dir,
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('100.0.orders');
    expect(res.stdout).not.toContain('1e2');
  });

  it("_run.json keeps the environment's own fields and the ids of its connection and credentials, not them", async () => {
    const { run } = runWithCatalog(5);
    const dest = await folder('env');
    const client = clientFor(fake);
    expect(
      (await harvestRun(run.id, { client, store: new LocalFolder(dest), artifacts: DEFAULT_ARTIFACTS })).status,
    ).toBe('stored');
    client.close();
    const stored = JSON.parse(await readFile(join(dest, runFolder(run), '_run.json'), 'utf8')) as {
      environment: Record<string, unknown>;
    };
    expect(Object.keys(stored.environment).every((k) => (ENVIRONMENT_FIELDS as readonly string[]).includes(k))).toBe(
      true,
    );
    expect(stored.environment).toMatchObject({ name: expect.any(String), credentials_id: expect.any(Number) });
    expect(stored.environment).not.toHaveProperty('credentials');
    expect(stored.environment).not.toHaveProperty('connection');
  });

  it('a wrong port is a setting to fix: exit 2 within seconds, naming --host', async () => {
    const res = await cliProcess(
      ['retrieve-run-artifacts', '--run-id', '1', '--output-folder', await folder('port')],
      { ...account(), DBT_CLOUD_HOST: 'http://127.0.0.1:1' },
      { timeoutMs: 60_000 },
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/connection refused[\s\S]*--host/);
  });

  it('a bucket that does not exist: one message naming it, exit 2, before any run', async () => {
    const { run } = runWithCatalog(0);
    const before = fake.requestsOf('run').length;
    const res = await cli(
      ['retrieve-artifacts-time-interval', ...windowOf(run), '--gcs-bucket-name', 'no-such-bucket'],
      { ...account(), STORAGE_API_ENDPOINT: gcs.url },
      dir,
    );
    expect(res.code, res.stderr).toBe(2);
    // One message (and the pointer to --help), no warning per run.
    expect(res.stderr.match(/no-such-bucket does not exist/g), res.stderr).toHaveLength(1);
    expect(res.stderr).not.toMatch(/WARNING/);
    expect(fake.requestsOf('run').length).toBe(before);
  });
});
