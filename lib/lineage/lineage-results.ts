/**
 * What lineage needs of a step's run_results.json and of a run's catalog.json, read as they stream
 * by. Of the run results: the dbt version and command, and per node its status, when it ran
 * (`timing`: the execute phase, else the compile phase), dbt's message, test failures, and the
 * adapter's answer (rows affected; BigQuery's job id, project and location; a query id elsewhere).
 * Of the catalog: the columns (name, type, position) of the tables asked for, nothing else.
 * @module
 */
import { checkCount, type Limits } from '../facts/reader.ts';
import { ANY_KEY, type ObjectVisit, type Visit } from '../json/json-scan.ts';
import type { LineageColumn } from './lineage-manifest.ts';
import { LineageReader, amount, members, text } from './lineage-reader.ts';

export interface NodeRun {
  id: string;
  status: string;
  /** When the node's execute phase (else its compile phase) started and completed, as written. */
  startedAt: string | null;
  completedAt: string | null;
  seconds: number | null;
  message: string | null;
  failures: number | null;
  rowsAffected: number | null;
  /** BigQuery's job id, its project and location; other adapters' query id. */
  jobId: string | null;
  projectId: string | null;
  location: string | null;
  queryId: string | null;
}

export interface LineageResults {
  dbtVersion: string | null;
  generatedAt: string | null;
  /** args.which: run, build, seed, snapshot, test, ... */
  command: string | null;
  elapsedSeconds: number | null;
  results: NodeRun[];
}

const newRun = (): NodeRun => ({
  id: '',
  status: '',
  startedAt: null,
  completedAt: null,
  seconds: null,
  message: null,
  failures: null,
  rowsAffected: null,
  jobId: null,
  projectId: null,
  location: null,
  queryId: null,
});

/** dbt's message is kept to this many characters (an error's first lines). */
const MESSAGE_CHARS = 4_000;

export class LineageResultsReader extends LineageReader<LineageResults> {
  private readonly out: LineageResults = {
    dbtVersion: null,
    generatedAt: null,
    command: null,
    elapsedSeconds: null,
    results: [],
  };
  private cur: NodeRun = newRun();
  /** The phase being read of `timing`, and the compile phase's times (used when there is no execute). */
  private phase: { name: string | null; started: string | null; completed: string | null } = {
    name: null,
    started: null,
    completed: null,
  };
  private compile: { started: string | null; completed: string | null } = { started: null, completed: null };

  constructor(what = 'run_results.json', limits: Partial<Limits> = {}) {
    super(what, limits);
  }

  protected rootObject(): ObjectVisit {
    return members({
      metadata: {
        object: () =>
          members({
            dbt_version: text((t) => (this.out.dbtVersion = t)),
            generated_at: text((t) => (this.out.generatedAt = t)),
          }),
      },
      args: { object: () => members({ which: text((t) => (this.out.command = t)) }) },
      elapsed_time: amount((n) => (this.out.elapsedSeconds = n)),
      results: {
        array: () => {
          this.out.results = [];
          return { item: () => this.resultOpen };
        },
      },
    });
  }

  private readonly phaseVisit: ObjectVisit = members(
    {
      name: text((t) => (this.phase.name = t)),
      started_at: text((t) => (this.phase.started = t)),
      completed_at: text((t) => (this.phase.completed = t)),
    },
    () => {
      const p = this.phase;
      if (p.name === 'execute') {
        this.cur.startedAt = p.started;
        this.cur.completedAt = p.completed;
      } else if (p.name === 'compile') this.compile = { started: p.started, completed: p.completed };
    },
  );

  private readonly adapterVisit: ObjectVisit = members({
    rows_affected: amount((n) => (this.cur.rowsAffected = n)),
    job_id: text((t) => (this.cur.jobId = t)),
    project_id: text((t) => (this.cur.projectId = t)),
    location: text((t) => (this.cur.location = t)),
    query_id: text((t) => (this.cur.queryId = t)),
  });

  private readonly resultVisit: ObjectVisit = members(
    {
      unique_id: text((t) => (this.cur.id = t ?? '')),
      status: text((t) => (this.cur.status = (t ?? '').toLowerCase())),
      execution_time: amount((n) => (this.cur.seconds = n)),
      message: text((t) => (this.cur.message = t === null ? null : t.slice(0, MESSAGE_CHARS))),
      failures: amount((n) => (this.cur.failures = n)),
      adapter_response: { object: () => this.adapterVisit },
      timing: {
        array: () => ({
          item: () => ({
            object: () => {
              this.phase = { name: null, started: null, completed: null };
              return this.phaseVisit;
            },
          }),
        }),
      },
    },
    () => {
      const c = this.cur;
      if (c.startedAt === null && this.compile.started !== null) {
        c.startedAt = this.compile.started;
        c.completedAt = this.compile.completed;
      }
      if (c.id === '' || c.status === '') return;
      checkCount(this.out.results.length + 1, this.limits.nodes, 'results');
      this.out.results.push(c);
    },
  );

  private readonly resultOpen: Visit = {
    object: () => {
      this.cur = newRun();
      this.compile = { started: null, completed: null };
      return this.resultVisit;
    },
  };

  protected facts(): LineageResults {
    return this.out;
  }
}

/** The catalog's columns of the tables asked for, by unique id, in their order. */
export class LineageCatalogReader extends LineageReader<Map<string, LineageColumn[]>> {
  private readonly wanted: ReadonlySet<string>;
  private readonly tables = new Map<string, LineageColumn[]>();
  private id: string | null = null;
  private columns: (LineageColumn & { index: number })[] = [];
  private column: LineageColumn & { index: number } = { name: '', type: null, description: null, index: 0 };
  private kept = 0;

  constructor(wanted: ReadonlySet<string>, what = 'catalog.json', limits: Partial<Limits> = {}) {
    super(what, limits);
    this.wanted = wanted;
  }

  protected rootObject(): ObjectVisit {
    const section: Visit = { object: () => ({ keys: ANY_KEY, member: () => this.tableOpen }) };
    return members({ nodes: section, sources: section });
  }

  private readonly columnVisit: ObjectVisit = members(
    {
      name: text((t) => (this.column.name = t ?? '')),
      type: text((t) => (this.column.type = t)),
      comment: text((t) => (this.column.description = t)),
      index: amount((n) => (this.column.index = n ?? 0)),
    },
    () => {
      if (this.column.name === '') return;
      this.columns.push(this.column);
      checkCount(this.columns.length, this.limits.tableColumns, 'columns in one table');
    },
  );

  private readonly columnOpen: Visit = {
    object: () => {
      this.column = { name: '', type: null, description: null, index: 0 };
      return this.columnVisit;
    },
  };

  private readonly tableVisit: ObjectVisit = members(
    {
      unique_id: text((t) => (this.id = t)),
      // Read only for a table asked for (unique_id comes first in dbt's catalogs; otherwise, read and dropped).
      columns: () =>
        this.id !== null && !this.wanted.has(this.id)
          ? null
          : {
              object: () => {
                this.columns = [];
                return { keys: ANY_KEY, member: () => this.columnOpen };
              },
            },
    },
    () => {
      if (this.id === null || !this.wanted.has(this.id)) return;
      this.kept += this.columns.length;
      checkCount(this.kept, this.limits.columns, 'columns');
      const sorted = [...this.columns].sort((a, b) => a.index - b.index);
      this.tables.set(
        this.id,
        sorted.map(({ name, type, description }) => ({ name, type, description })),
      );
    },
  );

  private readonly tableOpen: Visit = {
    object: () => {
      this.id = null;
      this.columns = [];
      return this.tableVisit;
    },
  };

  protected facts(): Map<string, LineageColumn[]> {
    return this.tables;
  }
}
