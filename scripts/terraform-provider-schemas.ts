/**
 * Writes harness/terraform/schemas/{google,archive,time}.json: the schemas of the provider types that
 * terraform/ uses, with attribute types, nesting, required/optional/computed, as the stand-in
 * providers serve them to the real terraform binary (npm run terraform:plan).
 *
 * Derived from the jsii metadata of @cdktf/provider-google 16.12.1 (hashicorp/google 6.50.0),
 * @cdktf/provider-archive 11.0.1 (hashicorp/archive 2.7.1) and @cdktf/provider-time 11.0.1
 * (hashicorp/time 0.13.1), which are not dependencies of the
 * project: the script packs them into a temporary folder. The google names and required flags are
 * checked against ../shared/terraform/google-provider-6.50.0.schema.json. Run it after using a new
 * resource type:
 *   node scripts/terraform-provider-schemas.ts [--providers google,archive,time] [--jsii-dir DIR]
 *       [--shared ../shared/terraform/google-provider-6.50.0.schema.json] [--provider-source DIR]
 *
 * jsii cannot tell an optional attribute that the provider also computes (Optional + Computed) from
 * a plain optional one, and the published schema says so only for top-level attributes. With
 * --provider-source (a checkout of hashicorp/terraform-provider-google at v6.50.0), the nested ones
 * are read from each resource's schema in its Go source; the result is committed, so the checkout
 * is needed only to regenerate.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CtyType } from '../harness/terraform/cty.ts';
import type { BlockSchema } from '../harness/terraform/provider.ts';

const { values } = parseArgs({
  options: {
    providers: { type: 'string' },
    'jsii-dir': { type: 'string' },
    shared: { type: 'string', default: '../shared/terraform/google-provider-6.50.0.schema.json' },
    'provider-source': { type: 'string' },
  },
});

const PACKAGES = {
  google: {
    pkg: '@cdktf/provider-google',
    version: '16.12.1',
    provider: 'hashicorp/google',
    providerVersion: '6.50.0',
    className: 'Google',
  },
  archive: {
    pkg: '@cdktf/provider-archive',
    version: '11.0.1',
    provider: 'hashicorp/archive',
    providerVersion: '2.7.1',
    className: 'Archive',
  },
  time: {
    pkg: '@cdktf/provider-time',
    version: '11.0.1',
    provider: 'hashicorp/time',
    providerVersion: '0.13.1',
    className: 'Time',
  },
} as const;
type ProviderName = keyof typeof PACKAGES;

type TypeRef = {
  primitive?: string;
  fqn?: string;
  collection?: { kind: 'array' | 'map'; elementtype: TypeRef };
  union?: { types: TypeRef[] };
};
interface Property {
  name: string;
  type: TypeRef;
  optional?: boolean;
  immutable?: boolean;
  static?: boolean;
  docs?: { remarks?: string; summary?: string };
}
interface JsiiType {
  kind: string;
  properties?: Property[];
}
type Jsii = Record<string, JsiiType>;

function loadJsii(name: keyof typeof PACKAGES): Jsii {
  const spec = PACKAGES[name];
  let dir = values['jsii-dir'] ? join(values['jsii-dir'], name) : '';
  if (!dir || !existsSync(join(dir, '.jsii'))) {
    const tmp = mkdtempSync(join(tmpdir(), 'jsii-'));
    execFileSync('npm', ['pack', `${spec.pkg}@${spec.version}`, '--silent'], {
      cwd: tmp,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'))!;
    execFileSync('tar', ['xzf', tgz, 'package/.jsii'], { cwd: tmp });
    dir = join(tmp, 'package');
  }
  return (JSON.parse(readFileSync(join(dir, '.jsii'), 'utf8')) as { types: Jsii }).types;
}

const META = new Set(['alias', 'connection', 'count', 'dependsOn', 'forEach', 'lifecycle', 'provider', 'provisioners']);
/**
 * Snake case as the provider names attributes: cdktf splits words at digits (`md5hash` became
 * `md5Hash`, `crc32c` became `crc32C`), so a capital right after a digit joins its word.
 */
const snake = (camel: string): string =>
  camel.replace(/(\d?)([A-Z])/g, (_m, digit: string, c: string) =>
    digit ? `${digit}${c.toLowerCase()}` : `_${c.toLowerCase()}`,
  );
const camel = (snakeName: string): string => snakeName.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** The Terraform name of a config property: the anchor of its registry link, else snake case. */
function tfName(p: Property): string {
  const anchor = /#([a-z0-9_]+) [A-Za-z0-9]+#\1\}/.exec(p.docs?.remarks ?? '')?.[1];
  return anchor ?? snake(p.name);
}

const isResolvable = (t: TypeRef): boolean => t.fqn === 'cdktf.IResolvable';

/** A struct (nested block) behind a property type, and whether it repeats. */
function blockOf(t: TypeRef, jsii: Jsii): { struct: string; list: boolean } | null {
  const parts = t.union ? t.union.types.filter((x) => !isResolvable(x)) : [t];
  if (parts.length !== 1) return null;
  const only = parts[0]!;
  if (only.fqn && jsii[only.fqn]?.kind === 'interface') return { struct: only.fqn, list: false };
  const el = only.collection?.kind === 'array' ? only.collection.elementtype : undefined;
  if (el?.fqn && jsii[el.fqn]?.kind === 'interface') return { struct: el.fqn, list: true };
  return null;
}

function ctyOf(t: TypeRef, jsii: Jsii, where: string): CtyType {
  if (t.primitive === 'string') return 'string';
  if (t.primitive === 'number') return 'number';
  if (t.primitive === 'boolean') return 'bool';
  if (t.primitive === 'any') return 'dynamic';
  if (t.union) {
    const rest = t.union.types.filter((x) => !isResolvable(x));
    if (rest.length === 1) return ctyOf(rest[0]!, jsii, where);
    if (rest.length === 0) return 'bool';
  }
  if (isResolvable(t)) return 'bool';
  if (t.collection)
    return [t.collection.kind === 'array' ? 'list' : 'map', ctyOf(t.collection.elementtype, jsii, where)];
  const maps: Record<string, CtyType> = {
    'cdktf.StringMap': ['map', 'string'],
    'cdktf.NumberMap': ['map', 'number'],
    'cdktf.BooleanMap': ['map', 'bool'],
    'cdktf.AnyMap': ['map', 'dynamic'],
    'cdktf.StringMapList': ['list', ['map', 'string']],
  };
  if (t.fqn && maps[t.fqn]) return maps[t.fqn]!;
  if (t.fqn?.endsWith('List') && jsii[t.fqn.replace(/List$/, 'OutputReference')])
    return ['list', objectOf(t.fqn.replace(/List$/, 'OutputReference'), jsii, where)];
  if (t.fqn?.endsWith('OutputReference') && jsii[t.fqn]) return ['list', objectOf(t.fqn, jsii, where)];
  throw new Error(`${where}: no Terraform type for ${JSON.stringify(t)}`);
}

/** The object type of a computed nested value, from its output reference's getters. */
function objectOf(fqn: string, jsii: Jsii, where: string): ['object', Record<string, CtyType>] {
  const attrs: Record<string, CtyType> = {};
  for (const p of jsii[fqn]!.properties ?? []) {
    if (p.static || p.name === 'internalValue' || p.name.endsWith('Input')) continue;
    attrs[snake(p.name)] = ctyOf(p.type, jsii, `${where}.${p.name}`);
  }
  return ['object', attrs];
}

/**
 * The block of a config struct: its properties are attributes or nested blocks; the getters of the
 * class that reads it back (the resource, or the block's output reference) that have no input are
 * computed-only attributes.
 */
function blockFrom(
  struct: string,
  reader: string | undefined,
  jsii: Jsii,
  optionalComputed: (name: string) => boolean,
): BlockSchema {
  const out: BlockSchema = { attributes: {}, block_types: {} };
  const configurable = new Set<string>();
  for (const p of jsii[struct]?.properties ?? []) {
    if (META.has(p.name)) continue;
    configurable.add(p.name);
    const name = tfName(p);
    const block = blockOf(p.type, jsii);
    if (block) {
      const readerType = reader ? jsii[reader]?.properties?.find((x) => x.name === p.name)?.type.fqn : undefined;
      const nestedReader = readerType?.endsWith('List') ? readerType.replace(/List$/, 'OutputReference') : readerType;
      out.block_types[name] = {
        nesting: 'list',
        min_items: p.optional ? 0 : 1,
        max_items: block.list ? 0 : 1,
        block: blockFrom(block.struct, nestedReader, jsii, () => false),
      };
      continue;
    }
    const type = ctyOf(p.type, jsii, `${struct}.${p.name}`);
    out.attributes[name] = p.optional
      ? { type, optional: true, ...(optionalComputed(name) ? { computed: true } : {}) }
      : { type, required: true };
  }
  for (const p of (reader ? jsii[reader]?.properties : undefined) ?? []) {
    if (
      p.static ||
      p.name === 'internalValue' ||
      p.name === 'tfResourceType' ||
      p.name.endsWith('Input') ||
      configurable.has(p.name) ||
      !p.immutable
    )
      continue;
    if (configurable.has(p.name.replace(/Attribute$/, ''))) continue;
    out.attributes[snake(p.name)] = { type: ctyOf(p.type, jsii, `${reader}.${p.name}`), computed: true };
  }
  return out;
}

/**
 * Paths (block.attribute) that a resource's Go schema marks Optional and Computed: the entries
 * `"name": {` of its schema maps, nested through Elem resources, with their flags.
 */
function optionalComputedInSource(type: string): Set<string> {
  const out = new Set<string>();
  const root = values['provider-source'];
  if (!root) return out;
  const name = `resource_${type.replace(/^google_/, '')}.go`;
  const find = (dir: string): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        const hit = find(path);
        if (hit) return hit;
      } else if (e.name === name) return path;
    }
    return undefined;
  };
  const file = find(join(root, 'google', 'services'));
  if (!file) return out;
  const stack: { key: string; depth: number; optional: boolean; computed: boolean }[] = [];
  let depth = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const entry = /^\s*"([a-z0-9_]+)": \{\s*$/.exec(line);
    if (entry) stack.push({ key: entry[1]!, depth, optional: false, computed: false });
    const top = stack[stack.length - 1];
    if (top && depth === top.depth + 1) {
      if (/^\s*Optional:\s*true/.test(line)) top.optional = true;
      if (/^\s*Computed:\s*true/.test(line)) top.computed = true;
    }
    depth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
    while (stack.length > 0 && depth <= stack[stack.length - 1]!.depth) {
      const done = stack.pop()!;
      if (done.optional && done.computed) out.add([...stack.map((s) => s.key), done.key].join('.'));
    }
  }
  return out;
}

function markOptionalComputed(block: BlockSchema, paths: Set<string>, prefix = ''): void {
  for (const [n, a] of Object.entries(block.attributes)) if (a.optional && paths.has(prefix + n)) a.computed = true;
  for (const [n, b] of Object.entries(block.block_types)) markOptionalComputed(b.block, paths, `${prefix}${n}.`);
}

function usedTypes(kind: 'resource' | 'data', provider: ProviderName): string[] {
  const text = readdirSync('terraform')
    .filter((f) => f.endsWith('.tf'))
    .map((f) => readFileSync(join('terraform', f), 'utf8'))
    .join('\n');
  const prefix = `${provider}_`;
  return [...new Set([...text.matchAll(new RegExp(`^${kind} "([a-z0-9_]+)"`, 'gm'))].map((m) => m[1]!))]
    .filter((n) => n.startsWith(prefix))
    .sort();
}

/** jsii module and class of a type: google_pubsub_topic -> pubsubTopic.PubsubTopic; data sources get Data. */
function classOf(pkg: string, provider: ProviderName, type: string, data: boolean): string {
  const bare = type.slice(provider.length + 1);
  const base = data ? `data_${provider}_${bare}` : bare;
  const module = camel(base);
  return `${pkg}.${module}.${module[0]!.toUpperCase()}${module.slice(1)}`;
}

const OPTIONAL_COMPUTED = (name: string): boolean => name === 'id' || name === 'project';

function schemaFor(provider: ProviderName): {
  resources: Record<string, BlockSchema>;
  data_sources: Record<string, BlockSchema>;
  provider_config: BlockSchema;
} {
  const jsii = loadJsii(provider);
  const spec = PACKAGES[provider];
  const build = (type: string, data: boolean): BlockSchema => {
    const cls = classOf(spec.pkg, provider, type, data);
    if (!jsii[cls]) throw new Error(`${type}: ${cls} is not in ${spec.pkg}`);
    return blockFrom(`${cls}Config`, cls, jsii, provider === 'google' ? OPTIONAL_COMPUTED : () => false);
  };
  const providerClass = `${spec.pkg}.provider.${spec.className}Provider`;
  return {
    provider_config: blockFrom(`${providerClass}Config`, undefined, jsii, () => false),
    resources: Object.fromEntries(usedTypes('resource', provider).map((t) => [t, build(t, false)])),
    data_sources: Object.fromEntries(usedTypes('data', provider).map((t) => [t, build(t, true)])),
  };
}

interface SharedBlock {
  attributes: Record<string, { required?: boolean }>;
  blocks: Record<string, SharedBlock & { required?: boolean; list?: boolean }>;
  computed?: string[];
}

/** Names, required flags and nesting must agree with the provider's published schema. */
function crossCheck(ours: BlockSchema, theirs: SharedBlock, where: string): string[] {
  const problems: string[] = [];
  // Every attribute the published schema names is ours, settable or computed as it says. (Its
  // computed names were snake-cased from getters, so they are compared without underscores.)
  for (const [n, a] of Object.entries(theirs.attributes)) {
    const mine = ours.attributes[n];
    if (!mine || !(mine.required || mine.optional)) problems.push(`${where}.${n}: not a settable attribute here`);
    else if (Boolean(mine.required) !== Boolean(a.required)) problems.push(`${where}.${n}: required differs`);
  }
  const bare = (n: string): string => n.replace(/_/g, '');
  const computedHere = new Set(
    Object.entries(ours.attributes)
      .filter(([, a]) => a.computed)
      .map(([n]) => bare(n)),
  );
  for (const n of theirs.computed ?? [])
    if (!computedHere.has(bare(n))) problems.push(`${where}.${n}: not computed here`);
  const blocks = Object.keys(ours.block_types).sort();
  if (JSON.stringify(blocks) !== JSON.stringify(Object.keys(theirs.blocks).sort()))
    problems.push(`${where}: blocks ${blocks.join(',')} vs ${Object.keys(theirs.blocks).sort().join(',')}`);
  for (const [n, b] of Object.entries(theirs.blocks)) {
    const mine = ours.block_types[n];
    if (!mine) continue;
    if ((mine.max_items === 0) !== Boolean(b.list)) problems.push(`${where}.${n}: repetition differs`);
    if (mine.min_items > 0 !== Boolean(b.required)) problems.push(`${where}.${n}: required differs`);
    problems.push(...crossCheck(mine.block, b, `${where}.${n}`));
  }
  return problems;
}

const outDir = 'harness/terraform/schemas';
mkdirSync(outDir, { recursive: true });
for (const provider of (values.providers ?? Object.keys(PACKAGES).join(',')).split(',') as ProviderName[]) {
  if (!(provider in PACKAGES)) throw new Error(`unknown provider ${provider}: ${Object.keys(PACKAGES).join(', ')}`);
  const schema = schemaFor(provider);
  if (provider === 'google') {
    const shared = JSON.parse(readFileSync(values.shared, 'utf8')) as {
      resources: Record<string, SharedBlock>;
      data_sources: Record<string, SharedBlock>;
    };
    // The published schema knows which settable attributes are also computed (jsii does not).
    const markComputed = (block: BlockSchema, theirs: SharedBlock): void => {
      for (const n of theirs.computed ?? []) {
        const hit = Object.entries(block.attributes).find(([mine]) => mine.replace(/_/g, '') === n.replace(/_/g, ''));
        if (hit) hit[1].computed = true;
      }
    };
    for (const [t, b] of Object.entries(schema.resources)) {
      markComputed(b, shared.resources[t]!);
      markOptionalComputed(b, optionalComputedInSource(t));
    }
    for (const [t, b] of Object.entries(schema.data_sources)) markComputed(b, shared.data_sources[t]!);
    const problems = [
      ...Object.entries(schema.resources).flatMap(([t, b]) => crossCheck(b, shared.resources[t]!, t)),
      ...Object.entries(schema.data_sources).flatMap(([t, b]) => crossCheck(b, shared.data_sources[t]!, `data.${t}`)),
    ];
    if (problems.length > 0)
      throw new Error(`the jsii schema disagrees with the published one:\n${problems.join('\n')}`);
  }
  const spec = PACKAGES[provider];
  const file = {
    provider: spec.provider,
    version: spec.providerVersion,
    source: `${spec.pkg}@${spec.version} (jsii), by scripts/terraform-provider-schemas.ts`,
    ...schema,
  };
  writeFileSync(join(outDir, `${provider}.json`), `${JSON.stringify(file, null, 1)}\n`);
  process.stdout.write(
    `${provider}: ${Object.keys(schema.resources).length} resources, ${Object.keys(schema.data_sources).length} data sources\n`,
  );
}
