/**
 * A large dbt project of real shape, for the benchmarks: a public project's manifest and catalog
 * (test/fixtures/coverage/) copied N times under new names, written as streams to a folder. Copy c
 * renames each node's package (`model.harmony.x` -> `model.harmony_c7.x`), its schema, and every
 * reference to it, so that the copies are distinct tables with their own tests and columns, and
 * the figures of N copies are N times those of one.
 * @module
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';

type Json = Record<string, unknown>;

const rename = (id: string, c: number): string => id.replace(/^([a-z_]+)\.([^.]+)\./, `$1.$2_c${c}.`);

function copyNode(node: Json, c: number): Json {
  const out: Json = { ...node };
  if (typeof node['unique_id'] === 'string') out['unique_id'] = rename(node['unique_id'], c);
  if (typeof node['schema'] === 'string') out['schema'] = `${node['schema']}_c${c}`;
  if (typeof node['package_name'] === 'string') out['package_name'] = `${node['package_name']}_c${c}`;
  const deps = node['depends_on'] as { nodes?: string[] } | undefined;
  if (deps?.nodes) out['depends_on'] = { ...deps, nodes: deps.nodes.map((d) => rename(d, c)) };
  const meta = node['metadata'] as Json | undefined;
  if (meta && typeof meta['schema'] === 'string') out['metadata'] = { ...meta, schema: `${meta['schema']}_c${c}` };
  return out;
}

/** Writes `{...head, [section]: {copies of its entries}, ...}` without holding the output. */
async function writeCopies(file: string, doc: Json, sections: readonly string[], copies: number): Promise<number> {
  const out = createWriteStream(file);
  let bytes = 0;
  const write = async (text: string): Promise<void> => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  await write('{');
  let firstKey = true;
  for (const [key, value] of Object.entries(doc)) {
    await write(`${firstKey ? '' : ','}${JSON.stringify(key)}:`);
    firstKey = false;
    if (!sections.includes(key) || !value || typeof value !== 'object') {
      await write(JSON.stringify(value));
      continue;
    }
    await write('{');
    let first = true;
    for (let c = 0; c < copies; c++) {
      for (const [id, node] of Object.entries(value as Record<string, Json>)) {
        await write(`${first ? '' : ','}${JSON.stringify(rename(id, c))}:${JSON.stringify(copyNode(node, c))}`);
        first = false;
      }
    }
    await write('}');
  }
  await write('}');
  out.end();
  await once(out, 'finish');
  return bytes;
}

/** Writes DIR/manifest.json and DIR/catalog.json of `copies` copies of a fixture project. */
export async function writeBigProject(
  dir: string,
  copies: number,
  project = 'harmony',
): Promise<{ manifestBytes: number; catalogBytes: number }> {
  await mkdir(dir, { recursive: true });
  const load = async (name: string): Promise<Json> =>
    JSON.parse(
      gunzipSync(await readFile(join('test/fixtures/coverage', project, `${name}.json.gz`))).toString('utf8'),
    ) as Json;
  const manifest = await load('manifest');
  const catalog = await load('catalog');
  const manifestBytes = await writeCopies(
    join(dir, 'manifest.json'),
    manifest,
    ['nodes', 'sources', 'macros', 'unit_tests', 'docs', 'exposures', 'metrics'],
    copies,
  );
  const catalogBytes = await writeCopies(join(dir, 'catalog.json'), catalog, ['nodes', 'sources'], copies);
  return { manifestBytes, catalogBytes };
}
