import { describe, expect, it } from 'vitest';
import { filesOfCommand, planArtifacts, schemaWarning } from '../../../lib/core/artifacts.ts';
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
    // dbt v2's freshness: sources and models; sources.json too when sources were checked.
    expect(filesOfCommand('freshness')).toEqual(['manifest.json', 'freshness.json', 'sources.json']);
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

  it("asks every dbt step for Fusion's telemetry when the run's list names any, the listed one promised, and none otherwise", () => {
    const fusion = [step(4, 'build'), step(5, 'freshness'), step(6, 'docs generate')];
    const listed = ['manifest.json', 'run_results.json', 'catalog.json', 'metadata/telemetry-6-otel.parquet'];
    const telemetry = (plan: ReturnType<typeof planArtifacts>) => asked(plan).filter((a) => a.includes('telemetry'));
    expect(telemetry(planArtifacts(fusion, listed, 'all'))).toEqual([
      '4:metadata/telemetry-4-otel.parquet',
      '5:metadata/telemetry-5-otel.parquet',
      '6:metadata/telemetry-6-otel.parquet!',
    ]);
    // The freshness step asks for freshness.json; the run's list (the last step's) does not name it.
    expect(asked(planArtifacts(fusion, listed, 'all'))).toContain('5:freshness.json');
    // A run whose list names no telemetry is asked for none: no request per step for it.
    expect(telemetry(planArtifacts(fusion, listed.slice(0, 3), 'all'))).toEqual([]);
    expect(telemetry(planArtifacts(fusion, null, 'all'))).toEqual([]);
    // The allow-list names it as telemetry.
    expect(telemetry(planArtifacts(fusion, listed, ['manifest.json']))).toEqual([]);
    expect(telemetry(planArtifacts(fusion, listed, ['manifest.json', 'telemetry']))).toHaveLength(3);
  });

  it("knows the schemas it reads, Fusion's v20 manifest among them, and says so of a newer one", () => {
    const url = (kind: string, v: number) => `https://schemas.getdbt.com/dbt/${kind}/v${v}.json`;
    for (const [kind, v] of [
      ['manifest', 12],
      ['manifest', 20],
      ['run-results', 6],
      ['sources', 3],
      ['freshness', 0],
    ] as const)
      expect(schemaWarning('x.json', url(kind, v)), `${kind} v${v}`).toBeNull();
    expect(schemaWarning('manifest.json', url('manifest', 13))).toMatch(
      /^manifest\.json says schema manifest v13, newer than this version knows: it is stored as it is/,
    );
    expect(schemaWarning('run_results.json', url('run-results', 7))).toMatch(/run-results v7/);
    expect(schemaWarning('x.json', null)).toBeNull();
    expect(schemaWarning('x.json', 'https://example.com/schema.json')).toBeNull();
  });
});
