/**
 * Rows of runs stored before the history rollup existed: the runs of a destination's tree, and a
 * run's row computed from its stored files (`_run.json`, each step's run results and freshness
 * (freshness.json, else sources.json),
 * and its coverage summary, itself computed from the stored manifest and catalog where the run has
 * none), as the harvester would have made it.
 * @module
 */
import { summarize } from '../coverage/coverage.ts';
import { COVERAGE_FILE, type CoverageSummary } from '../core/coverage-summary.ts';
import { historyRow, runForRow, type HistoryRow, type StepFacts } from '../core/history-row.ts';
import { RUN_MARKER } from '../core/paths.ts';
import { CatalogReader } from '../facts/catalog.ts';
import { CoverageFiguresReader } from '../facts/coverage-figures.ts';
import { ManifestReader } from '../facts/manifest.ts';
import { readFacts } from '../facts/reader.ts';
import { RunResultsReader, SourcesReader } from '../facts/run-results.ts';
import { readSmall, type ObjectReader } from '../storage/index.ts';
import { parseJsonBounded } from '../json/json-scan.ts';

const RUN_PATH =
  /^(?:(.*)\/)?date=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/job_id=(\d+)\/run_id=(\d+)\/(?:step=(\d+)\/)?([^/]+)$/;

export interface StoredRun {
  folder: string;
  date: string;
  jobId: number;
  runId: number;
  /** Step -> the files it has. */
  steps: Map<number, Set<string>>;
}

/** The runs of a destination's tree that are whole (their `_run.json` is stored), in path order. */
export async function* listRuns(reader: ObjectReader, onPage: () => void = () => {}): AsyncGenerator<StoredRun> {
  let current = null as (StoredRun & { complete: boolean }) | null;
  let n = 0;
  for await (const entry of reader.list()) {
    if (n++ % 1000 === 0) onPage();
    const m = RUN_PATH.exec(entry.path);
    if (!m) continue;
    const [, lead, date, hour, job, run, step, file] = m as unknown as [
      string,
      string | undefined,
      string,
      string,
      string,
      string,
      string | undefined,
      string,
    ];
    const folder = `${lead ? `${lead}/` : ''}date=${date}/hour=${hour}/job_id=${job}/run_id=${run}`;
    if (current?.folder !== folder) {
      if (current?.complete) yield current;
      current = { folder, date, jobId: Number(job), runId: Number(run), steps: new Map(), complete: false };
    }
    if (step === undefined) {
      if (file === RUN_MARKER) current.complete = true;
      continue;
    }
    const files = current.steps.get(Number(step)) ?? new Set<string>();
    current.steps.set(Number(step), files);
    files.add(file);
  }
  if (current?.complete) yield current;
}

/** A row for a stored run, from its files. */
export async function rowOfStoredRun(reader: ObjectReader, run: StoredRun, onRead: () => void): Promise<HistoryRow> {
  const read = <T>(path: string, make: (what: string) => Parameters<typeof readFacts<T>>[1]): Promise<T> => {
    onRead();
    return reader.read(path).then((body) => readFacts(body, make(path)));
  };
  onRead();
  const meta = runForRow(parseJsonBounded(await readSmall(reader, `${run.folder}/${RUN_MARKER}`, 4 * 1024 * 1024)));
  const steps = [...run.steps].sort(([a], [b]) => a - b);
  // The step whose coverage stands for the run: the last with a catalog, else the last with a manifest.
  const standing =
    [...steps].reverse().find(([, f]) => f.has('catalog.json') && f.has('manifest.json')) ??
    [...steps].reverse().find(([, f]) => f.has(COVERAGE_FILE) || f.has('manifest.json'));
  const facts: StepFacts[] = [];
  for (const [index, files] of steps) {
    const dir = `${run.folder}/step=${index}`;
    const resultsFile = [...files].find((f) => f.endsWith('run_results.json'));
    const results = resultsFile ? await read(`${dir}/${resultsFile}`, (w) => new RunResultsReader(w)) : null;
    // The step's freshness: freshness.json (dbt freshness: sources and models) over sources.json.
    const freshnessFile = files.has('freshness.json')
      ? 'freshness.json'
      : files.has('sources.json')
        ? 'sources.json'
        : null;
    const sources = freshnessFile ? await read(`${dir}/${freshnessFile}`, (w) => new SourcesReader(w)) : null;
    // The command, from the stored name of its results (<command>_run_results.json).
    const command = resultsFile ? resultsFile.slice(0, -'_run_results.json'.length) || null : null;
    let coverage: CoverageSummary | null = null;
    const catalog = files.has('catalog.json') && files.has('manifest.json');
    if (standing?.[0] === index) {
      if (files.has(COVERAGE_FILE)) {
        // Its figures only: the per-table lists (megabytes for a big project) stream past.
        coverage = await read(`${dir}/${COVERAGE_FILE}`, (w) => new CoverageFiguresReader(w));
      } else {
        const manifest = await read(`${dir}/manifest.json`, (w) => new ManifestReader(w));
        const catalogFacts = catalog ? await read(`${dir}/catalog.json`, (w) => new CatalogReader(w)) : null;
        coverage = {
          ...summarize(manifest, catalogFacts, { finishedAt: null, jobName: meta.jobName }),
          computed: true,
        };
      }
    }
    facts.push({ index, command, results, sources, coverage, catalog });
  }
  return historyRow(meta, facts);
}
