/**
 * A Parquet file checked whole as it streams, holding none of it but its end: Fusion's per-step
 * telemetry (`metadata/telemetry-<step>-otel.parquet`) is stored only when it is one. The format
 * (apache/parquet-format, "File Format"): the magic `PAR1` at both ends, before the trailing one a
 * 4-byte little-endian length, and before that the file's metadata (Thrift compact protocol). The
 * metadata is read by hyparquet, a maintained pure-JavaScript Parquet library; every column chunk
 * it names must lie between the leading magic and the metadata, so a body cut short, or another
 * file's end, is not taken for it. A 200 answer that is an HTML maintenance page fails at its first
 * bytes.
 * @module
 */
import { parquetMetadata } from 'hyparquet';
import { errorMessage } from '../core/errors.ts';
import { ArtifactContentError, type ArtifactReader } from './reader.ts';

/** An artifact that is not a whole Parquet file: it is not to be stored. */
export class ArtifactParquetError extends ArtifactContentError {
  constructor(what: string, reason: string) {
    super('ARTIFACT_PARQUET', `${what} is not a whole Parquet file: ${reason}`, { exitCode: 2 });
  }
}

const MAGIC = Buffer.from('PAR1', 'latin1');
/**
 * The most of a file's end kept to read its metadata. Telemetry metadata is a few kilobytes (a
 * schema of a dozen columns, a row group or a few); a file whose metadata is larger is refused
 * rather than held.
 */
export const MAX_PARQUET_FOOTER = 8 * 1024 * 1024;

/** What the check found: the rows and row groups the metadata declares. */
export interface ParquetFacts {
  rows: number;
  rowGroups: number;
  columns: number;
}

export class ParquetCheck implements ArtifactReader<ParquetFacts> {
  private readonly what: string;
  private readonly maxFooter: number;
  private head = Buffer.alloc(0);
  /** The last bytes seen, at most maxFooter + 8 of them. */
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(what: string, options: { maxFooter?: number } = {}) {
    this.what = what;
    this.maxFooter = options.maxFooter ?? MAX_PARQUET_FOOTER;
  }

  get bytes(): number {
    return this.total;
  }

  write(chunk: Uint8Array): void {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.head.length < 4) {
      this.head = Buffer.concat([this.head, buf.subarray(0, 4 - this.head.length)]);
      const seen = this.head.length;
      if (!this.head.equals(MAGIC.subarray(0, seen)))
        throw new ArtifactParquetError(
          this.what,
          `it starts with ${JSON.stringify(this.head.toString('latin1'))}, not the magic "PAR1"`,
        );
    }
    this.total += buf.length;
    // A copy: the chunk's memory may be reused once this returns.
    this.tail.push(Buffer.from(buf));
    this.tailBytes += buf.length;
    const keep = this.maxFooter + 8;
    while (this.tailBytes - this.tail[0]!.length >= keep) this.tailBytes -= this.tail.shift()!.length;
  }

  finish(): ParquetFacts {
    const fail = (reason: string): never => {
      throw new ArtifactParquetError(this.what, reason);
    };
    if (this.total < 12) fail(`it has ${this.total} bytes, fewer than the 12 of the smallest Parquet file`);
    const end = Buffer.concat(this.tail);
    this.tail = [end];
    if (!end.subarray(end.length - 4).equals(MAGIC)) fail('it does not end with the magic "PAR1" (cut short?)');
    const metadataLength = end.readUInt32LE(end.length - 8);
    if (metadataLength + 12 > this.total)
      fail(`its metadata length ${metadataLength} is longer than the file (${this.total} bytes)`);
    if (metadataLength > this.maxFooter || metadataLength + 8 > end.length)
      fail(`its metadata (${metadataLength} bytes) is larger than the ${this.maxFooter} bytes read here`);
    let metadata: ReturnType<typeof parquetMetadata>;
    try {
      metadata = parquetMetadata(end.subarray(end.length - metadataLength - 8));
    } catch (err) {
      return fail(`its metadata does not read: ${errorMessage(err)}`);
    }
    // Every column chunk between the leading magic and the metadata.
    const dataEnd = BigInt(this.total - 8 - metadataLength);
    let rows = 0n;
    let columns = 0;
    for (const group of metadata.row_groups) {
      rows += group.num_rows;
      for (const chunk of group.columns) {
        columns++;
        const meta = chunk.meta_data;
        if (!meta) continue;
        const start = meta.dictionary_page_offset ?? meta.data_page_offset;
        if (start < 4n || start + meta.total_compressed_size > dataEnd)
          fail(
            `column ${meta.path_in_schema.join('.')} lies at bytes ${start}..${start + meta.total_compressed_size}, outside the file's data (4..${dataEnd})`,
          );
      }
    }
    if (rows !== metadata.num_rows) fail(`its row groups hold ${rows} rows, its metadata says ${metadata.num_rows}`);
    return { rows: Number(metadata.num_rows), rowGroups: metadata.row_groups.length, columns };
  }
}
