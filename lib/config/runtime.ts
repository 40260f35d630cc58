/**
 * V8 tuned for small instances, three ways, each set at run time before the work starts (Node does not
 * accept these flags in NODE_OPTIONS, and they act as the heap grows).
 *
 * `memory`, with --optimize-for-size: the heap grows less between collections, and V8 compiles for
 * size. The functions that wait on the network: a 31-day backfill peaked at 131 MB with it
 * against 169 MB without (npm run bench: backfill).
 *
 * `reading`, for harvestRun and the CLI, which read artifacts byte by byte: the young generation
 * stays at its first size (--semi-space-growth-factor=1) and the old one grows by a tenth
 * (--heap-growing-percent=10), without --optimize-for-size, which made the facts readers a quarter
 * slower (its code is compiled for size). Harvesting a 435 MB `docs generate` step with coverage on
 * took 4.4 s and 167 MB with `memory`, 3.5 s and 191 MB with `reading` (npm run bench: coverage).
 *
 * `rows`, for `history`, which makes and drops a row object per run, hundreds of thousands of them:
 * the young generation fixed at 16 MB (where `reading` keeps it at its first megabyte, so that most
 * of a year's read was spent collecting), the old one growing by a tenth. From the rollup of 375,780
 * runs on the shared machine: `memory` 76 s and 160 MB, `reading` 24 s and 203 MB, `rows` 21 s and
 * 207 MB, V8 untuned 16 s and 259 MB (docs/performance.md).
 * @module
 */
import { setFlagsFromString } from 'node:v8';

export type Tuning = 'memory' | 'reading' | 'rows';

const FLAGS: Record<Tuning, readonly string[]> = {
  memory: ['--optimize-for-size'],
  reading: ['--semi-space-growth-factor=1', '--heap-growing-percent=10'],
  rows: ['--semi-space-growth-factor=1', '--min-semi-space-size=16', '--heap-growing-percent=10'],
};

let tuned = false;

/** Tunes this process once (the first call decides). */
export function tuneForSmallInstances(tuning: Tuning = 'memory'): void {
  if (tuned) return;
  tuned = true;
  for (const flag of FLAGS[tuning]) setFlagsFromString(flag);
}
