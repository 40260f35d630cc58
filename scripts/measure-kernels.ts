/**
 * The scanners' WebAssembly kernels and memory (issue 38): a process reads `files` documents one
 * after the other, each through a scanner that has the kernel read a 1 MiB chunk, while its live
 * heap grows (as a long history's first read does): with a kernel per scanner, as before, each
 * instance's memory waits for a collection; with the lender, one instance serves them all. Each in
 * its own process; prints the peak RSS of each.
 *
 *   node scripts/measure-kernels.ts [--files 20000]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { JsonScanner } from '../lib/json/json-scan.ts';
import { KernelLender } from '../lib/json/json-skip.ts';
import { peakRssMb } from './peak-rss.ts';

const { values } = parseArgs({
  options: { files: { type: 'string', default: '20000' }, child: { type: 'string' } },
});
const files = Number(values.files);

if (values.child) {
  const perFile = values.child === 'per-file';
  const shared = new KernelLender();
  const chunk = Buffer.from(`[${'"abcdefghijklmnopqrstuvwxyz",'.repeat(36_000)}0]`);
  const live: object[] = [];
  for (let i = 0; i < files; i++) {
    // A lender of its own per scanner makes an instance per file, as a kernel per scanner did.
    const scanner = new JsonScanner(null, { lender: perFile ? new KernelLender() : shared });
    scanner.write(chunk);
    scanner.end();
    for (let j = 0; j < 5; j++) live.push({ file: `${i}-${j}`, i, at: [i, j] });
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  process.stdout.write(`${JSON.stringify({ peakRssMb: peakRssMb(), instances: perFile ? files : shared.made })}\n`);
} else {
  for (const mode of ['per-file', 'lent']) {
    const out = execFileSync(process.execPath, [import.meta.filename, '--files', String(files), '--child', mode], {
      encoding: 'utf8',
    });
    const r = JSON.parse(out) as { peakRssMb: number; instances: number };
    process.stdout.write(
      `${files} documents of 1 MiB, ${mode === 'lent' ? 'kernels lent' : 'a kernel per scanner'}: ${r.instances} instances, peak RSS ${r.peakRssMb.toFixed(1)} MB\n`,
    );
  }
}
