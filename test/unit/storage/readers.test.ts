import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, ObjectNotFoundError, type ObjectReader } from '../../../lib/storage/index.ts';
import { startFakeGcs, type FakeGcs } from '../../../harness/fake-gcs/server.ts';

/** Reading stored objects back, from a folder or (through the real client) a bucket, alike. */
let gcs: FakeGcs;
let dir: string;
const OBJECTS = [
  'date=2022-06-01/hour=09/job_id=1/run_id=10/_run.json',
  'date=2022-06-01/hour=09/job_id=1/run_id=10/step=4/coverage.json',
  'date=2022-06-01/hour=10/job_id=2/run_id=11/_run.json',
  'date=2022-06-02/hour=00/job_id=1/run_id=12/_run.json',
];

beforeAll(async () => {
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  gcs = await startFakeGcs();
  dir = await mkdtemp(join(tmpdir(), 'reader-'));
  for (const path of OBJECTS) {
    gcs.put('history', `team/${path}`, Buffer.from(`{"path":"${path}"}\n`));
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), `{"path":"${path}"}\n`);
  }
  // What a killed local writer leaves is not an object; another prefix is not this destination.
  await writeFile(join(dir, 'date=2022-06-01/hour=09/job_id=1/run_id=10/step=4/.manifest.json.123.partial'), 'half');
  gcs.put('history', 'other/date=2022-06-01/_run.json', Buffer.from('{}'));
});
afterAll(async () => {
  await gcs.stop();
  await rm(dir, { recursive: true, force: true });
});

const text = async (s: Readable): Promise<string> => {
  let out = '';
  for await (const c of s) out += String(c);
  return out;
};
const all = async (it: AsyncIterable<{ path: string }>): Promise<string[]> => {
  const out: string[] = [];
  for await (const e of it) out.push(e.path);
  return out;
};

describe.each([
  ['a folder', () => openStore({ kind: 'local', path: dir })],
  ['a bucket', () => openStore({ kind: 'gcs', bucket: 'history', prefix: 'team' }, { storageApiEndpoint: gcs.url })],
] as [string, () => Promise<ObjectReader>][])('reading %s', (_name, open) => {
  it('lists every object in path order, relative to the destination, and only under a prefix when given one', async () => {
    const reader = await open();
    expect(await all(reader.list())).toEqual([...OBJECTS].sort());
    expect(await all(reader.list('date=2022-06-01/'))).toEqual(OBJECTS.slice(0, 3));
    expect(await all(reader.list('date=2022-06-01/hour=09/job_id=1/run_id=10/step'))).toEqual([OBJECTS[1]]);
    expect(await all(reader.list('date=2030'))).toEqual([]);
  });

  it('reads an object, and says when there is none', async () => {
    const reader = await open();
    expect(await text(await reader.read(OBJECTS[1]!))).toBe(`{"path":"${OBJECTS[1]}"}\n`);
    await expect(reader.read('date=2022-06-01/nothing.json')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(reader.read('../etc/passwd')).rejects.toThrow(/unsafe path/);
  });
});

describe('reading a bucket', () => {
  it('pages through more objects than one listing returns', async () => {
    for (let i = 0; i < 1203; i++) gcs.put('big', `p/obj-${String(i).padStart(4, '0')}.json`, Buffer.from('{}'));
    const reader = await openStore({ kind: 'gcs', bucket: 'big', prefix: 'p' }, { storageApiEndpoint: gcs.url });
    const listed = await all(reader.list());
    expect(listed).toHaveLength(1203);
    expect(new Set(listed).size).toBe(1203);
    expect(gcs.requests.filter((r) => r.op === 'list' && r.path.includes('/b/big/')).length).toBeGreaterThanOrEqual(2);
  });
});
