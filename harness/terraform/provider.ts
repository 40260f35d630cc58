/**
 * A stand-in provider: the real provider's schema (harness/terraform/schemas/) served over the
 * plugin protocol, so that the real terraform binary validates and plans the configuration offline
 * exactly as it would with the real provider: unknown arguments, wrong types and missing required
 * arguments are refused by Terraform against that schema; computed attributes are planned as
 * unknown; data sources answer plausible, deterministic values. It cannot apply.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { UNKNOWN, type CtyType, type Value } from './cty.ts';

export interface AttributeSchema {
  type: CtyType;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
}
export interface BlockSchema {
  attributes: Record<string, AttributeSchema>;
  block_types: Record<string, { nesting: 'list'; min_items: number; max_items: number; block: BlockSchema }>;
}
export interface ProviderSchemaFile {
  provider: string;
  version: string;
  resources: Record<string, BlockSchema>;
  data_sources: Record<string, BlockSchema>;
  /** The provider block's own schema. */
  provider_config?: BlockSchema;
}

export interface Diagnostic {
  severity: 'ERROR' | 'WARNING';
  summary: string;
  detail?: string;
}

/** Reads a data source: the configuration in, every computed attribute known out. */
export type DataReader = (
  config: Record<string, Value>,
  block: BlockSchema,
  workingDir: string,
) => { state: Record<string, Value> } | { error: Diagnostic };

export interface StandInProvider {
  /** Registry address, such as registry.terraform.io/hashicorp/google. */
  address: string;
  schema: ProviderSchemaFile & { providerBlock: BlockSchema };
  readers: Record<string, DataReader>;
}

export function loadSchema(file: string): ProviderSchemaFile & { providerBlock: BlockSchema } {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as ProviderSchemaFile;
  return { ...parsed, providerBlock: parsed.provider_config ?? { attributes: {}, block_types: {} } };
}

/** The zero value of a type, for computed attributes a data source fills. */
function zero(type: CtyType): Value {
  if (type === 'string') return '';
  if (type === 'number') return 0;
  if (type === 'bool') return false;
  if (Array.isArray(type) && (type[0] === 'list' || type[0] === 'set')) return [];
  if (Array.isArray(type) && type[0] === 'map') return {};
  return null;
}

/**
 * The planned new state of a resource: what Terraform proposes (the configuration over the prior
 * state), with every computed attribute the configuration leaves null planned as unknown, as a
 * provider does for values the API decides.
 */
export function planState(
  block: BlockSchema,
  proposed: Record<string, Value>,
  prior: Record<string, Value> | null,
): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [name, attr] of Object.entries(block.attributes)) {
    const value = proposed[name] ?? null;
    const before = prior?.[name] ?? null;
    out[name] = value === null && attr.computed ? (before ?? UNKNOWN) : value;
  }
  for (const [name, nested] of Object.entries(block.block_types)) {
    const items = (proposed[name] ?? []) as Value[];
    const priorItems = (prior?.[name] ?? []) as Value[];
    out[name] = Array.isArray(items)
      ? items.map((item, i) =>
          planState(
            nested.block,
            item as Record<string, Value>,
            (priorItems[i] as Record<string, Value> | undefined) ?? null,
          ),
        )
      : items;
  }
  return out;
}

/** A data source's state: the configuration, with computed attributes filled (by the reader, else zero values). */
export function completeState(
  block: BlockSchema,
  config: Record<string, Value>,
  filled: Record<string, Value>,
): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [name, attr] of Object.entries(block.attributes)) {
    const given = config[name] ?? null;
    out[name] = given !== null ? given : name in filled ? filled[name]! : attr.computed ? zero(attr.type) : null;
  }
  for (const name of Object.keys(block.block_types)) out[name] = config[name] ?? [];
  return out;
}

// ---- the data sources this project reads ------------------------------------------------------

/** google_project: the project as the API would describe it, its number derived from its id. */
export const readGoogleProject: DataReader = (config) => {
  const projectId = typeof config['project_id'] === 'string' ? config['project_id'] : 'stand-in-project';
  const digits =
    (BigInt(`0x${createHash('sha256').update(projectId).digest('hex').slice(0, 12)}`) % 900_000_000_000n) +
    100_000_000_000n;
  return { state: { id: `projects/${projectId}`, project_id: projectId, name: projectId, number: digits.toString() } };
};

/**
 * archive_file: hashes of the folder's files, as the archive would change with them. Like the real
 * provider, a missing source folder is an error at plan time.
 */
export const readArchiveFile: DataReader = (config, _block, workingDir) => {
  const dir = typeof config['source_dir'] === 'string' ? config['source_dir'] : undefined;
  if (!dir)
    return {
      error: { severity: 'ERROR', summary: 'Archive creation error', detail: 'this stand-in archives source_dir only' },
    };
  const root = isAbsolute(dir) ? dir : join(workingDir, dir);
  let files: string[];
  try {
    files = walk(root);
  } catch {
    return {
      error: {
        severity: 'ERROR',
        summary: 'Archive creation error',
        detail: `error creating archive: error archiving directory: could not archive missing directory: ${dir}`,
      },
    };
  }
  const hash = (algorithm: string): ReturnType<typeof createHash> => {
    const h = createHash(algorithm);
    for (const f of files) h.update(relative(root, f)).update('\0').update(readFileSync(f));
    return h;
  };
  const size = files.reduce((n, f) => n + statSync(f).size, 0);
  return {
    state: {
      id: hash('sha1').digest('hex'),
      output_sha: hash('sha1').digest('hex'),
      output_sha256: hash('sha256').digest('hex'),
      output_base64sha256: hash('sha256').digest('base64'),
      output_sha512: hash('sha512').digest('hex'),
      output_base64sha512: hash('sha512').digest('base64'),
      output_md5: hash('md5').digest('hex'),
      output_size: size,
    },
  };
};

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}
