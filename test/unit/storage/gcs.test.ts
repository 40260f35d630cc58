import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBucket } from '../../../lib/storage/gcs.ts';
import { startFakeGcs, type FakeGcs } from '../../../harness/fake-gcs/server.ts';

/** Write-once objects through the real storage client: whatever way the service refuses an overwrite. */
let gcs: FakeGcs;
beforeAll(async () => {
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  gcs = await startFakeGcs();
});
afterAll(() => gcs.stop());

const body = (text: string) => Readable.from([Buffer.from(text)]);

describe('the Cloud Storage sink', () => {
  it.each([412, 403] as const)(
    'treats a refused overwrite (%s) of an existing object as already stored, and keeps the object',
    async (status) => {
      gcs.existingObjectStatus = status;
      const sink = openBucket('write-once', `case-${status}`, gcs.url);
      expect(
        await sink.write('run/_run.json', body('{"v":1}\n'), { contentType: 'application/json', size: 8 }),
      ).toEqual({ status: 'stored', bytes: 8 });
      const generation = gcs.objects.get(`write-once/case-${status}/run/_run.json`)!.generation;
      expect(
        await sink.write('run/_run.json', body('{"v":2}\n'), { contentType: 'application/json', size: 8 }),
      ).toEqual({ status: 'exists', bytes: 0 });
      const kept = gcs.objects.get(`write-once/case-${status}/run/_run.json`)!;
      expect([kept.generation, kept.data?.toString()]).toEqual([generation, '{"v":1}\n']);
    },
  );

  it('fails a 403 for an object that does not exist: a real refusal, not "stored"', async () => {
    gcs.existingObjectStatus = 403;
    gcs.fail({ op: 'upload', status: 403, times: 1 });
    const sink = openBucket('write-once', 'denied', gcs.url);
    await expect(
      sink.write('run/_run.json', body('{}\n'), { contentType: 'application/json', size: 3 }),
    ).rejects.toThrow();
    expect(gcs.objects.has('write-once/denied/run/_run.json')).toBe(false);
  });
});
