import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../lib/cloud/functions.ts';
import { OPTIONS, type OptionSpec } from '../../lib/config/options.ts';
import { docSection, rows } from '../markdown.ts';

/** The README says what the code declares: its configuration table and its list of functions. */
const README = readFileSync('README.md', 'utf8');

const DEPLOYMENT_DOC = readFileSync('docs/deployment.md', 'utf8');
const section = (heading: string): string => docSection(README, heading);

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

  it('lists exactly the roles the bootstrap grants the deployer (docs/deployment.md)', () => {
    const script = readFileSync('deploy/bootstrap.sh', 'utf8');
    const block = script.slice(
      script.indexOf('DEPLOYER_ROLES=('),
      script.indexOf('\n)\n', script.indexOf('DEPLOYER_ROLES=(')),
    );
    const granted = [...block.matchAll(/^\s+(roles\/[\w.]+)/gm)].map((m) => m[1]!);
    expect(script).toContain('--role=roles/resourcemanager.projectIamAdmin');
    expect(script).toContain(
      "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/logging.logWriter', 'roles/storage.objectViewer'])",
    );
    // No project-wide right to act as every service account, and no build starter for a build that never runs.
    expect(granted).not.toContain('roles/iam.serviceAccountUser');
    expect(granted).not.toContain('roles/cloudbuild.builds.editor');
    const roles = docSection(DEPLOYMENT_DOC, "The deployer's roles");
    const listed = rows(roles).map((cells) => /`(roles\/[\w.]+)`/.exec(cells[0]!)?.[1]);
    expect(listed.sort()).toEqual([...granted, 'roles/resourcemanager.projectIamAdmin'].sort());
  });

  it('describes every function of the table', () => {
    const table = rows(section('The functions'));
    expect(table.map((cells) => /`(\w+)`/.exec(cells[0]!)?.[1]).sort()).toEqual(FUNCTIONS.map((f) => f.name).sort());
  });
});
