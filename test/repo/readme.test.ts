import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../lib/cloud/functions.ts';
import { OPTIONS, type OptionSpec } from '../../lib/config/options.ts';

/** The README says what the code declares: its configuration table and its list of functions. */
const README = readFileSync('README.md', 'utf8');

function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** Table rows of a section: cells by column. */
function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
    .slice(1)
    .map((l) => l.slice(1, -1).split(' | ').map((c) => c.trim()));
}

describe('README', () => {
  it('lists every setting once, with its flag and default, and nothing that is not one', () => {
    const table = rows(section('Configuration'));
    const byVariable = new Map(table.map((cells) => [/`([A-Z_]+)`/.exec(cells[0]!)?.[1] ?? cells[0]!, cells]));
    const declared = Object.values(OPTIONS) as OptionSpec[];
    expect([...byVariable.keys()].sort()).toEqual(declared.map((o) => o.variable).sort());
    for (const o of declared) {
      const [, flag, dflt] = byVariable.get(o.variable)!;
      expect(flag, `${o.variable}'s flag`).toBe(o.flag ? `\`--${o.flag}\`` : '');
      expect(dflt, `${o.variable}'s default`).toBe(o.default !== undefined ? `\`${o.default}\`` : '');
    }
  });

  it('lists exactly the roles the bootstrap grants the deployer', () => {
    const script = readFileSync('deploy/bootstrap.sh', 'utf8');
    const block = script.slice(script.indexOf('DEPLOYER_ROLES=('), script.indexOf('\n)\n', script.indexOf('DEPLOYER_ROLES=(')));
    const granted = [...block.matchAll(/^\s+(roles\/[\w.]+)/gm)].map((m) => m[1]!);
    expect(script).toContain('--role=roles/resourcemanager.projectIamAdmin');
    expect(script).toContain("api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/logging.logWriter'])");
    const deployment = section('Deployment');
    const roles = deployment.slice(deployment.indexOf("### The deployer's roles"), deployment.indexOf('\n### ', deployment.indexOf("### The deployer's roles") + 1));
    const listed = rows(roles).map((cells) => /`(roles\/[\w.]+)`/.exec(cells[0]!)?.[1]);
    expect(listed.sort()).toEqual([...granted, 'roles/resourcemanager.projectIamAdmin'].sort());
  });

  it('describes every function of the table', () => {
    const table = rows(section('The functions'));
    expect(table.map((cells) => /`(\w+)`/.exec(cells[0]!)?.[1]).sort()).toEqual(FUNCTIONS.map((f) => f.name).sort());
  });
});
