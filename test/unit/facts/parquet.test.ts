import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { ArtifactParquetError, ParquetCheck } from '../../../lib/facts/parquet.ts';
import { readFacts } from '../../../lib/facts/reader.ts';
import { telemetryBytes } from '../../../harness/fake-dbt-cloud/telemetry.ts';

/** A file in chunks of random sizes, as a body arrives. */
function* chunks(bytes: Buffer, seed = 7): Generator<Buffer> {
  let s = seed;
  for (let i = 0; i < bytes.length; ) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (s % 997);
    yield bytes.subarray(i, i + n);
    i += n;
  }
}

const check = (bytes: Buffer, options?: { maxFooter?: number }) =>
  readFacts(Readable.from(chunks(bytes)), new ParquetCheck('metadata/telemetry-4-otel.parquet', options));

const telemetry = telemetryBytes({
  seed: 42,
  runId: 2_147_553_648,
  step: 4,
  command: 'build',
  nodes: 40,
  failing: true,
  startedAt: new Date('2026-12-01T09:00:00Z'),
});

describe('a Parquet file, checked whole as it streams', () => {
  it('passes a whole file, in any chunks, and reads what its metadata declares', async () => {
    expect(await check(telemetry)).toEqual({ rows: 41, rowGroups: 1, columns: 10 });
    const many = Buffer.from(
      parquetWriteBuffer({
        columnData: [{ name: 'n', data: Array.from({ length: 5000 }, (_, i) => i), type: 'INT32' }],
        rowGroupSize: 1000,
      }),
    );
    expect(await check(many)).toEqual({ rows: 5000, rowGroups: 5, columns: 5 });
  });

  const broken: [string, Buffer, RegExp][] = [
    [
      'an HTML maintenance page answered 200',
      Buffer.from('<html><body>Down for maintenance</body></html>'),
      /starts with "<htm", not the magic "PAR1"/,
    ],
    ['a JSON error body', Buffer.from('{"status":{"code":503}}'), /not the magic "PAR1"/],
    ['an empty body', Buffer.alloc(0), /fewer than the 12 of the smallest Parquet file/],
    ['a body cut short', telemetry.subarray(0, telemetry.length - 100), /does not end with the magic "PAR1"/],
    ['a body cut at its last byte', telemetry.subarray(0, telemetry.length - 1), /does not end with the magic "PAR1"/],
    [
      'a body whose middle is missing (the right start and end)',
      Buffer.concat([telemetry.subarray(0, 200), telemetry.subarray(telemetry.length - 600)]),
      /lies at bytes|does not read|longer than the file/,
    ],
    [
      'a metadata length past the file',
      Buffer.concat([
        telemetry.subarray(0, telemetry.length - 8),
        Buffer.from([0xff, 0xff, 0, 0]),
        Buffer.from('PAR1'),
      ]),
      /metadata length 65535 is longer than the file/,
    ],
    [
      'metadata that is not Thrift',
      (() => {
        const b = Buffer.from(telemetry);
        const len = b.readUInt32LE(b.length - 8);
        b.fill(0xff, b.length - 8 - len, b.length - 8);
        return b;
      })(),
      /metadata does not read/,
    ],
  ];

  it.each(broken)('refuses %s', async (_what, bytes, reason) => {
    const err = await check(bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactParquetError);
    expect((err as Error).message).toMatch(/^metadata\/telemetry-4-otel\.parquet is not a whole Parquet file: /);
    expect((err as Error).message).toMatch(reason);
  });

  it('holds only the end of a large file, and refuses metadata larger than it reads', async () => {
    const big = Buffer.from(
      parquetWriteBuffer({
        columnData: [
          {
            name: 's',
            data: Array.from({ length: 200_000 }, (_, i) => `row ${i} ${'x'.repeat(i % 50)}`),
            type: 'STRING',
          },
        ],
      }),
    );
    const c = new ParquetCheck('big.parquet', { maxFooter: 4096 });
    let held = 0;
    for (const chunk of chunks(big)) {
      c.write(chunk);
      held = Math.max(held, (c as unknown as { tailBytes: number }).tailBytes);
    }
    expect(c.finish().rows).toBe(200_000);
    expect(big.length).toBeGreaterThan(1_000_000);
    expect(held).toBeLessThan(4096 + 8 + 1000);
    const small = new ParquetCheck('big.parquet', { maxFooter: 64 });
    for (const chunk of chunks(big)) small.write(chunk);
    expect(() => small.finish()).toThrow(/metadata \(\d+ bytes\) is larger than the 64 bytes read here/);
  });
});
