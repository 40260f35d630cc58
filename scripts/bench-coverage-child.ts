/**
 * One coverage measurement in its own process, so that its peak RSS is its own. Used by
 * scripts/bench.ts; prints one JSON line.
 *   --mode read     the facts readers over DIR/manifest.json and DIR/catalog.json
 *   --mode parse    JSON.parse of both, read whole (the floor of a whole-document reader)
 *   --mode compute  `coverage compute doc` on DIR, as a user runs it
 */
import { peakRssMb } from './peak-rss.ts';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '../lib/cli/cli.ts';
import { CatalogReader } from '../lib/facts/catalog.ts';
import { ManifestReader } from '../lib/facts/manifest.ts';
import { readFacts } from '../lib/facts/reader.ts';
import { fileChunks } from '../lib/storage/local.ts';

const { values } = parseArgs({
  options: { mode: { type: 'string' }, dir: { type: 'string' }, out: { type: 'string' } },
});
const dir = values.dir!;
const files = [join(dir, 'manifest.json'), join(dir, 'catalog.json')];
const bytes = (await stat(files[0]!)).size + (await stat(files[1]!)).size;
const started = performance.now();
let detail: unknown = null;
if (values.mode === 'read') {
  // As `coverage compute` reads them: 1 MiB chunks into two reused buffers.
  const m = await readFacts(fileChunks(files[0]!), new ManifestReader());
  const c = await readFacts(fileChunks(files[1]!), new CatalogReader());
  detail = {
    tables: m.tables.size,
    catalogTables: c.tables.length,
    columns: c.tables.reduce((n, t) => n + t.columns.length, 0),
  };
} else if (values.mode === 'parse') {
  for (const f of files) JSON.parse(await readFile(f, 'utf8'));
} else {
  let stderr = '';
  const code = await runCli(['coverage', 'compute', 'doc', '--run-artifacts-dir', dir, '--cov-report', values.out!], {
    env: {},
    stdout: () => {},
    stderr: (t) => {
      stderr += t;
    },
    isTTY: false,
    cwd: process.cwd(),
  });
  if (code !== 0) throw new Error(`coverage compute exited ${code}: ${stderr}`);
}
process.stdout.write(
  `${JSON.stringify({ bytes, seconds: (performance.now() - started) / 1000, maxRssMb: peakRssMb(), detail })}\n`,
);
