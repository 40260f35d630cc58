/**
 * V8 tuned for the functions' small instances (256 and 512 MiB): with --optimize-for-size the heap
 * grows less between collections. The functions wait on the network, not the CPU, and a 31-day
 * backfill peaked at 131 MB with it against 169 MB without (npm run bench: backfill). Node does not
 * accept this flag in NODE_OPTIONS, so it is set when the first function is served.
 * @module
 */
import { setFlagsFromString } from 'node:v8';

let tuned = false;

export function tuneForSmallInstances(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString('--optimize-for-size');
}
