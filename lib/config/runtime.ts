/**
 * V8 tuned for small instances, two ways, each set at run time before the work starts (Node does not
 * accept these flags in NODE_OPTIONS, and they act as the heap grows).
 *
 * `memory`, with --optimize-for-size: the heap grows less between collections, and V8 compiles for
 * size. The functions that wait on the network and `history`: a 31-day backfill peaked at 131 MB with
 * it against 169 MB without (npm run bench: backfill); `history` over a year of runs at 175 MB
 * against 365 MB without, and at 194 MB with `reading` below (+50 MB over 10,000 runs, the limit).
 *
 * `reading`, for harvestRun and the CLI, which read artifacts byte by byte: the young generation
 * stays at its first size (--semi-space-growth-factor=1) and the old one grows by a tenth
 * (--heap-growing-percent=10), without --optimize-for-size, which made the facts readers a quarter
 * slower (its code is compiled for size). Harvesting a 435 MB `docs generate` step with coverage on
 * took 4.4 s and 167 MB with `memory`, 3.5 s and 191 MB with `reading` (npm run bench: coverage).
 * @module
 */
import { setFlagsFromString } from 'node:v8';

export type Tuning = 'memory' | 'reading';

const FLAGS: Record<Tuning, readonly string[]> = {
  memory: ['--optimize-for-size'],
  reading: ['--semi-space-growth-factor=1', '--heap-growing-percent=10'],
};

let tuned = false;

/** Tunes this process once (the first call decides). */
export function tuneForSmallInstances(tuning: Tuning = 'memory'): void {
  if (tuned) return;
  tuned = true;
  for (const flag of FLAGS[tuning]) setFlagsFromString(flag);
}
