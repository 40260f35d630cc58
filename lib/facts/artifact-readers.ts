/**
 * Which reader each artifact streams through, in one table: the facts reader of a file whose facts
 * a step's summaries need (its slot says where they go), else the check that the file is one whole
 * document of its kind (JSON, or Parquet for Fusion's telemetry), so that a body cut short or
 * replaced by a proxy's page is never stored. The harvest and the history's rebuild from stored
 * files both look up here.
 * @module
 */
import type { CatalogFacts, ManifestFacts } from '../coverage/coverage.ts';
import type { RunResultsFacts, SourcesFacts } from '../core/run-facts.ts';
import { CatalogReader } from './catalog.ts';
import { isParquet } from './checked.ts';
import { ManifestReader } from './manifest.ts';
import { ParquetCheck } from './parquet.ts';
import { JsonCheck, type ArtifactReader, type Read } from './reader.ts';
import { RunResultsReader, SourcesReader } from './run-results.ts';

/** What a step's files say, by slot: freshness.json's over sources.json's where a step has both. */
export interface StepFactsRead {
  manifest?: Read<ManifestFacts>;
  catalog?: Read<CatalogFacts>;
  results?: Read<RunResultsFacts>;
  sources?: Read<SourcesFacts>;
  freshness?: Read<SourcesFacts>;
}
export type FactSlot = keyof StepFactsRead;

/** What decides a file's reader beyond its name. */
export interface ReadingContext {
  /** Coverage is computed (the manifest and the catalog are read for it). */
  coverage: boolean;
  /** The step generates docs: its catalog is matched to its manifest's tables and columns. */
  catalogStep: boolean;
}

interface ReaderRow {
  slot: FactSlot | null;
  matches: (file: string, ctx: ReadingContext) => boolean;
  reader: (file: string, ctx: ReadingContext) => ArtifactReader<unknown>;
}

/** The first row that matches a file is its reader. */
export const ARTIFACT_READERS: readonly ReaderRow[] = [
  {
    slot: 'manifest',
    matches: (f, c) => c.coverage && f === 'manifest.json',
    // Tables and columns only where a catalog comes to match them.
    reader: (f, c) => new ManifestReader(f, {}, { tables: c.catalogStep }),
  },
  {
    slot: 'catalog',
    matches: (f, c) => c.coverage && c.catalogStep && f === 'catalog.json',
    reader: (f) => new CatalogReader(f),
  },
  { slot: 'results', matches: (f) => f === 'run_results.json', reader: (f) => new RunResultsReader(f) },
  { slot: 'sources', matches: (f) => f === 'sources.json', reader: (f) => new SourcesReader(f) },
  { slot: 'freshness', matches: (f) => f === 'freshness.json', reader: (f) => new SourcesReader(f) },
  { slot: null, matches: (f) => isParquet(f), reader: (f) => new ParquetCheck(f) },
  { slot: null, matches: () => true, reader: (f) => new JsonCheck(f) },
];

/** A file's reader (a fresh one each call) and the slot its facts go to (null: only checked). */
export function readerFor(
  file: string,
  ctx: ReadingContext,
): { slot: FactSlot | null; reader: () => ArtifactReader<unknown> } {
  const row = ARTIFACT_READERS.find((r) => r.matches(file, ctx))!;
  return { slot: row.slot, reader: () => row.reader(file, ctx) };
}
