import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { hex, mix } from './prng.ts';
import { TELEMETRY_FILE, telemetryBytes } from './telemetry.ts';

/**
 * Artifact bodies as dbt writes them, generated as a stream of exactly `size` bytes (or the
 * smallest valid document when `size` is smaller), never held whole in memory, and the same bytes
 * every time they are asked for. Content depends on the seed, run, step and file, so a harvester that
 * mixes up steps or runs is caught by a byte comparison.
 */
export type ArtifactFile =
  | 'manifest.json'
  | 'run_results.json'
  | 'catalog.json'
  | 'sources.json'
  | 'semantic_manifest.json'
  | 'graph_summary.json'
  | 'freshness.json';

export interface ArtifactSpec {
  seed: number;
  runId: number;
  step: number;
  /** A file name relative to target/ (nested paths allowed, such as compiled/.../x.sql). */
  file: string;
  /** The dbt command of the step, such as "run" or "docs generate". */
  command: string;
  size: number;
  /** The step failed: run_results and sources carry failures. */
  failing: boolean;
  generatedAt: string;
  /** dbt Core (1.x) or Fusion (dbt v2): what the files look like (default core). */
  engine?: 'core' | 'fusion';
  /** When the step started (the telemetry's span times). */
  startedAt?: Date;
}

interface Layout {
  prefix: string;
  suffixOpen: string;
  suffixClose: string;
  entry: (i: number) => string;
}

const _FILE_NO = (file: string): number =>
  [...file].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261);

function layout(spec: ArtifactSpec): Layout {
  const { seed, runId, step, file, command } = spec;
  const inv = `${hex(mix(seed, runId, 1), 8)}-${hex(mix(seed, runId, 2), 4)}-4${hex(mix(seed, runId, 3), 3)}-8${hex(mix(seed, runId, 4), 3)}-${hex(mix(seed, runId, step), 8)}${hex(mix(seed, step, 5), 4)}`;
  const fusion = spec.engine === 'fusion';
  const meta = (schema: string): string =>
    `{"dbt_schema_version":"https://schemas.getdbt.com/dbt/${schema}.json","dbt_version":"${fusion ? '2.0.0-preview.212' : '1.10.7'}","generated_at":"${spec.generatedAt}","invocation_id":"${inv}","env":{"DBT_CLOUD_RUN_ID":"${runId}","DBT_CLOUD_STEP":"${step}"}}`;
  // Fusion capitalises freshness statuses (dbt-core crates/dbt-schemas sources.rs: Pass, Warn, Error).
  const freshnessStatus = (bad: boolean, warn: boolean): string => {
    const s = bad ? 'error' : warn ? 'warn' : 'pass';
    return fusion ? s.charAt(0).toUpperCase() + s.slice(1) : s;
  };
  const node = (i: number): string => `model.analytics.model_${String(i).padStart(6, '0')}`;
  const word = (i: number): string => hex(mix(seed, runId, step, i), 8);
  switch (file) {
    case 'manifest.json':
      return {
        // Fusion's manifest says v20 (dbt-labs/dbt-fusion#462), later v12: the readers take either.
        prefix: `{"metadata":${meta(fusion ? 'manifest/v20' : 'manifest/v12')},"nodes":{`,
        entry: (i) =>
          `"${node(i)}":{"unique_id":"${node(i)}","resource_type":"model","package_name":"analytics","name":"model_${String(i).padStart(6, '0')}","description":"Model ${word(i)} of run ${runId}","checksum":{"name":"sha256","checksum":"${word(i)}${word(i + 1)}"}}`,
        suffixOpen: `},"sources":{},"macros":{},"docs":{},"exposures":{},"metrics":{},"groups":{},"selectors":{},"disabled":{},"parent_map":{},"child_map":{},"group_map":{},"saved_queries":{},"semantic_models":{},"unit_tests":{},"_padding":"`,
        suffixClose: `"}`,
      };
    case 'run_results.json': {
      const isTest = /\btest\b|\bbuild\b/.test(command);
      const compiles = command === 'docs generate' || command === 'compile';
      const which = command === 'docs generate' ? 'generate' : command.replace(/ /g, '-');
      return {
        prefix: `{"metadata":${meta('run-results/v6')},"elapsed_time":${(mix(seed, runId, step) % 900) / 10 + 1},"args":{"which":"${which}","invocation_command":"dbt ${command}"},"results":[`,
        entry: (i) => {
          const seconds = (mix(seed, runId, step, i) % 30000) / 1000;
          if (compiles) {
            // docs generate and compile list every node compiled, each a success, tests among them:
            // nothing executed (failures and message null, adapter_response {}).
            const id = i % 3 === 2 ? `test.analytics.not_null_model_${String(i).padStart(6, '0')}_id` : node(i);
            return `{"status":"success","timing":[],"thread_id":"Thread-${(i % 4) + 1}","execution_time":${seconds / 100},"adapter_response":{},"message":null,"failures":null,"unique_id":"${id}","compiled":true}`;
          }
          // dbt 1.10's build writes its exposures as no-op nodes.
          if (!fusion && command === 'build' && i % 11 === 10)
            return `{"status":"no-op","timing":[],"thread_id":"Thread-1","execution_time":0,"adapter_response":{},"message":"NO-OP","failures":0,"unique_id":"exposure.analytics.weekly_${i}"}`;
          // dbt test runs tests; dbt build runs models and their tests (here, every other node).
          const test = /\btest\b/.test(command) || (isTest && i % 2 === 1);
          const id = test ? `test.analytics.not_null_model_${String(i).padStart(6, '0')}_id` : node(i);
          const fail = spec.failing && i === 0;
          // Fusion with dbt State reuses nodes whose upstreams did not change (status "reused").
          const reused = fusion && !fail && i % 7 === 3;
          const status = fail ? (test ? 'fail' : 'error') : reused ? 'reused' : test ? 'pass' : 'success';
          const failures = fail && test ? 3 : test ? 0 : 'null';
          const message = fail
            ? `Database Error in ${id}: relation does not exist`
            : reused
              ? 'No new changes on any upstreams'
              : test
                ? 'PASS'
                : 'OK';
          // Fusion leaves out message (and failures on models) where dbt Core writes them (dbt-fusion#1437).
          const fields = fusion
            ? `${fail || reused ? `,"message":"${message}"` : ''}${test ? `,"failures":${failures}` : ''}`
            : `,"message":"${message}","failures":${failures}`;
          return `{"status":"${status}","timing":[],"thread_id":"Thread-${(i % 4) + 1}","execution_time":${seconds},"adapter_response":{}${fields},"unique_id":"${id}"}`;
        },
        suffixOpen: `],"_padding":"`,
        suffixClose: `"}`,
      };
    }
    case 'catalog.json':
      return {
        prefix: `{"metadata":${meta('catalog/v1')},"nodes":{`,
        entry: (i) =>
          `"${node(i)}":{"metadata":{"type":"BASE TABLE","schema":"analytics","name":"MODEL_${i}","database":"PROD","comment":null,"owner":"TRANSFORMER"},"columns":{"ID":{"type":"NUMBER","index":1,"name":"ID","comment":null}},"stats":{},"unique_id":"${node(i)}"}`,
        suffixOpen: `},"sources":{},"errors":null,"_padding":"`,
        suffixClose: `"}`,
      };
    case 'sources.json':
      return {
        prefix: `{"metadata":${meta('sources/v3')},"elapsed_time":2.5,"results":[`,
        entry: (i) =>
          `{"unique_id":"source.analytics.raw.table_${i}","max_loaded_at":"${spec.generatedAt}","snapshotted_at":"${spec.generatedAt}","max_loaded_at_time_ago_in_s":${mix(seed, runId, i) % 100000},"status":"${freshnessStatus(spec.failing && i === 0, false)}","criteria":{"warn_after":{"count":12,"period":"hour"},"error_after":{"count":24,"period":"hour"},"filter":null},"adapter_response":{},"timing":[],"thread_id":"Thread-1","execution_time":0.4}`,
        suffixOpen: `],"_padding":"`,
        suffixClose: `"}`,
      };
    case 'freshness.json':
      // dbt freshness (dbt v2): sources and models, with resource_type (docs: reference/artifacts/freshness-json).
      return {
        prefix: `{"metadata":${meta('freshness/v0')},"elapsed_time":0.0,"results":[`,
        entry: (i) => {
          const model = i % 2 === 1;
          const id = model ? node(i) : `source.analytics.raw.table_${i}`;
          const lag = mix(seed, runId, i) % 200000;
          return `{"unique_id":"${id}","resource_type":"${model ? 'model' : 'source'}","max_loaded_at":"${spec.generatedAt}","snapshotted_at":"${spec.generatedAt}","max_loaded_at_time_ago_in_s":${lag},"status":"${freshnessStatus(spec.failing && i === 0, lag > 150000)}","criteria":{"warn_after":{"count":12,"period":"hour"},"error_after":{"count":48,"period":"hour"},"filter":null,"loaded_at_field":null,"loaded_at_query":null},"adapter_response":{},"timing":[],"thread_id":"Thread-${(i % 4) + 1}","execution_time":0.0}`;
        },
        suffixOpen: `],"_padding":"`,
        suffixClose: `"}`,
      };
    case 'semantic_manifest.json':
    case 'graph_summary.json':
      return {
        prefix: `{"metadata":${meta(file === 'graph_summary.json' ? 'graph-summary/v1' : 'semantic-manifest/v1')},"semantic_models":[`,
        entry: (i) =>
          `{"name":"model_${String(i).padStart(6, '0')}","node_relation":{"alias":"model_${i}","schema_name":"analytics"},"measures":[{"name":"m_${word(i)}","agg":"sum"}]}`,
        suffixOpen: `],"_padding":"`,
        suffixClose: `"}`,
      };
    default:
      // A nested non-JSON file (compiled SQL and the like): repeated lines, padded with a comment.
      return {
        prefix: `-- ${file} of run ${runId} step ${step}\n`,
        entry: (i) => `select ${i} as id, '${word(i)}' as tag\n`,
        suffixOpen: '-- ',
        suffixClose: '\n',
      };
  }
}

const SEPARATOR = (file: string): string => (file.endsWith('.json') ? ',' : '');

/** Fusion's telemetry: a real Parquet file of its own size (a few rows a node), not padded to `size`. */
function telemetryOf(spec: ArtifactSpec): Buffer | null {
  if (!TELEMETRY_FILE.test(spec.file)) return null;
  return telemetryBytes({
    seed: spec.seed,
    runId: spec.runId,
    step: spec.step,
    command: spec.command,
    nodes: 8 + (mix(spec.seed, spec.runId, spec.step) % 24),
    failing: spec.failing,
    startedAt: spec.startedAt ?? new Date(spec.generatedAt),
  });
}

/** The exact number of bytes the stream of `spec` produces. */
export function artifactSize(spec: ArtifactSpec): number {
  const telemetry = telemetryOf(spec);
  if (telemetry) return telemetry.length;
  const l = layout(spec);
  const minimum = Buffer.byteLength(l.prefix) + Buffer.byteLength(l.suffixOpen) + Buffer.byteLength(l.suffixClose);
  return Math.max(minimum, spec.size);
}

/** The artifact as a stream of chunks of about 64 KiB. */
export function artifactStream(spec: ArtifactSpec): Readable {
  const telemetry = telemetryOf(spec);
  if (telemetry) return Readable.from([telemetry.subarray(0, 32 * 1024), telemetry.subarray(32 * 1024)]);
  const l = layout(spec);
  const total = artifactSize(spec);
  const sep = SEPARATOR(spec.file);
  const tail = Buffer.byteLength(l.suffixOpen) + Buffer.byteLength(l.suffixClose);
  let written = 0;
  let i = 0;
  let stage: 'prefix' | 'entries' | 'done' = 'prefix';
  const next = (): string | null => {
    if (stage === 'prefix') {
      stage = 'entries';
      return l.prefix;
    }
    if (stage === 'done') return null;
    let out = '';
    while (out.length < 65_536) {
      const text = (i > 0 ? sep : '') + l.entry(i);
      if (written + out.length + text.length + tail > total) {
        const pad = total - written - out.length - tail;
        out += l.suffixOpen + ' '.repeat(pad) + l.suffixClose;
        stage = 'done';
        break;
      }
      out += text;
      i++;
    }
    return out;
  };
  return new Readable({
    highWaterMark: 65_536,
    read() {
      const chunk = next();
      if (chunk === null) {
        this.push(null);
        return;
      }
      written += chunk.length;
      this.push(Buffer.from(chunk, 'latin1'));
    },
  });
}

export async function artifactSha256(spec: ArtifactSpec): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of artifactStream(spec)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Which files a dbt command writes to target/ (from dbt's documentation). */
export function filesOfCommand(command: string): string[] {
  switch (command) {
    case 'deps':
    case 'clean':
    case 'debug':
      return [];
    case 'source freshness':
      return ['manifest.json', 'sources.json'];
    case 'freshness':
      return ['manifest.json', 'freshness.json', 'sources.json'];
    case 'docs generate':
      return ['manifest.json', 'run_results.json', 'catalog.json'];
    case 'run':
    case 'build':
    case 'compile':
      return ['manifest.json', 'run_results.json', `compiled/analytics/models/model_000001.sql`];
    default:
      return ['manifest.json', 'run_results.json'];
  }
}
