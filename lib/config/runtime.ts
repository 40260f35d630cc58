/**
 * V8 tuned for small memory: with --optimize-for-size the heap grows less between collections. The
 * functions' instances (256 and 512 MiB) wait on the network, not the CPU: a 31-day backfill peaked
 * at 131 MB with it against 169 MB without (npm run bench: backfill). `history` reads a year of rows,
 * each garbage once folded: 165 MB with it against 365 MB without, for about half again the time
 * (npm run bench: history). Node does not accept this flag in NODE_OPTIONS, so it is set at run time,
 * before the work starts.
 * @module
 */
import { setFlagsFromString } from 'node:v8';

let tuned = false;

export function tuneForSmallInstances(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString('--optimize-for-size');
}
