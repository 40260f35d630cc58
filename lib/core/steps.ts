/**
 * Which run steps invoked dbt, and with which sub-command: the pure part of harvesting one run.
 * @module
 */
import type { Run } from './run-model.ts';

export interface DbtStep {
  /** The step's own index (1-based), used as `?step=` and in the object path. */
  index: number;
  /** The full command, e.g. `dbt --warn-error run --select x`. */
  command: string;
  /** The sub-command with flags dropped, e.g. `run`, `docs generate`, `run-operation`. */
  subcommand: string;
}

const INVOKE = /^\s*invoke\s+dbt\s+with\s+`([^`]*)`\s*$/i;

/** The dbt command of a step named ``Invoke dbt with `dbt ...` `` (any case, extra spaces), else null. */
export function commandOfStepName(name: string): string | null {
  const m = INVOKE.exec(name);
  const command = m?.[1]?.trim();
  return command ? command : null;
}

/** dbt's global flags that take a value (the others are switches). */
const VALUE_FLAGS = new Set([
  '--log-format',
  '--log-format-file',
  '--log-level',
  '--log-level-file',
  '--log-path',
  '--target-path',
  '--profiles-dir',
  '--project-dir',
  '--printer-width',
  '--record-timing-info',
  '-r',
  '--warn-error-options',
  '--invocation-command',
  '--cache-selected-only-for',
  '--log-cache-events-for',
]);

/** Sub-commands made of two words. */
const GROUPS = new Set(['docs', 'source']);

/** Splits a command line into words, honouring single and double quotes. */
export function splitWords(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/**
 * The dbt sub-command of a command line: `dbt --warn-error seed` -> `seed`,
 * `dbt docs generate` -> `docs generate`, `dbt run-operation m --args x` -> `run-operation`.
 * Null when there is none (`dbt --version`).
 */
export function dbtSubcommand(command: string): string | null {
  const words = splitWords(command);
  let i = words[0]?.toLowerCase() === 'dbt' ? 1 : 0;
  while (i < words.length) {
    const w = words[i]!;
    if (!w.startsWith('-')) break;
    i += VALUE_FLAGS.has(w) ? 2 : 1; // --flag=value and switches take one word
  }
  const first = words[i]?.toLowerCase();
  if (!first) return null;
  const second = words[i + 1]?.toLowerCase();
  if (GROUPS.has(first) && second && !second.startsWith('-')) return `${first} ${second}`;
  return first;
}

/** `docs generate` -> `docs_generate`, `run-operation` -> `run_operation`. */
export function subcommandToken(subcommand: string): string {
  return (
    subcommand
      .replace(/[\s-]+/g, '_')
      .replace(/[^a-z0-9_]/gi, '')
      .toLowerCase() || 'dbt'
  );
}

export interface StepSelection {
  steps: DbtStep[];
  /** True when the run had no run steps and the job's execute_steps were used instead. */
  fallback: boolean;
}

/**
 * The steps to harvest: every run step that invoked dbt, except `dbt deps`, by its own index.
 * Only when the run has no steps at all, the job's execute_steps numbered from 4.
 */
export function selectDbtSteps(run: Pick<Run, 'run_steps' | 'job'>): StepSelection {
  const runSteps = run.run_steps ?? [];
  if (runSteps.length > 0) {
    const steps: DbtStep[] = [];
    for (const step of runSteps) {
      const command = commandOfStepName(step.name);
      if (!command) continue;
      const subcommand = dbtSubcommand(command);
      if (!subcommand || subcommand === 'deps') continue;
      steps.push({ index: step.index, command, subcommand });
    }
    return { steps: steps.sort((a, b) => a.index - b.index), fallback: false };
  }
  const executeSteps = run.job?.execute_steps ?? [];
  const steps: DbtStep[] = [];
  executeSteps.forEach((command, position) => {
    const subcommand = dbtSubcommand(command);
    if (subcommand && subcommand !== 'deps') steps.push({ index: 4 + position, command, subcommand });
  });
  return { steps, fallback: true };
}

/** The stored name of a file: `run_results.json` becomes `<command>_run_results.json`. */
export function storedFileName(file: string, subcommand: string): string {
  return file === 'run_results.json' ? `${subcommandToken(subcommand)}_run_results.json` : file;
}
