/**
 * A destination's stored runs as OpenLineage events, run by run, into a sink. Per run: its
 * `_run.json`; each step's run results; the run's last catalog, for the columns of the tables its
 * steps ran; then step by step its manifest, read for the nodes that step ran, mapped (mapping.ts),
 * each event checked against the spec's schemas (openlineage.ts), and handed to the sink before
 * the next step is read. Memory holds one run's results and one step's manifest facts, whatever
 * the number of runs; a run or step that cannot be read is reported and left out, never fatal.
 * @module
 */
import { errorMessage } from '../core/errors.ts';
import type { Limits } from '../facts/reader.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { ObjectReader } from '../storage/index.ts';
import { LineageManifestReader, type LineageColumn, type LineageManifest } from './lineage-manifest.ts';
import { LineageCatalogReader, LineageResultsReader, type LineageResults } from './lineage-results.ts';
import { LineageSinkError, type LineageSink } from './lineage-sink.ts';
import { mapStep, type MappingOptions } from './mapping.ts';
import { eventProblems } from './openlineage.ts';
import { readRunMeta, storedRuns, type RunFilter, type StoredRunFolder } from './stored-runs.ts';

export interface ExportOptions extends MappingOptions, RunFilter {
  logger?: Logger;
  limits?: Partial<Limits>;
}

export interface ExportSummary {
  runs: number;
  steps: number;
  events: number;
  /** What was left out, and why (at most 100 named). */
  skipped: { path: string; reason: string }[];
  skippedCount: number;
}

/** The commands whose steps have lineage (mapping.ts). */
const LINEAGE_COMMANDS = new Set(['run', 'build', 'seed', 'snapshot', 'test']);

/** An event the mapping made that the spec refuses: a bug of this product, never sent. */
export class InvalidEventError extends Error {}

async function readWith<T>(store: ObjectReader, path: string, reader: { write(c: Uint8Array): void; finish(): T }) {
  for await (const chunk of await store.read(path))
    reader.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
  return reader.finish();
}

export async function exportLineage(
  store: ObjectReader,
  sink: LineageSink,
  options: ExportOptions,
): Promise<ExportSummary> {
  const log = options.logger ?? silentLogger;
  const summary: ExportSummary = { runs: 0, steps: 0, events: 0, skipped: [], skippedCount: 0 };
  const skip = (path: string, err: unknown) => {
    summary.skippedCount++;
    const reason = errorMessage(err);
    if (summary.skipped.length < 100) summary.skipped.push({ path, reason });
    log.warn('lineage left out', { path, reason });
  };
  for await (const folder of storedRuns(store, options)) {
    try {
      await exportRun(store, sink, folder, options, summary, skip);
      summary.runs++;
    } catch (err) {
      if (err instanceof InvalidEventError || err instanceof LineageSinkError) throw err;
      skip(folder.folder, err);
    }
  }
  return summary;
}

async function exportRun(
  store: ObjectReader,
  sink: LineageSink,
  folder: StoredRunFolder,
  options: ExportOptions,
  summary: ExportSummary,
  skip: (path: string, err: unknown) => void,
): Promise<void> {
  const meta = await readRunMeta(store, folder.folder);
  const steps = [...folder.steps].sort(([a], [b]) => a - b);
  // Every step's results first (they say which nodes ran), then the run's last catalog for those.
  const results = new Map<number, LineageResults>();
  for (const [index, files] of steps) {
    const file = [...files].find((f) => f.endsWith('run_results.json'));
    if (!file || !files.has('manifest.json')) continue;
    const path = `${folder.folder}/step=${index}/${file}`;
    try {
      const read = await readWith(store, path, new LineageResultsReader(path, options.limits));
      if (read.command !== null && LINEAGE_COMMANDS.has(read.command)) results.set(index, read);
    } catch (err) {
      skip(path, err);
    }
  }
  const ran = new Set([...results.values()].flatMap((r) => r.results.map((n) => n.id)));
  const withCatalog = steps.filter(([, files]) => files.has('catalog.json')).pop();
  let catalog: Map<string, LineageColumn[]> | null = null;
  if (withCatalog && ran.size > 0) {
    const path = `${folder.folder}/step=${withCatalog[0]}/catalog.json`;
    try {
      catalog = await readWith(store, path, new LineageCatalogReader(ran, path, options.limits));
    } catch (err) {
      skip(path, err);
    }
  }
  for (const [index, stepResults] of results) {
    const path = `${folder.folder}/step=${index}/manifest.json`;
    let manifest: LineageManifest;
    try {
      const wanted = new Set(stepResults.results.map((n) => n.id));
      manifest = await readWith(store, path, new LineageManifestReader(wanted, path, options.limits));
    } catch (err) {
      skip(path, err);
      continue;
    }
    const times = meta.steps.get(index);
    const step = { index, startedAt: times?.startedAt ?? null, finishedAt: times?.finishedAt ?? null };
    const events = mapStep({ run: meta.run, step, results: stepResults, manifest, catalog }, options);
    for (const event of events) {
      const problems = eventProblems(event);
      if (problems.length > 0)
        throw new InvalidEventError(
          `the event of ${event.job.name} made from ${path} breaks the OpenLineage schema (${problems.slice(0, 5).join('; ')}): please report this`,
        );
      try {
        await sink.send(event);
      } catch (err) {
        throw err instanceof LineageSinkError ? err : new LineageSinkError(sink.description, err);
      }
      summary.events++;
    }
    summary.steps++;
  }
}
