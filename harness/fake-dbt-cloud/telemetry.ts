/**
 * Fusion's per-step telemetry as the fake serves it: `metadata/telemetry-<step>-otel.parquet`, a real
 * Parquet file (written by hyparquet-writer) with the record fields dbt documents for it
 * (docs.getdbt.com, reference/telemetry-observability: record_type SpanStart/SpanEnd/LogRecord,
 * trace and span ids, span_name, start and end times in Unix nanoseconds, severity_text, event_type
 * such as v1.public.events.fusion.node.NodeEvaluated, and attributes with the node's outcome),
 * the same bytes every time for a run and step.
 * @module
 */
import { parquetWriteBuffer } from 'hyparquet-writer';
import { hex, mix } from './prng.ts';

export const TELEMETRY_FILE = /^metadata\/telemetry-(\d+)-otel\.parquet$/;
export const telemetryFile = (step: number): string => `metadata/telemetry-${step}-otel.parquet`;

export interface TelemetrySpec {
  seed: number;
  runId: number;
  step: number;
  command: string;
  /** Nodes the step evaluated. */
  nodes: number;
  failing: boolean;
  startedAt: Date;
}

const cache = new Map<string, Buffer>();

/** The file's bytes (small: a few rows per node), built once per run and step. */
export function telemetryBytes(spec: TelemetrySpec): Buffer {
  const key = `${spec.seed}/${spec.runId}/${spec.step}/${spec.nodes}/${spec.failing}`;
  const known = cache.get(key);
  if (known) return known;
  const trace = `${hex(mix(spec.seed, spec.runId, 1), 8)}${hex(mix(spec.seed, spec.runId, 2), 8)}${hex(mix(spec.seed, spec.runId, 3), 8)}${hex(mix(spec.seed, spec.runId, 4), 8)}`;
  const start = BigInt(spec.startedAt.getTime()) * 1_000_000n;
  const rows: {
    record_type: string;
    trace_id: string;
    span_id: string;
    parent_span_id: string | null;
    span_name: string;
    start_time_unix_nano: bigint;
    end_time_unix_nano: bigint | null;
    severity_text: string | null;
    event_type: string;
    attributes: string;
  }[] = [];
  const root = hex(mix(spec.seed, spec.runId, spec.step), 16);
  rows.push({
    record_type: 'SpanEnd',
    trace_id: trace,
    span_id: root,
    parent_span_id: null,
    span_name: `Invocation dbt ${spec.command}`,
    start_time_unix_nano: start,
    end_time_unix_nano: start + BigInt(spec.nodes + 1) * 1_000_000_000n,
    severity_text: null,
    event_type: 'v1.public.events.fusion.invocation.Invocation',
    attributes: JSON.stringify({ process_info: { command: spec.command } }),
  });
  for (let i = 0; i < spec.nodes; i++) {
    const test = /test|build/.test(spec.command) && i % 2 === 1;
    const id = test
      ? `test.analytics.not_null_model_${String(i).padStart(6, '0')}_id`
      : `model.analytics.model_${String(i).padStart(6, '0')}`;
    const failed = spec.failing && i === 0;
    const outcome = failed ? 'error' : 'success';
    const node = {
      unique_id: id,
      node_outcome: outcome,
      ...(test ? { test_outcome: failed ? 'failed' : 'passed' } : {}),
      ...(i % 5 === 4 ? { skip_reason: 'cached', node_outcome: 'skipped' } : {}),
    };
    const s = start + BigInt(i) * 1_000_000_000n;
    rows.push({
      record_type: 'SpanEnd',
      trace_id: trace,
      span_id: hex(mix(spec.seed, spec.runId, spec.step, i + 10), 16),
      parent_span_id: root,
      span_name: `Node evaluated (${id})`,
      start_time_unix_nano: s,
      end_time_unix_nano: s + BigInt(100_000_000 + (mix(spec.seed, spec.runId, i) % 900_000_000)),
      severity_text: failed ? 'ERROR' : 'INFO',
      event_type: 'v1.public.events.fusion.node.NodeEvaluated',
      attributes: JSON.stringify(node),
    });
  }
  const column = <K extends keyof (typeof rows)[number]>(name: K) => rows.map((r) => r[name]);
  const bytes = Buffer.from(
    parquetWriteBuffer({
      columnData: [
        { name: 'record_type', data: column('record_type'), type: 'STRING' },
        { name: 'trace_id', data: column('trace_id'), type: 'STRING' },
        { name: 'span_id', data: column('span_id'), type: 'STRING' },
        { name: 'parent_span_id', data: column('parent_span_id'), type: 'STRING' },
        { name: 'span_name', data: column('span_name'), type: 'STRING' },
        { name: 'start_time_unix_nano', data: column('start_time_unix_nano'), type: 'INT64' },
        { name: 'end_time_unix_nano', data: column('end_time_unix_nano'), type: 'INT64' },
        { name: 'severity_text', data: column('severity_text'), type: 'STRING' },
        { name: 'event_type', data: column('event_type'), type: 'STRING' },
        { name: 'attributes', data: column('attributes'), type: 'JSON' },
      ],
      createdBy: 'dbt-fusion (fake)',
    }),
  );
  if (cache.size >= 2_000) cache.clear();
  cache.set(key, bytes);
  return bytes;
}
