import { describe, expect, it } from 'vitest';
import { filesOfCommand, planArtifacts } from '../../../lib/core/artifacts.ts';
import type { DbtStep } from '../../../lib/core/steps.ts';

/** Which files are asked for, step by step: dbt's table, the run's list, the allow-list. */
const step = (index: number, subcommand: string): DbtStep => ({ index, command: `dbt ${subcommand}`, subcommand });
const STEPS = [step(4, 'source freshness'), step(5, 'build'), step(6, 'docs generate')];
const asked = (plan: ReturnType<typeof planArtifacts>) =>
  plan.map((p) => `${p.step.index}:${p.file}${p.promised ? '!' : ''}`);

describe('the files of each step', () => {
  it('follows dbt’s table of which command writes what, and asks a command it does not know for all four', () => {
    expect(filesOfCommand('run')).toEqual(['manifest.json', 'run_results.json']);
    expect(filesOfCommand('docs generate')).toEqual(['manifest.json', 'run_results.json', 'catalog.json']);
    expect(filesOfCommand('source freshness')).toEqual(['manifest.json', 'sources.json']);
    expect(filesOfCommand('parse')).toEqual(['manifest.json']);
    expect(filesOfCommand('deps')).toEqual([]);
    expect(filesOfCommand('fusion-thing')).toEqual([
      'manifest.json',
      'run_results.json',
      'catalog.json',
      'sources.json',
    ]);
  });

  it('asks the last step for what the run’s list names, and the earlier steps that parse for its extra names', () => {
    const listed = [
      'manifest.json',
      'run_results.json',
      'catalog.json',
      'semantic_manifest.json',
      'compiled/a/b.sql',
      'run.log',
    ];
    expect(asked(planArtifacts(STEPS, listed, 'all'))).toEqual([
      '4:manifest.json',
      '4:sources.json',
      '4:semantic_manifest.json',
      '5:manifest.json',
      '5:run_results.json',
      '5:semantic_manifest.json',
      '6:manifest.json!',
      '6:run_results.json!',
      '6:catalog.json!',
      '6:semantic_manifest.json!',
    ]);
    // The allow-list keeps to its names.
    expect(asked(planArtifacts(STEPS, listed, ['manifest.json', 'sources.json']))).toEqual([
      '4:manifest.json',
      '4:sources.json',
      '5:manifest.json',
      '6:manifest.json!',
    ]);
  });

  it('without a list, asks what the table says and the documented parse-time extra', () => {
    expect(asked(planArtifacts([step(4, 'run'), step(5, 'test')], null, 'all'))).toEqual([
      '4:manifest.json',
      '4:run_results.json',
      '4:semantic_manifest.json',
      '5:manifest.json',
      '5:run_results.json',
      '5:semantic_manifest.json',
    ]);
    expect(asked(planArtifacts([step(4, 'run')], null, ['manifest.json', 'graph_summary.json']))).toEqual([
      '4:manifest.json',
      '4:graph_summary.json',
    ]);
  });
});
