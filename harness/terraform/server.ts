/**
 * Serves stand-in providers over Terraform's plugin protocol (tfplugin6 on gRPC) on unix sockets,
 * for the real terraform binary to reattach to (TF_REATTACH_PROVIDERS), as one debugs a provider:
 * `terraform init` then skips installing them and every command talks to these.
 * @module
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeValue, encodeValue, hasUnknown, type Value } from './cty.ts';
import {
  completeState,
  loadSchema,
  planState,
  readArchiveFile,
  readGoogleProject,
  type BlockSchema,
  type Diagnostic,
  type StandInProvider,
} from './provider.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The stand-ins of the providers terraform/ requires. */
export function standIns(): StandInProvider[] {
  return [
    {
      address: 'registry.terraform.io/hashicorp/google',
      schema: loadSchema(join(HERE, 'schemas/google.json')),
      readers: { google_project: readGoogleProject },
    },
    {
      address: 'registry.terraform.io/hashicorp/archive',
      schema: loadSchema(join(HERE, 'schemas/archive.json')),
      readers: { archive_file: readArchiveFile },
    },
    {
      address: 'registry.terraform.io/hashicorp/time',
      schema: loadSchema(join(HERE, 'schemas/time.json')),
      readers: {},
    },
  ];
}

type Unary = (
  call: { request: Record<string, unknown> },
  callback: (err: Error | null, response?: Record<string, unknown>) => void,
) => void;

function blockMessage(block: BlockSchema): Record<string, unknown> {
  return {
    version: 0,
    attributes: Object.entries(block.attributes).map(([name, a]) => ({
      name,
      type: Buffer.from(JSON.stringify(a.type)),
      required: Boolean(a.required),
      optional: Boolean(a.optional),
      computed: Boolean(a.computed),
    })),
    block_types: Object.entries(block.block_types).map(([name, b]) => ({
      type_name: name,
      block: blockMessage(b.block),
      nesting: 'LIST',
      min_items: b.min_items,
      max_items: b.max_items,
    })),
  };
}

const diagnostics = (list: Diagnostic[]): Record<string, unknown>[] =>
  list.map((d) => ({ severity: d.severity, summary: d.summary, detail: d.detail ?? '' }));
const dynamic = (value: Value): Record<string, unknown> => ({ msgpack: Buffer.from(encodeValue(value)) });
const decoded = (dv: unknown): Value => decodeValue((dv as { msgpack?: Uint8Array } | null)?.msgpack);

function implementation(p: StandInProvider, workingDir: () => string): Record<string, Unary> {
  const schemaOf = (kind: 'resources' | 'data_sources', type: string): BlockSchema => {
    const block = p.schema[kind][type];
    if (!block) throw new Error(`${p.address} stand-in has no schema for ${type}`);
    return block;
  };
  const ok =
    <T>(fn: (req: Record<string, unknown>) => T): Unary =>
    (call, callback) => {
      try {
        callback(null, fn(call.request) as Record<string, unknown>);
      } catch (err) {
        callback(null, {
          diagnostics: diagnostics([{ severity: 'ERROR', summary: 'stand-in provider failure', detail: String(err) }]),
        });
      }
    };
  const capabilities = { plan_destroy: false, get_provider_schema_optional: false, move_resource_state: false };
  return {
    GetMetadata: ok(() => ({
      server_capabilities: capabilities,
      resources: Object.keys(p.schema.resources).map((type_name) => ({ type_name })),
      data_sources: Object.keys(p.schema.data_sources).map((type_name) => ({ type_name })),
    })),
    GetProviderSchema: ok(() => ({
      provider: { version: 0, block: blockMessage(p.schema.providerBlock) },
      resource_schemas: Object.fromEntries(
        Object.entries(p.schema.resources).map(([t, b]) => [t, { version: 0, block: blockMessage(b) }]),
      ),
      data_source_schemas: Object.fromEntries(
        Object.entries(p.schema.data_sources).map(([t, b]) => [t, { version: 0, block: blockMessage(b) }]),
      ),
      server_capabilities: capabilities,
    })),
    ValidateProviderConfig: ok(() => ({ diagnostics: [] })),
    ValidateResourceConfig: ok(() => ({ diagnostics: [] })),
    ValidateDataResourceConfig: ok(() => ({ diagnostics: [] })),
    ConfigureProvider: ok(() => ({ diagnostics: [] })),
    UpgradeResourceState: ok((req) => {
      const raw = (req['raw_state'] as { json?: Buffer } | undefined)?.json;
      return {
        upgraded_state: dynamic(raw && raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Value) : null),
        diagnostics: [],
      };
    }),
    ReadResource: ok((req) => ({ new_state: dynamic(decoded(req['current_state'])), diagnostics: [] })),
    PlanResourceChange: ok((req) => {
      const type = String(req['type_name']);
      const proposed = decoded(req['proposed_new_state']);
      if (proposed === null) return { planned_state: dynamic(null), diagnostics: [] };
      const prior = decoded(req['prior_state']);
      const planned = planState(
        schemaOf('resources', type),
        proposed as Record<string, Value>,
        prior as Record<string, Value> | null,
      );
      return { planned_state: dynamic(planned), diagnostics: [] };
    }),
    ApplyResourceChange: ok(() => ({
      diagnostics: diagnostics([
        {
          severity: 'ERROR',
          summary: 'A stand-in provider cannot apply',
          detail: 'This provider only serves the schema for offline validation and planning (npm run terraform:plan).',
        },
      ]),
    })),
    ImportResourceState: ok(() => ({
      diagnostics: diagnostics([{ severity: 'ERROR', summary: 'A stand-in provider cannot import' }]),
    })),
    ReadDataSource: ok((req) => {
      const type = String(req['type_name']);
      const block = schemaOf('data_sources', type);
      const config = (decoded(req['config']) ?? {}) as Record<string, Value>;
      if (hasUnknown(config)) return { state: dynamic(config), diagnostics: [] };
      const reader = p.readers[type];
      const read = reader ? reader(config, block, workingDir()) : { state: {} };
      if ('error' in read) return { diagnostics: diagnostics([read.error]) };
      return { state: dynamic(completeState(block, config, read.state)), diagnostics: [] };
    }),
    GetFunctions: ok(() => ({ diagnostics: [] })),
    StopProvider: ok(() => ({ Error: '' })),
  };
}

export interface RunningStandIns {
  /** The value of TF_REATTACH_PROVIDERS. */
  reattach: string;
  /** Where relative paths in data sources resolve (terraform's working directory). */
  setWorkingDir(dir: string): void;
  close(): Promise<void>;
}

export async function startStandIns(providers: StandInProvider[] = standIns()): Promise<RunningStandIns> {
  const definition = protoLoader.loadSync(join(HERE, 'tfplugin6.proto'), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    bytes: Buffer,
  });
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    tfplugin6: { Provider: grpc.ServiceClientConstructor };
  };
  const socketDir = mkdtempSync(join(tmpdir(), 'tf-standins-'));
  let workingDir = process.cwd();
  const servers: grpc.Server[] = [];
  const reattach: Record<string, unknown> = {};
  for (const [i, p] of providers.entries()) {
    const server = new grpc.Server();
    server.addService(
      proto.tfplugin6.Provider.service,
      implementation(p, () => workingDir) as unknown as grpc.UntypedServiceImplementation,
    );
    const socket = join(socketDir, `${i}.sock`);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    servers.push(server);
    reattach[p.address] = {
      Protocol: 'grpc',
      ProtocolVersion: 6,
      Pid: process.pid,
      Test: true,
      Addr: { Network: 'unix', String: socket },
    };
  }
  return {
    reattach: JSON.stringify(reattach),
    setWorkingDir: (dir) => (workingDir = dir),
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.tryShutdown(() => resolve()))));
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
}
