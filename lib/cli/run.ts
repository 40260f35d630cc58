/**
 * The dbt-harvester command line: the table of commands, argument parsing from each command's
 * declaration, generated help, and the outcome as an exit status (0 done, 1 some runs failed or
 * the run did not succeed, 2 bad usage or configuration).
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OPTIONS, type OptionSpec } from '../config/options.ts';
import { ConfigError, HarvesterError, InputError, errorMessage } from '../core/errors.ts';
import { scrub } from '../log.ts';
import { COMMON_SETTINGS, argsHelp, settingsHelp, type CliIO, type Command, type FlagValues } from './command.ts';
import { retrieveArtifactsTimeInterval } from './commands/retrieve-artifacts-time-interval.ts';
import { retrieveMostRecentArtifact } from './commands/retrieve-most-recent-artifact.ts';
import { triggerJob } from './commands/trigger-job.ts';
import { COVERAGE_COMMANDS } from './commands/coverage.ts';
import { WEBHOOK_COMMANDS } from './commands/webhook.ts';

export const COMMANDS: readonly Command[] = [
  retrieveArtifactsTimeInterval,
  retrieveMostRecentArtifact,
  triggerJob,
  ...WEBHOOK_COMMANDS,
  ...COVERAGE_COMMANDS,
];

type ParseOptions = NonNullable<ParseArgsConfig['options']>;

function parseOptions(command: Command): ParseOptions {
  const options: ParseOptions = { help: { type: 'boolean', short: 'h' } };
  for (const key of [...(command.dbtCloud ? COMMON_SETTINGS : []), ...command.settings]) {
    const o: OptionSpec = OPTIONS[key];
    if (o.flag) options[o.flag] = { type: o.switch ? 'boolean' : 'string' };
  }
  for (const [name, a] of Object.entries(command.args))
    options[name] = { type: a.type, ...(a.multiple ? { multiple: true } : {}) };
  return options;
}

const COMMON_HELP = `Common options (each overrides its environment variable):\n${settingsHelp(COMMON_SETTINGS).join('\n')}\n`;

function commandHelp(command: Command): string {
  const own = [...argsHelp(command.args), ...settingsHelp(command.settings)];
  return `Usage: dbt-harvester ${command.name} ${command.usage}\n\n${command.description}\n\n${own.length ? `Options:\n${own.join('\n')}\n\n` : ''}${command.dbtCloud ? COMMON_HELP : ''}`;
}

const TOP_HELP = `dbt-harvester: harvest dbt Cloud run artifacts, and hand CI the latest production manifest.

Usage: dbt-harvester <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(34)} ${c.summary}`).join('\n')}

Run dbt-harvester <command> --help for a command's options.

${COMMON_HELP}`;

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [first, ...afterFirst] = argv;
  if (!first || first === '--help' || first === '-h' || first === 'help') {
    (first ? io.stdout : io.stderr)(TOP_HELP);
    return first ? 0 : 2;
  }
  // Commands of two words (webhook register) and of one.
  const two = afterFirst[0] !== undefined ? COMMANDS.find((c) => c.name === `${first} ${afterFirst[0]}`) : undefined;
  const command = two ?? COMMANDS.find((c) => c.name === first);
  const name = command?.name ?? first;
  const rest = two ? afterFirst.slice(1) : afterFirst;
  if (!command) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
    io.stderr(
      group.length > 0
        ? `${afterFirst[0] ? `Unknown command "${first} ${afterFirst[0]}"` : `"${first}" needs a sub-command`}: ${group.map((c) => c.name).join(', ')}. See dbt-harvester --help.\n`
        : `Unknown command "${first}". Commands: ${COMMANDS.map((c) => c.name).join(', ')}. See dbt-harvester --help.\n`,
    );
    return 2;
  }
  let flags: FlagValues;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: rest,
      options: parseOptions(command),
      allowPositionals: command.positionals,
      strict: true,
    });
    flags = parsed.values as FlagValues;
    positionals = parsed.positionals;
  } catch (err) {
    io.stderr(`Bad usage: ${errorMessage(err)}\nSee dbt-harvester ${name} --help.\n`);
    return 2;
  }
  if (flags['help']) {
    io.stdout(commandHelp(command));
    return 0;
  }
  try {
    return await command.run({ io, flags, positionals });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof InputError) {
      io.stderr(scrub(`${err.message}\nSee dbt-harvester ${name} --help.\n`));
      return 2;
    }
    io.stderr(scrub(`${err instanceof HarvesterError ? '' : 'Unexpected error: '}${errorMessage(err)}\n`));
    return 1;
  }
}
