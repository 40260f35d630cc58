import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../lib/cloud/functions.ts';
import { OPTIONS, type OptionSpec } from '../../lib/config/options.ts';
import { docSection, rows } from '../markdown.ts';

/** The README says what the code declares: its configuration table and its list of functions. */
const README = readFileSync('README.md', 'utf8');

const DEPLOYMENT_DOC = readFileSync('docs/deployment.md', 'utf8');
const section = (heading: string): string => docSection(README, heading);

describe('README', () => {
  it.each([
    ['README.md', 'Configuration'],
    ['docs/alerts.md', 'Settings'],
  ])('%s lists every setting once, with its flag and default, and nothing that is not one', (doc, heading) => {
    const table = rows(docSection(readFileSync(doc, 'utf8'), heading));
    const byVariable = new Map(table.map((cells) => [/`([A-Z_]+)`/.exec(cells[0]!)?.[1] ?? cells[0]!, cells]));
    // The alerts' settings are documented with the alerts, the rest in the README.
    const alerting = (o: OptionSpec) => o.variable.startsWith('ALERTS_') || o.variable === 'RUN_STORED_TOPIC';
    const declared = (Object.values(OPTIONS) as OptionSpec[]).filter((o) => alerting(o) === (doc !== 'README.md'));
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

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

describe('the documents', () => {
  const docs = [
    'README.md',
    ...readdirSync('docs')
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];

  it.each(docs)('%s: every relative link names a file that exists, and a heading that exists', (doc) => {
    const text = readFileSync(doc, 'utf8');
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
    if (doc === 'README.md') expect(links.length).toBeGreaterThan(5);
    for (const link of links) {
      const [file, anchor] = link.split('#') as [string, string | undefined];
      const target = file ? join(dirname(doc), file) : doc;
      expect(existsSync(target), `${doc} links to ${link}`).toBe(true);
      if (anchor === undefined) continue;
      const headings = [...readFileSync(target, 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!));
      expect(headings, `${doc} links to ${link}`).toContain(anchor);
    }
  });

  it('the README is short enough to read in ten minutes; the figures live in docs/', () => {
    const words = README.split(/\s+/).length;
    expect(words).toBeLessThan(4500);
    expect(README).not.toMatch(/\| fault \| runs expected/);
  });
});
