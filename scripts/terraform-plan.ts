/**
 * npm run terraform:plan: the real terraform binary evaluates terraform/ offline, with stand-ins of
 * the hashicorp/google, hashicorp/archive and hashicorp/time providers serving their real schemas: init (no
 * backend), validate, and plan with terraform/terraform.tfvars.example. Exits non-zero on any error.
 *
 *   npm run terraform:plan -- [--var-file terraform.tfvars.example] [--json plan.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { planTerraform, plannedResources } from '../harness/terraform/plan.ts';
import { startStandIns } from '../harness/terraform/server.ts';

const { values } = parseArgs({
  options: { 'var-file': { type: 'string', default: 'terraform.tfvars.example' }, json: { type: 'string' } },
});
const standIns = await startStandIns();
try {
  const result = await planTerraform({ standIns, varFile: values['var-file'] });
  if (!result.ok || !result.plan) {
    process.stderr.write(
      `${result.output}\nterraform ${result.failed} failed (offline, against the stand-in providers).\n`,
    );
    process.exitCode = 1;
  } else {
    const managed = plannedResources(result.plan).filter((r) => r.mode === 'managed');
    const byType = new Map<string, number>();
    for (const r of managed) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
    process.stdout.write(
      `terraform ${result.plan.terraform_version}: init, validate and plan succeeded; ${managed.length} resources to create\n`,
    );
    for (const [type, n] of [...byType].sort()) process.stdout.write(`  ${String(n).padStart(3)} ${type}\n`);
    if (values.json) writeFileSync(values.json, JSON.stringify(result.plan, null, 1));
  }
} finally {
  await standIns.close();
}
