#!/usr/bin/env node
/**
 * dbt-harvester: the harvest core in one process. Thin: parses arguments, calls lib/, maps the
 * outcome to an exit status (0 done, 1 some runs failed or the run did not succeed, 2 bad usage).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, HarvesterError, InputError, errorMessage } from '../errors.ts';
import { scrub } from '../log.ts';
import { retrieveArtifactsTimeInterval, retrieveMostRecentArtifact, triggerJob, type CliIO } from './commands.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON: Options = {
  'account-id': { type: 'string' },
  'project-id': { type: 'string' },
  'environment-id': { type: 'string' },
  token: { type: 'string' },
  host: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const COMMON_HELP = `Common options (each overrides its environment variable):
  --account-id ID        DBT_CLOUD_ACCOUNT_ID (required)
  --token TOKEN          DBT_CLOUD_TOKEN (required; prefer the variable, flags show in ps)
  --host HOST            DBT_CLOUD_HOST, the account's access URL (default cloud.getdbt.com)
  --project-id ID        DBT_CLOUD_PROJECT_ID
  --environment-id ID    DBT_CLOUD_ENVIRONMENT_ID
`;

const COMMANDS: Record<string, { options: Options; positionals: boolean; help: string }> = {
  'retrieve-artifacts-time-interval': {
    options: {
      'start-time': { type: 'string' },
      'end-time': { type: 'string' },
      'output-folder': { type: 'string' },
      'gcs-bucket-name': { type: 'string' },
      concurrency: { type: 'string' },
      'include-cancelled': { type: 'boolean' },
    },
    positionals: false,
    help: `Usage: dbt-harvester retrieve-artifacts-time-interval --start-time T --end-time T
         (--output-folder DIR | --gcs-bucket-name BUCKET [--output-folder PREFIX])
         [--concurrency N] [--include-cancelled]

Stores every run that finished in [start, end) with its artifacts, one folder per run:
  date=YYYY-MM-DD/hour=HH/job_id=J/run_id=R/_run.json and .../step=N/<file>
Runs already stored are skipped, so the command can be repeated safely.

  --start-time T, --end-time T   ISO-8601; no offset means UTC (2022-06-01T00:00:00)
  --output-folder DIR            a local folder, or the object prefix with --gcs-bucket-name
  --gcs-bucket-name BUCKET       store in gs://BUCKET instead (application default credentials)
  --concurrency N                runs harvested at once (default HARVEST_CONCURRENCY or 16)
  --include-cancelled            also store cancelled runs
Environment: HARVEST_ARTIFACTS (default manifest.json,catalog.json,run_results.json,sources.json)
Exit status: 0 all stored or already stored; 1 some runs failed or were not ready (named on stderr); 2 bad usage.
`,
  },
  'retrieve-most-recent-artifact': {
    options: {
      'job-id': { type: 'string' },
      'output-folder': { type: 'string' },
      step: { type: 'string' },
      commit: { type: 'string' },
    },
    positionals: true,
    help: `Usage: dbt-harvester retrieve-most-recent-artifact {manifest|catalog|run_results|sources}
         --job-id J --output-folder DIR [--step N] [--commit SHA]

Writes DIR/<artifact>.json from the newest successful run of job J (ordered by finish time), for
dbt's state-based selection (dbt build --select state:modified+ --state DIR).

  --job-id J          the job (default DBT_CLOUD_JOB_ID)
  --output-folder DIR where to write; an existing file of the same name is replaced
  --step N            the run step to read (default: the last dbt step that wrote the file)
  --commit SHA        the newest successful run at this git commit (a prefix is enough)
Exit status: 0 written; 1 no such run or file; 2 bad usage.
`,
  },
  'trigger-job': {
    options: {
      'job-id': { type: 'string' },
      cause: { type: 'string' },
      'git-sha': { type: 'string' },
      'git-branch': { type: 'string' },
      'schema-override': { type: 'string' },
      'steps-override': { type: 'string', multiple: true },
      'threads-override': { type: 'string' },
      'target-name-override': { type: 'string' },
      'generate-docs-override': { type: 'string' },
      'timeout-seconds-override': { type: 'string' },
      wait: { type: 'boolean' },
      'poll-interval': { type: 'string' },
      timeout: { type: 'string' },
    },
    positionals: false,
    help: `Usage: dbt-harvester trigger-job --job-id J --cause TEXT [--git-sha S] [--git-branch B]
         [--schema-override S] [--steps-override CMD ...] [--threads-override N]
         [--target-name-override T] [--generate-docs-override true|false]
         [--timeout-seconds-override N] [--wait [--poll-interval S] [--timeout S]]

Starts a run of job J and prints it. --steps-override may be given several times, one dbt command each.
  --wait             wait for the run to end: exit 0 on success, 1 on error or cancel
  --poll-interval S  seconds between polls (default 10)
  --timeout S        give up waiting after S seconds (default 3600; exit 1)
`,
  },
};

const TOP_HELP = `dbt-harvester: harvest dbt Cloud run artifacts, and hand CI the latest production manifest.

Usage: dbt-harvester <command> [options]

Commands:
  retrieve-artifacts-time-interval   store every run that finished in a window, with its artifacts
  retrieve-most-recent-artifact      fetch the newest successful run's manifest (or other artifact) of a job
  trigger-job                        start a job run, optionally wait for it

Run dbt-harvester <command> --help for a command's options.

${COMMON_HELP}`;

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    (command ? io.stdout : io.stderr)(TOP_HELP);
    return command ? 0 : 2;
  }
  const spec = COMMANDS[command];
  if (!spec) {
    io.stderr(`Unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(', ')}. See dbt-harvester --help.\n`);
    return 2;
  }
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: rest, options: { ...COMMON, ...spec.options }, allowPositionals: spec.positionals, strict: true });
    values = parsed.values as Record<string, string | boolean | string[] | undefined>;
    positionals = parsed.positionals;
  } catch (err) {
    io.stderr(`Bad usage: ${errorMessage(err)}\nSee dbt-harvester ${command} --help.\n`);
    return 2;
  }
  if (values['help']) {
    io.stdout(spec.help + '\n' + COMMON_HELP);
    return 0;
  }
  try {
    const flags = values as Record<string, string | boolean | undefined>;
    switch (command) {
      case 'retrieve-artifacts-time-interval':
        return await retrieveArtifactsTimeInterval(io, flags);
      case 'retrieve-most-recent-artifact':
        return await retrieveMostRecentArtifact(io, flags, positionals);
      default:
        return await triggerJob(io, values);
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof InputError) {
      io.stderr(scrub(`${err.message}\nSee dbt-harvester ${command} --help.\n`));
      return 2;
    }
    io.stderr(scrub(`${err instanceof HarvesterError ? '' : 'Unexpected error: '}${errorMessage(err)}\n`));
    return 1;
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const code = await runCli(process.argv.slice(2), {
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
  });
  process.exitCode = code;
}
