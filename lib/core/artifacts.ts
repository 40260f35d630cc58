/**
 * Which artifacts to ask dbt Cloud for, step by step: only what a step's command can write, and
 * every top-level JSON artifact the run's own list names.
 *
 * dbt's table ("When are artifacts produced?", https://docs.getdbt.com/reference/artifacts/dbt-artifacts):
 * - manifest.json: commands that read and understand the project (every command but deps, clean,
 *   debug, init);
 * - semantic_manifest.json: whenever a project is parsed (in a project with semantic models);
 * - run_results.json: commands that run, compile or catalog nodes (build, clone, compile, docs
 *   generate, retry, run, run-operation, seed, show, snapshot, test);
 * - catalog.json: docs generate; sources.json: source freshness.
 * A command the table does not know gets the four files, so that nothing is lost to it.
 *
 * dbt Cloud's `GET runs/{id}/artifacts/` lists the files of the run's last step only
 * (../shared/dbt-cloud-api.md): its top-level JSON files are asked for that step without probing,
 * and the names beyond the four (semantic_manifest.json, graph_summary.json, freshness.json, ...)
 * are probed on the earlier steps whose command parses. Without a list, the table decides, and
 * semantic_manifest.json is probed on the steps that parse.
 *
 * dbt v2 adds `dbt freshness` (sources and models; it writes freshness.json, and sources.json when
 * sources were checked: docs.getdbt.com reference/commands/freshness), and for Fusion job runs a
 * per-step OpenTelemetry file, `metadata/telemetry-<step>-otel.parquet` ("Retrieve Run Artifact",
 * dbt's v2 OpenAPI spec, August 2026; uploaded only where the account enables it). A run whose list
 * names a telemetry file has it asked for every dbt step (the list's own steps' as promised); a run
 * whose list names none is asked for none, so runs without telemetry cost no request for it.
 * @module
 */
import type { DbtStep } from './steps.ts';

/** The four artifacts dbt documents for every project. */
export const CORE_ARTIFACTS = ['manifest.json', 'run_results.json', 'catalog.json', 'sources.json'] as const;

/** What dbt documents a parse writes beyond the manifest (in a project with semantic models). */
export const PARSE_EXTRAS: readonly string[] = ['semantic_manifest.json'];

/** Which artifacts to harvest: every top-level JSON artifact, or only these names. */
export type ArtifactChoice = 'all' | readonly string[];

const NO_PROJECT = new Set(['deps', 'clean', 'debug', 'init']);
const RUNS_NODES = new Set([
  'build',
  'clone',
  'compile',
  'docs generate',
  'retry',
  'run',
  'run-operation',
  'seed',
  'show',
  'snapshot',
  'test',
]);
const PARSES_ONLY = new Set(['parse', 'list', 'ls', 'source freshness', 'freshness']);

/** Fusion's per-step telemetry, by its path under target/. */
export const TELEMETRY = /^metadata\/telemetry-(\d+)-otel\.parquet$/;
export const telemetryFile = (step: number): string => `metadata/telemetry-${step}-otel.parquet`;
/** The allow-list's name for the telemetry files (HARVEST_ARTIFACTS). */
export const TELEMETRY_CHOICE = 'telemetry';

/** Commands whose run_results.json lists nodes compiled or catalogued, not executed: no result of them counts. */
const NOT_EXECUTING = new Set(['compile', 'docs generate', 'show', 'parse', 'list', 'ls']);
export const executesNodes = (subcommand: string): boolean => !NOT_EXECUTING.has(subcommand);

/** Whether dbt's table knows the command. */
export const knownCommand = (subcommand: string): boolean =>
  NO_PROJECT.has(subcommand) || RUNS_NODES.has(subcommand) || PARSES_ONLY.has(subcommand);

/** Whether the command parses the project (and so may write the parse-time extras). */
export const parses = (subcommand: string): boolean => !NO_PROJECT.has(subcommand);

/** The files of dbt's table a command writes (all four for a command the table does not know). */
export function filesOfCommand(subcommand: string): string[] {
  if (!knownCommand(subcommand)) return [...CORE_ARTIFACTS];
  if (NO_PROJECT.has(subcommand)) return [];
  const files = ['manifest.json'];
  if (RUNS_NODES.has(subcommand)) files.push('run_results.json');
  if (subcommand === 'docs generate') files.push('catalog.json');
  if (subcommand === 'source freshness') files.push('sources.json');
  if (subcommand === 'freshness') files.push('freshness.json', 'sources.json');
  return files;
}

/** A top-level JSON artifact's name (`semantic_manifest.json`), not a nested file (`compiled/...`). */
export const isTopLevelJson = (name: string): boolean =>
  /^[A-Za-z0-9_.-]+\.json$/.test(name) && name !== '.json' && !name.startsWith('.');

export interface PlannedFile {
  step: DbtStep;
  file: string;
  /** The run's list names it: a 404 is a failure, not "this step has none". */
  promised: boolean;
}

/**
 * The files to ask for, step by step. `listed` is the run's artifact list (the last step's files),
 * null when there is none or it is empty.
 */
export function planArtifacts(
  steps: readonly DbtStep[],
  listed: readonly string[] | null,
  wanted: ArtifactChoice,
): PlannedFile[] {
  const allowed = (name: string): boolean => wanted === 'all' || wanted.includes(name);
  const ordered = [...steps].sort((a, b) => a.index - b.index);
  const last = ordered.at(-1);
  const top = (listed ?? []).filter(isTopLevelJson);
  const plan: PlannedFile[] = [];
  const add = (step: DbtStep, files: Iterable<string>, promised: boolean) => {
    for (const file of new Set(files)) if (allowed(file)) plan.push({ step, file, promised });
  };
  if (top.length > 0 && last) {
    const extras = top.filter((f) => !(CORE_ARTIFACTS as readonly string[]).includes(f));
    for (const step of ordered) {
      if (step === last) add(step, top, true);
      else add(step, [...filesOfCommand(step.subcommand), ...(parses(step.subcommand) ? extras : [])], false);
    }
  } else {
    // No list (a run whose last step wrote nothing): the table, and on the steps that parse, the
    // documented parse-time extra (or the names asked for by name).
    const named =
      wanted === 'all'
        ? PARSE_EXTRAS
        : wanted.filter((f) => f !== TELEMETRY_CHOICE && !(CORE_ARTIFACTS as readonly string[]).includes(f));
    for (const step of ordered)
      add(step, [...filesOfCommand(step.subcommand), ...(parses(step.subcommand) ? named : [])], false);
  }
  // Telemetry, where the list says the run has it: every dbt step's, the listed ones promised.
  const telemetry = new Set(
    (listed ?? [])
      .map((name) => TELEMETRY.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number),
  );
  if (telemetry.size > 0 && (wanted === 'all' || wanted.includes(TELEMETRY_CHOICE)))
    for (const step of ordered)
      plan.push({ step, file: telemetryFile(step.index), promised: telemetry.has(step.index) });
  return plan;
}

/**
 * The artifact schemas this version reads (https://schemas.getdbt.com): manifest v1 to v12, and
 * v20, which Fusion wrote for a time (dbt-labs/dbt-fusion#462; it says v12 since 2.0.0-preview.98);
 * run-results v1 to v6; sources v1 to v3; freshness v0 (dbt v2); catalog v1.
 */
const KNOWN_SCHEMAS: Record<string, (v: number) => boolean> = {
  manifest: (v) => (v >= 1 && v <= 12) || v === 20,
  'run-results': (v) => v >= 1 && v <= 6,
  sources: (v) => v >= 1 && v <= 3,
  freshness: (v) => v === 0,
  catalog: (v) => v === 1,
};

/**
 * What to say of an artifact whose `dbt_schema_version` this version does not know (a newer dbt):
 * it is stored as it is and read as far as its fields are the known ones', never refused. Null for a
 * known schema, or one this version does not track.
 */
export function schemaWarning(file: string, schemaVersion: string | null | undefined): string | null {
  if (!schemaVersion) return null;
  const m = /\/dbt\/([a-z-]+)\/v(\d+)\.json$/.exec(schemaVersion);
  const known = m ? KNOWN_SCHEMAS[m[1]!] : undefined;
  if (!m || !known || known(Number(m[2]))) return null;
  return `${file} says schema ${m[1]} v${m[2]}, newer than this version knows: it is stored as it is, and its facts read as far as its fields are the known ones'`;
}
