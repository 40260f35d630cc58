/**
 * A benchmark child's own peak resident memory, in MB.
 *
 * Not `process.resourceUsage().maxRSS`: on Linux, getrusage's ru_maxrss survives exec, so a child
 * that a big parent forked reports the parent's size at the fork (the bench's parent, which serves
 * the fake dbt Cloud and the datasets, reached 435 MB and every later child "peaked" there).
 * /proc/self/status's VmHWM is the high-water mark of this process's own address space, which exec
 * starts anew (proc(5)). Elsewhere, maxRSS is the best there is.
 */
import { readFileSync } from 'node:fs';

export function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS / 1024;
}
