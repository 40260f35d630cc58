/**
 * What `npm run dev` (and the integration tests) need beyond Node: the Google Cloud CLI, its Pub/Sub
 * emulator component, and Java, which the emulator runs on. Checked before anything starts, so a
 * missing one is a sentence saying what to install rather than a stack trace from a child process.
 *
 * The emulator is the `pubsub-emulator` component of the Google Cloud CLI, and needs a Java runtime
 * (https://cloud.google.com/pubsub/docs/emulator: "Install a JDK", then
 * `gcloud components install pubsub-emulator`; on Debian or Ubuntu the apt package
 * `google-cloud-cli-pubsub-emulator`, since an apt-installed CLI refuses `gcloud components`).
 * @module
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';

/** How the checks look at the machine: run a program, test a path. */
export interface Probe {
  /** Runs a program (found on PATH); its output, or null when it cannot run or fails. */
  run(program: string, args: readonly string[]): Promise<string | null>;
  exists(path: string): Promise<boolean>;
}

export interface Missing {
  what: string;
  install: string;
}

const GCLOUD: Missing = {
  what: 'the Google Cloud CLI (gcloud), which runs the Pub/Sub emulator',
  install: 'https://cloud.google.com/sdk/docs/install (Debian or Ubuntu: apt-get install google-cloud-cli)',
};
const EMULATOR: Missing = {
  what: "the Google Cloud CLI's Pub/Sub emulator component",
  install:
    'gcloud components install pubsub-emulator beta (apt-installed CLI: apt-get install google-cloud-cli-pubsub-emulator)',
};
const JAVA: Missing = {
  what: 'a Java runtime, which the Pub/Sub emulator runs on',
  install: 'a JDK or JRE 11 or later on PATH (Debian or Ubuntu: apt-get install openjdk-17-jre-headless)',
};

/** What is missing, in the order to install it; empty when everything is there. */
export async function missingPrerequisites(probe: Probe): Promise<Missing[]> {
  const missing: Missing[] = [];
  // Without prompts: a standalone CLI otherwise offers to install a missing component and waits.
  const root = (await probe.run('gcloud', ['info', '--format=value(installation.sdk_root)']))?.trim();
  if (!root) missing.push(GCLOUD);
  else if (!(await probe.exists(join(root, 'platform', 'pubsub-emulator')))) missing.push(EMULATOR);
  if ((await probe.run('java', ['-version'])) === null) missing.push(JAVA);
  return missing;
}

/** The message for what is missing: one line each, with how to install it. */
export function describeMissing(task: string, missing: readonly Missing[]): string {
  return [
    `${task} needs ${missing.length === 1 ? 'one more thing' : `${missing.length} more things`} on this machine:`,
    ...missing.map((m) => `  - ${m.what}: ${m.install}`),
    'Then run it again. (npm test needs them too; npm run demo needs only Node.)',
  ].join('\n');
}

/** The machine as it is: programs on this process's PATH, with gcloud's prompts off. */
export const machineProbe: Probe = {
  run: (program, args) =>
    new Promise((resolve) => {
      execFile(
        program,
        [...args],
        {
          timeout: 60_000,
          env: { ...process.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
        },
        // `java -version` writes to stderr.
        (err, stdout, stderr) => resolve(err ? null : `${stdout}${stderr}`),
      );
    }),
  exists: (path) =>
    access(path).then(
      () => true,
      () => false,
    ),
};
