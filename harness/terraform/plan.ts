/**
 * Runs the real terraform binary on a copy of terraform/, offline, against the stand-in providers:
 * init (a local backend in place of gcs), validate, plan with a variables file, and show -json of
 * the plan. A mutation of the copied files lets tests show which mistakes the run catches.
 * @module
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningStandIns } from './server.ts';

export type Step = 'init' | 'validate' | 'plan' | 'show';

export interface PlanJson {
  format_version: string;
  terraform_version: string;
  variables: Record<string, { value: unknown }>;
  errored: boolean;
  planned_values: { root_module: ModuleValues; outputs?: Record<string, { sensitive: boolean; value?: unknown }> };
  resource_changes: {
    address: string;
    type: string;
    name: string;
    index?: string | number;
    mode: string;
    change: { actions: string[]; after: Record<string, unknown> | null; after_unknown: Record<string, unknown> };
  }[];
  configuration: unknown;
}
export interface ModuleValues {
  resources?: PlannedResource[];
  child_modules?: ModuleValues[];
}
export interface PlannedResource {
  address: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  index?: string | number;
  values: Record<string, unknown>;
}

export interface PlanRun {
  ok: boolean;
  /** The step that failed, when one did. */
  failed?: Step;
  /** What terraform printed, every step. */
  output: string;
  plan?: PlanJson;
}

export interface PlanOptions {
  standIns: RunningStandIns;
  /** The configuration to copy (default terraform/). */
  source?: string;
  /** The variables file, relative to the configuration (default terraform.tfvars.example). */
  varFile?: string;
  /** Changes the copied .tf files: name -> text in, name -> text out. */
  mutate?: (files: Record<string, string>) => Record<string, string>;
  /** Files of the packaged function source; a placeholder when absent. */
  functionSource?: string;
  /** Variables set on the command line, over the variables file (`-var name=value`). */
  vars?: Record<string, string>;
}

function run(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; text: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile('terraform', args, { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, text: `$ terraform ${args.join(' ')}\n${stdout}${stderr}`, stdout });
    });
  });
}

export async function planTerraform(options: PlanOptions): Promise<PlanRun> {
  const source = options.source ?? 'terraform';
  const root = mkdtempSync(join(tmpdir(), 'tf-plan-'));
  const dir = join(root, 'terraform');
  try {
    mkdirSync(dir);
    let files = Object.fromEntries(
      readdirSync(source)
        .filter((f) => f.endsWith('.tf'))
        .map((f) => [f, readFileSync(join(source, f), 'utf8')]),
    );
    if (options.mutate) files = options.mutate(files);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    for (const extra of ['.terraform.lock.hcl', options.varFile ?? 'terraform.tfvars.example'])
      if (existsSync(join(source, extra))) copyFileSync(join(source, extra), join(dir, extra));
    // The state backend is Cloud Storage; offline, a local one stands in (an override file replaces it).
    writeFileSync(join(dir, 'zz_offline_backend_override.tf'), 'terraform {\n  backend "local" {}\n}\n');
    // The packaged function source, where terraform/ expects it (../build/function-source).
    const fnSource = join(root, 'build', 'function-source');
    mkdirSync(fnSource, { recursive: true });
    if (options.functionSource)
      for (const f of readdirSync(options.functionSource))
        copyFileSync(join(options.functionSource, f), join(fnSource, f));
    else writeFileSync(join(fnSource, 'package.json'), '{"name":"placeholder","private":true}\n');
    const cliConfig = join(root, 'terraformrc');
    writeFileSync(cliConfig, '');
    options.standIns.setWorkingDir(dir);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: root,
      TF_REATTACH_PROVIDERS: options.standIns.reattach,
      TF_CLI_CONFIG_FILE: cliConfig,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
    };
    let output = '';
    const steps: [Step, string[]][] = [
      ['init', ['init', '-input=false', '-no-color']],
      ['validate', ['validate', '-no-color']],
      [
        'plan',
        [
          'plan',
          '-input=false',
          '-no-color',
          '-lock=false',
          `-var-file=${options.varFile ?? 'terraform.tfvars.example'}`,
          ...Object.entries(options.vars ?? {}).map(([k, v]) => `-var=${k}=${v}`),
          '-out=tfplan',
        ],
      ],
    ];
    for (const [step, args] of steps) {
      const r = await run(args, dir, env);
      output += r.text;
      if (r.code !== 0) return { ok: false, failed: step, output };
    }
    const shown = await run(['show', '-json', '-no-color', 'tfplan'], dir, env);
    if (shown.code !== 0) return { ok: false, failed: 'show', output: output + shown.text };
    return { ok: true, output, plan: JSON.parse(shown.stdout) as PlanJson };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Every resource the plan would create, data sources included, from all modules. */
export function plannedResources(plan: PlanJson): PlannedResource[] {
  const out: PlannedResource[] = [];
  const walk = (m: ModuleValues): void => {
    out.push(...(m.resources ?? []));
    for (const c of m.child_modules ?? []) walk(c);
  };
  walk(plan.planned_values.root_module);
  return out;
}
