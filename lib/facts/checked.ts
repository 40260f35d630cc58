/**
 * The whole-document check of an artifact by its kind, for the commands that write artifacts
 * without reading facts from them: one whole JSON document, or one whole Parquet file (Fusion's
 * telemetry). A writer that gets the check's error leaves nothing behind.
 * @module
 */
import type { Transform } from 'node:stream';
import { ParquetCheck } from './parquet.ts';
import { jsonChecked, readThrough } from './reader.ts';

export const isParquet = (file: string): boolean => file.endsWith('.parquet');

/** A pass-through that fails unless what passes is one whole document of the file's kind. */
export const checkedArtifact = (file: string): Transform =>
  isParquet(file) ? readThrough(new ParquetCheck(file)) : jsonChecked(file);

/** The content type an artifact is stored with. */
export const storedContentType = (file: string): string =>
  isParquet(file) ? 'application/x-parquet' : 'application/json';
