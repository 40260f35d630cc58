import { describe, expect, it } from 'vitest';
import { commandOfStepName, dbtSubcommand, selectDbtSteps, storedFileName } from '../../../lib/core/steps.ts';
import type { Run } from '../../../lib/core/run-model.ts';

describe('step names', () => {
  it.each([
    ['Invoke dbt with `dbt run --select x`', 'dbt run --select x'],
    ['invoke dbt with `dbt build` ', 'dbt build'],
    ['  INVOKE  DBT  WITH  `dbt docs generate`  ', 'dbt docs generate'],
    ['Clone Git Repository', null],
    ['Create Profile from Connection Snowflake ', null],
    ['Invoke dbt with ``', null],
  ])('%j -> %j', (name, command) => {
    expect(commandOfStepName(name)).toBe(command);
  });
});

describe('dbt sub-commands and stored run_results names', () => {
  it.each([
    ['dbt run --select x', 'run_run_results.json'],
    ['dbt test', 'test_run_results.json'],
    ['dbt build --select tag:daily', 'build_run_results.json'],
    ['dbt seed --full-refresh', 'seed_run_results.json'],
    ['dbt snapshot', 'snapshot_run_results.json'],
    ['dbt compile', 'compile_run_results.json'],
    ['dbt docs generate', 'docs_generate_run_results.json'],
    ['dbt source freshness', 'source_freshness_run_results.json'],
    ['dbt run-operation grant_select --args "{role: reporter}"', 'run_operation_run_results.json'],
    ['dbt --warn-error seed', 'seed_run_results.json'],
    ['dbt --log-format json --warn-error run --select x', 'run_run_results.json'],
    ['dbt --log-level=debug build', 'build_run_results.json'],
    ['dbt -x --fail-fast test -s my_model', 'test_run_results.json'],
    ['dbt --profiles-dir ./profiles docs generate --no-compile', 'docs_generate_run_results.json'],
    ['DBT RUN', 'run_run_results.json'],
  ])('%s -> %s', (command, name) => {
    expect(storedFileName('run_results.json', dbtSubcommand(command)!)).toBe(name);
  });

  it('keeps the other file names', () => {
    for (const file of ['manifest.json', 'catalog.json', 'sources.json'])
      expect(storedFileName(file, 'docs generate')).toBe(file);
  });

  it('has no sub-command for dbt alone', () => {
    expect(dbtSubcommand('dbt --version')).toBeNull();
  });
});

const run = (
  steps: { index: number; name: string }[],
  executeSteps: string[] = [],
): Pick<Run, 'run_steps' | 'job'> => ({
  run_steps: steps.map((s) => ({ id: s.index, index: s.index, name: s.name })),
  job: { id: 1, name: 'j', project_id: 1, environment_id: 1, execute_steps: executeSteps },
});

describe('selectDbtSteps', () => {
  it('uses the run steps by their own index, skipping deps and non-dbt steps', () => {
    const selection = selectDbtSteps(
      run(
        [
          { index: 1, name: 'Clone Git Repository' },
          { index: 2, name: 'Create Profile from Connection Snowflake ' },
          { index: 3, name: 'Invoke dbt with `dbt deps`' },
          { index: 4, name: 'Invoke dbt with `dbt source freshness`' },
          { index: 5, name: 'Invoke dbt with `dbt build`' },
          { index: 6, name: 'Invoke dbt with `dbt docs generate`' },
        ],
        ['dbt build'],
      ),
    );
    expect(selection.fallback).toBe(false);
    expect(selection.steps.map((s) => [s.index, s.subcommand])).toEqual([
      [4, 'source freshness'],
      [5, 'build'],
      [6, 'docs generate'],
    ]);
  });

  it('falls back to execute_steps numbered from 4 only when the run has no steps', () => {
    const selection = selectDbtSteps(run([], ['dbt seed', 'dbt run', 'dbt test']));
    expect(selection.fallback).toBe(true);
    expect(selection.steps.map((s) => [s.index, s.subcommand])).toEqual([
      [4, 'seed'],
      [5, 'run'],
      [6, 'test'],
    ]);
  });

  it('does not fall back when the run has steps but none invoked dbt (failed at clone)', () => {
    const selection = selectDbtSteps(run([{ index: 1, name: 'Clone Git Repository' }], ['dbt run']));
    expect(selection).toEqual({ steps: [], fallback: false });
  });
});
