/**
 * The facts of big artifacts, read by one run at a time. A run's manifest and catalog facts are
 * held until its summaries are written; a project of 23,000 tables holds tens of megabytes of them,
 * and a window of several such runs harvested at once would hold that many times over. A run that
 * meets a big artifact while another run holds the gate stores it (checked whole, as always) without
 * reading its facts, then, once the gate is its own, reads them from a second download: the body
 * is never left waiting on an open connection. The gate is shared by the runs of one process (the
 * CLI's window, an instance's requests), and released when a run's harvest ends.
 * @module
 */

/** An artifact at least this large has its facts read under the gate. */
export const BIG_FACTS_BYTES = 16 * 1024 * 1024;

export class FactsGate {
  private holder: number | null = null;
  private waiting: (() => void)[] = [];

  /** Whether `run` holds the gate now, taking it when it is free. */
  tryTake(run: number): boolean {
    if (this.holder === null) {
      this.holder = run;
      // The run's other waiting transfers go on now (a run may wait for its manifest and its catalog).
      this.wake();
    }
    return this.holder === run;
  }

  /** Waits until `run` holds the gate. */
  async take(run: number): Promise<void> {
    while (!this.tryTake(run)) await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Frees the gate, when `run` held it: every waiting transfer looks again. */
  release(run: number): void {
    if (this.holder !== run) return;
    this.holder = null;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}
