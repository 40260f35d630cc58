/**
 * A stored coverage summary (coverage.json) read for its figures alone: every member but its
 * per-table lists (`tables`, `unmatched_tables`), which are skipped as they stream. A summary of a
 * project of 23,000 tables is megabytes, almost all of it those lists; the history's rows need only
 * the figures, so a first read of a long history parses kilobytes per run, not megabytes, and holds
 * none of it. The figures are then checked by the summary's one schema (core/coverage-summary.ts),
 * with the lists empty.
 * @module
 */
import { CoverageSummarySchema, type CoverageSummary } from '../core/coverage-summary.ts';
import { JsonBoundError, type ObjectVisit, type Visit } from '../json/json-scan.ts';
import { FactsReader } from './reader.ts';

/** The lists left out. */
const SKIPPED = new Set(['tables', 'unmatched_tables']);
/** The most values (scalars and containers) kept of the rest: a summary's figures are a few dozen. */
const MAX_VALUES = 10_000;

/** A summary's figures did not pass its schema. */
export class NotACoverageSummaryError extends Error {}

export class CoverageFiguresReader extends FactsReader<CoverageSummary> {
  private readonly root: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  private values = 0;

  protected rootObject(): ObjectVisit {
    return {
      member: (key) => {
        const name = String(key);
        if (SKIPPED.has(name)) {
          this.root[name] = [];
          return null;
        }
        return this.valueVisit((v) => {
          this.root[name] = v;
        });
      },
    };
  }

  private counted(): void {
    if (++this.values > MAX_VALUES) throw new JsonBoundError(`more than ${MAX_VALUES} values besides the tables`);
  }

  /** A small value built as JSON.parse builds it (a repeated key keeps its last value). */
  private valueVisit(set: (value: unknown) => void): Visit {
    return {
      text: true,
      scalar: (kind, text) => {
        this.counted();
        set(
          kind === 'string'
            ? (text ?? '')
            : kind === 'number'
              ? Number(text)
              : kind === 'null'
                ? null
                : kind === 'true',
        );
      },
      object: () => {
        this.counted();
        const object = Object.create(null) as Record<string, unknown>;
        set(object);
        return {
          member: (key) =>
            this.valueVisit((v) => {
              object[String(key)] = v;
            }),
        };
      },
      array: () => {
        this.counted();
        const list: unknown[] = [];
        set(list);
        return { item: () => this.valueVisit((v) => list.push(v)) };
      },
    };
  }

  protected facts(): CoverageSummary {
    const parsed = CoverageSummarySchema.safeParse({ ...this.root });
    if (!parsed.success)
      throw new NotACoverageSummaryError(`${this.what} is not a coverage summary this version reads`);
    return parsed.data;
  }
}
