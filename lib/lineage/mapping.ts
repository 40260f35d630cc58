/**
 * One step of a stored dbt Cloud run as OpenLineage RunEvents: pure, from what the lineage readers
 * kept. It follows the OpenLineage dbt integration (OpenLineage/OpenLineage,
 * integration/common/src/openlineage/common/provider/dbt/processor.py, `parse_execution`,
 * `parse_test`, `extract_dataset_data`, `get_query_id`) and its naming spec (spec/Naming.md):
 *
 * - `run`, `build`, `seed` and `snapshot` steps: for each model, seed and snapshot that ran
 *   (`success` or `error`; skipped, reused and no-op nodes did not), a START and a COMPLETE (or
 *   FAIL) event; job `{database}.{schema}.{unique id without "model."}` (`.build.run` in a build),
 *   snapshots `….snapshot` (`.build.snapshot`). The integration leaves seeds out; here a seed is
 *   `….seed` (`.build.seed`), named the same way.
 * - Its output: the table, in the warehouse's namespace (BigQuery: `bigquery`) named
 *   `database.schema.alias` (a source `database.schema.identifier`); its inputs: the sources, models,
 *   seeds and snapshots of its `depends_on.nodes`.
 * - `test` and `build` steps: a TEST job per table the step tested (`….test`, `.build.test`), its
 *   input the table with a dataQualityAssertions facet, one assertion per test.
 * - Times from the run results' `timing` (execute, else compile), else the step's start and end,
 *   else the run's: never the time of export (the integration takes the present for tests).
 * - Run ids are derived (run-ids.ts) where the integration draws random ones, and a parent facet
 *   names the dbt Cloud job run on every event. A FAIL keeps its output (the integration drops it),
 *   so that a failed model's table is named in its FAIL event too.
 * @module
 */
import type { LineageColumn, LineageManifest, LineageNode, LineageTest } from './lineage-manifest.ts';
import type { LineageResults, NodeRun } from './lineage-results.ts';
import {
  RUN_EVENT_SCHEMA_URL,
  facet,
  type EventType,
  type Facets,
  type InputDataset,
  type OutputDataset,
  type RunEvent,
} from './openlineage.ts';
import { jobRunId, nodeRunId } from './run-ids.ts';

export interface RunContext {
  accountId: number;
  projectId: number | null;
  jobId: number;
  runId: number;
  startedAt: Date | null;
  finishedAt: Date;
}

export interface StepContext {
  index: number;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface StepLineage {
  run: RunContext;
  step: StepContext;
  results: LineageResults;
  manifest: LineageManifest;
  /** The run's catalog: columns of the tables its steps ran, by unique id. */
  catalog: ReadonlyMap<string, LineageColumn[]> | null;
}

export interface MappingOptions {
  /** URI of this producer (`_producer`, `producer`). */
  producer: string;
  /** The datasets' namespace where the warehouse's own cannot be told from the artifacts. */
  datasetNamespace?: string | undefined;
}

const EXECUTING = new Set(['run', 'build', 'seed', 'snapshot']);
const TESTING = new Set(['test', 'build']);
const TABLE_PREFIXES = ['model.', 'source.', 'seed.', 'snapshot.'];

/** The namespace of the jobs of a dbt Cloud project, and the name of a dbt Cloud job in it. */
export const jobNamespace = (run: RunContext): string =>
  `dbt-cloud://account/${run.accountId}/project/${run.projectId ?? 'unknown'}`;
export const parentJobName = (run: RunContext): string => `job_${run.jobId}`;

/**
 * The namespace of the warehouse's datasets: BigQuery's is `bigquery` (Naming.md); the others name a
 * host or an account the artifacts do not hold, so they take `datasetNamespace`, else the adapter.
 */
export function datasetNamespace(adapter: string | null, options: MappingOptions): string {
  if (options.datasetNamespace) return options.datasetNamespace;
  return adapter === 'bigquery' || adapter === null ? 'bigquery' : adapter;
}

/** A time as written by dbt (microseconds, maybe no offset: UTC), as RFC 3339 in milliseconds. */
export function eventTime(text: string | null | undefined): string | null {
  if (!text) return null;
  let iso = text.trim().replace(' ', 'T');
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
  const at = new Date(iso.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

const stripPrefix = (id: string, prefix: string): string => (id.startsWith(prefix) ? id.slice(prefix.length) : id);
const dotted = (...parts: (string | null)[]): string => parts.filter((p) => p).join('.');

/** Every event of one step, in the order of its run results (a node's START before its end). */
export function mapStep(step: StepLineage, options: MappingOptions): RunEvent[] {
  const command = step.results.command ?? '';
  const events: RunEvent[] = [];
  const ctx = new StepMapper(step, options);
  if (EXECUTING.has(command))
    for (const result of step.results.results) {
      const node = step.manifest.nodes.get(result.id);
      if (node && (result.status === 'success' || result.status === 'error'))
        events.push(...ctx.nodeEvents(node, result, command === 'build'));
    }
  if (TESTING.has(command)) events.push(...ctx.testEvents(command === 'build'));
  return events;
}

class StepMapper {
  private readonly step: StepLineage;
  private readonly producer: string;
  private readonly namespace: string;
  private readonly dialect: string | null;

  constructor(step: StepLineage, options: MappingOptions) {
    this.step = step;
    this.producer = options.producer;
    this.namespace = datasetNamespace(step.manifest.adapterType, options);
    this.dialect = step.manifest.adapterType;
  }

  /** A table's dataset (namespace and name), or null for a node that is not a known table. */
  private dataset(id: string): { namespace: string; name: string } | null {
    const r = this.step.manifest.relations.get(id);
    return r ? { namespace: this.namespace, name: dotted(r.database, r.schema, r.table) } : null;
  }

  /** The step's (else the run's) start and end, where a node has no timing. */
  private stepTimes(): [string, string] {
    const { run, step } = this.step;
    const end = (step.finishedAt ?? run.finishedAt).toISOString();
    return [(step.startedAt ?? run.startedAt ?? step.finishedAt ?? run.finishedAt).toISOString(), end];
  }

  private runFacets(extra: Facets = {}): Facets {
    const { run } = this.step;
    const version = this.step.results.dbtVersion ?? this.step.manifest.dbtVersion;
    return {
      parent: facet('parent', this.producer, {
        run: { runId: jobRunId(run.accountId, run.runId) },
        job: { namespace: jobNamespace(run), name: parentJobName(run) },
      }),
      ...(version ? { processing_engine: facet('processing_engine', this.producer, { name: 'dbt', version }) } : {}),
      ...extra,
    };
  }

  private event(type: EventType, time: string, runId: string, runFacets: Facets, job: RunEvent['job']): RunEvent {
    return {
      eventTime: time,
      producer: this.producer,
      schemaURL: RUN_EVENT_SCHEMA_URL,
      eventType: type,
      run: { runId, facets: runFacets },
      job,
      inputs: [],
      outputs: [],
    };
  }

  /** BigQuery's job as `project:location.job_id` where all three are known (get_query_id); else the query id. */
  private externalQuery(r: NodeRun): Facets {
    const id =
      r.jobId !== null && r.projectId !== null && r.location !== null
        ? `${r.projectId}:${r.location}.${r.jobId}`
        : (r.jobId ?? r.queryId);
    if (!id || id.toLowerCase() === 'n/a') return {};
    return { externalQuery: facet('externalQuery', this.producer, { externalQueryId: id, source: this.namespace }) };
  }

  private schemaFields(node: LineageNode): Record<string, unknown>[] {
    const described = new Map(node.columns.map((c) => [c.name.toLowerCase(), c]));
    const catalog = this.step.catalog?.get(node.id);
    if (catalog && catalog.length > 0)
      return catalog.map((c, i) => {
        const description = described.get(c.name.toLowerCase())?.description ?? c.description;
        return {
          name: c.name,
          ...(c.type ? { type: c.type } : {}),
          ...(description ? { description } : {}),
          ordinal_position: i + 1,
        };
      });
    return node.columns.map((c) => ({
      name: c.name,
      ...(c.type ? { type: c.type } : {}),
      ...(c.description ? { description: c.description } : {}),
    }));
  }

  nodeEvents(node: LineageNode, r: NodeRun, build: boolean): RunEvent[] {
    const { run, step } = this.step;
    const output = this.dataset(node.id);
    const relation = this.step.manifest.relations.get(node.id);
    if (!output || !relation) return [];
    const kind = node.type === 'model' ? 'MODEL' : node.type === 'seed' ? 'SEED' : 'SNAPSHOT';
    const suffix =
      node.type === 'model' ? (build ? '.build.run' : '') : build ? `.build.${node.type}` : `.${node.type}`;
    const job: RunEvent['job'] = {
      namespace: jobNamespace(run),
      name: dotted(relation.database, relation.schema, stripPrefix(node.id, `${node.type}.`)) + suffix,
      facets: {
        jobType: facet('jobType', this.producer, { processingType: 'BATCH', integration: 'DBT', jobType: kind }),
        ...(node.sql
          ? {
              sql: facet('sql', this.producer, { query: node.sql, ...(this.dialect ? { dialect: this.dialect } : {}) }),
            }
          : {}),
      },
    };
    const inputs: InputDataset[] = node.dependsOn
      .filter((id) => TABLE_PREFIXES.some((p) => id.startsWith(p)))
      .map((id) => this.dataset(id))
      .filter((d) => d !== null);
    const fields = this.schemaFields(node);
    const datasetFacets: Facets = {
      ...(fields.length > 0 ? { schema: facet('schema', this.producer, { fields }) } : {}),
      ...(node.description
        ? { documentation: facet('documentation', this.producer, { description: node.description }) }
        : {}),
    };
    const out: OutputDataset = { ...output, facets: datasetFacets };
    const [stepStart, stepEnd] = this.stepTimes();
    const started = eventTime(r.startedAt) ?? stepStart;
    const ended = eventTime(r.completedAt) ?? stepEnd;
    const id = nodeRunId(run.accountId, run.runId, step.index, node.id);
    const query = this.externalQuery(r);
    const start = { ...this.event('START', started, id, this.runFacets(query), job), inputs, outputs: [out] };
    if (r.status === 'error') {
      const message = r.message ?? `dbt reported ${r.status}`;
      const error = { errorMessage: facet('errorMessage', this.producer, { message, programmingLanguage: 'SQL' }) };
      return [
        start,
        { ...this.event('FAIL', ended, id, this.runFacets({ ...query, ...error }), job), inputs, outputs: [out] },
      ];
    }
    const stats =
      r.rowsAffected !== null
        ? { outputStatistics: facet('outputStatistics', this.producer, { rowCount: Math.round(r.rowsAffected) }) }
        : null;
    const completed: OutputDataset = stats ? { ...out, outputFacets: stats } : out;
    return [start, { ...this.event('COMPLETE', ended, id, this.runFacets(query), job), inputs, outputs: [completed] }];
  }

  /** The table a test asserts on: dbt's attached_node, else the rule of dbt-docs (relationships: the last parent). */
  private testedTable(t: LineageTest): string | null {
    if (t.attachedTo) return t.attachedTo;
    const tables = t.dependsOn.filter((id) => TABLE_PREFIXES.some((p) => id.startsWith(p)));
    return (t.kind === 'relationships' ? tables[tables.length - 1] : tables[0]) ?? null;
  }

  testEvents(build: boolean): RunEvent[] {
    const { run, step, manifest } = this.step;
    const byTable = new Map<string, { test: LineageTest; result: NodeRun }[]>();
    for (const result of this.step.results.results) {
      const test = manifest.tests.get(result.id);
      const table = test ? this.testedTable(test) : null;
      if (!test || !table || !manifest.relations.has(table) || result.status === 'skipped') continue;
      const list = byTable.get(table) ?? [];
      list.push({ test, result });
      byTable.set(table, list);
    }
    const events: RunEvent[] = [];
    for (const [table, tests] of byTable) {
      const relation = manifest.relations.get(table)!;
      const assertions = tests.map(({ test, result }) => ({
        assertion: test.kind ?? test.name ?? test.id,
        success: result.status === 'pass',
        ...(test.name ? { name: test.name } : {}),
        ...(test.column ? { column: test.column } : {}),
        ...(test.severity ? { severity: test.severity } : {}),
        ...(result.failures !== null ? { actual: String(result.failures) } : {}),
      }));
      const input: InputDataset = {
        ...this.dataset(table)!,
        inputFacets: { dataQualityAssertions: facet('dataQualityAssertions', this.producer, { assertions }) },
      };
      const job: RunEvent['job'] = {
        namespace: jobNamespace(run),
        name:
          dotted(relation.database, relation.schema, stripPrefix(table, 'model.')) + (build ? '.build.test' : '.test'),
        facets: {
          jobType: facet('jobType', this.producer, { processingType: 'BATCH', integration: 'DBT', jobType: 'TEST' }),
        },
      };
      const [stepStart, stepEnd] = this.stepTimes();
      const starts = tests
        .map((t) => eventTime(t.result.startedAt))
        .filter((t) => t !== null)
        .sort();
      const ends = tests
        .map((t) => eventTime(t.result.completedAt))
        .filter((t) => t !== null)
        .sort();
      const id = nodeRunId(run.accountId, run.runId, step.index, `test:${table}`);
      const errored = tests.find((t) => t.result.status === 'error');
      const end: EventType = errored ? 'FAIL' : 'COMPLETE';
      const error: Facets = errored
        ? {
            errorMessage: facet('errorMessage', this.producer, {
              message: errored.result.message ?? `${errored.test.id} could not run`,
              programmingLanguage: 'SQL',
            }),
          }
        : {};
      events.push(
        { ...this.event('START', starts[0] ?? stepStart, id, this.runFacets(), job), inputs: [input] },
        { ...this.event(end, ends[ends.length - 1] ?? stepEnd, id, this.runFacets(error), job), inputs: [input] },
      );
    }
    return events;
  }
}
