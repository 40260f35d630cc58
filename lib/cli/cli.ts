/**
 * The dbt-harvester command line: the table of commands, arguments parsed from each command's
 * declaration (with "did you mean" for a mistyped command or flag), generated help for every
 * command and group, --version, and the outcome as an exit status (0 done, 1 some runs failed or
 * the run did not succeed, 2 bad usage, configuration, or a setting to fix). Everything it writes,
 * to either stream, passes through the scrubber, so that no secret reaches a terminal or a log.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OPTIONS, type OptionSpec } from '../config/options.ts';
import { ConfigError, HarvesterError, InputError, errorMessage } from '../core/errors.ts';
import { redact, scrub } from '../log.ts';
import {
  COMMON_SETTINGS,
  argsHelp,
  pathProblem,
  resolvePath,
  settingsHelp,
  type ArgSpecs,
  type CliIO,
  type Command,
  type FlagValues,
} from './command.ts';
import { ALERT_COMMANDS } from './commands/alerts.ts';
import { COVERAGE_COMMANDS } from './commands/coverage.ts';
import { deployVerify } from './commands/deploy.ts';
import { coverageHistory, history } from './commands/history.ts';
import { lineageExport } from './commands/lineage.ts';
import { retrieveRunArtifacts } from './commands/retrieve-run-artifacts.ts';
import { retrieveArtifactsTimeInterval } from './commands/retrieve-artifacts-time-interval.ts';
import { retrieveMostRecentArtifact } from './commands/retrieve-most-recent-artifact.ts';
import { triggerJob } from './commands/trigger-job.ts';
import { WEBHOOK_COMMANDS } from './commands/webhook.ts';
import { closest } from './suggest.ts';
import { packageVersion } from './version.ts';

export const COMMANDS: readonly Command[] = [
  retrieveArtifactsTimeInterval,
  retrieveMostRecentArtifact,
  retrieveRunArtifacts,
  triggerJob,
  ...WEBHOOK_COMMANDS,
  ...COVERAGE_COMMANDS,
  coverageHistory,
  history,
  lineageExport,
  deployVerify,
  ...ALERT_COMMANDS,
];

type ParseOptions = NonNullable<ParseArgsConfig['options']>;

function parseOptions(command: Command): ParseOptions {
  const options: ParseOptions = { help: { type: 'boolean', short: 'h' } };
  for (const key of [...(command.dbtCloud ? COMMON_SETTINGS : []), ...command.settings]) {
    const o: OptionSpec = OPTIONS[key];
    if (o.flag) options[o.flag] = { type: o.switch ? 'boolean' : 'string' };
  }
  for (const [name, a] of Object.entries(command.args)) {
    if (a.position !== undefined) continue;
    options[name] = { type: a.switch ? 'boolean' : 'string', ...(a.multiple ? { multiple: true } : {}) };
  }
  return options;
}

const COMMON_HELP = `Common options (each overrides its environment variable):\n${settingsHelp(COMMON_SETTINGS).join('\n')}\n`;
const EXIT_HELP =
  'Exit status: 0 done; 1 some runs failed, or the run did not succeed; 2 bad usage, configuration, or a setting to fix.';

function commandHelp(command: Command): string {
  const own = [...argsHelp(command.args), ...settingsHelp(command.settings)];
  return `Usage: dbt-harvester ${command.name} ${command.usage}\n\n${command.description}\n\n${own.length ? `Options:\n${own.join('\n')}\n\n` : ''}${command.dbtCloud ? COMMON_HELP : ''}`;
}

const GROUPS = [...new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!))];

function groupHelp(group: string): string {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return `Usage: dbt-harvester ${group} <command> [options]\n\nCommands:\n${members.map((c) => `  ${c.name.padEnd(34)} ${c.summary}`).join('\n')}\n\nRun dbt-harvester ${group} <command> --help for a command's options.\n`;
}

const TOP_HELP = `dbt-harvester: harvest dbt Cloud run artifacts, and hand CI the latest production manifest.

Usage: dbt-harvester <command> [options]
       dbt-harvester --version

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(34)} ${c.summary}`).join('\n')}

Run dbt-harvester <command> --help for a command's options.
${EXIT_HELP}

${COMMON_HELP}`;

/** Runs the CLI; its outcome as an exit status. Whatever it writes is scrubbed of every registered secret. */
/**
 * Registers, before any argument is parsed or echoed, every secret the process knows: each secret
 * setting's variable, and the value given to its flag in any form (`--token X`, `--token=X`, and
 * `--token= X`, where the shell split the value off into a positional argument).
 */
function registerSecrets(argv: readonly string[], env: Record<string, string | undefined>): void {
  for (const o of Object.values(OPTIONS) as OptionSpec[]) {
    if (!o.secret) continue;
    redact(env[o.variable]?.trim());
    if (!o.flag) continue;
    argv.forEach((word, i) => {
      if (word === `--${o.flag}` || word === `--${o.flag}=`) redact(argv[i + 1]?.trim());
      else if (word.startsWith(`--${o.flag}=`)) redact(word.slice(o.flag!.length + 3).trim());
    });
  }
}

export async function runCli(argv: string[], rawIo: CliIO): Promise<number> {
  registerSecrets(argv, rawIo.env);
  const io: CliIO = { ...rawIo, stdout: (t) => rawIo.stdout(scrub(t)), stderr: (t) => rawIo.stderr(scrub(t)) };
  const [first, ...afterFirst] = argv;
  if (!first || first === '--help' || first === '-h' || first === 'help') {
    (first ? io.stdout : io.stderr)(TOP_HELP);
    return first ? 0 : 2;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    io.stdout(`dbt-harvester ${packageVersion()}\n`);
    return 0;
  }
  const found = findCommand(first, afterFirst, io);
  if (typeof found === 'number') return found;
  const { command, rest } = found;
  try {
    return await runCommand(command, rest, io);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof InputError) {
      io.stderr(`${err.message}\nSee dbt-harvester ${command.name} --help.\n`);
      return 2;
    }
    io.stderr(`${err instanceof HarvesterError ? '' : 'Unexpected error: '}${errorMessage(err)}\n`);
    return err instanceof HarvesterError && err.exitCode !== undefined ? err.exitCode : 1;
  }
}

/** The command the words name (one word, or a group and a word), or the exit status of saying why none. */
function findCommand(first: string, afterFirst: string[], io: CliIO): { command: Command; rest: string[] } | number {
  const second = afterFirst[0];
  const two = second !== undefined ? COMMANDS.find((c) => c.name === `${first} ${second}`) : undefined;
  if (two) return { command: two, rest: afterFirst.slice(1) };
  const one = COMMANDS.find((c) => c.name === first);
  if (one) return { command: one, rest: afterFirst };
  if (GROUPS.includes(first)) {
    if (second === '--help' || second === '-h' || second === 'help') {
      io.stdout(groupHelp(first));
      return 0;
    }
    const names = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.split(' ')[1]!);
    const hint = second && !second.startsWith('-') ? closest(second, names) : undefined;
    io.stderr(
      `${second && !second.startsWith('-') ? `Unknown command "${first} ${second}"` : `"${first}" needs a command`}${hint ? `; did you mean "${first} ${hint}"?` : ''}\n\n${groupHelp(first)}`,
    );
    return 2;
  }
  const hint = closest(first, [...COMMANDS.map((c) => c.name.split(' ')[0]!), 'help', '--version']);
  io.stderr(`Unknown command "${first}"${hint ? `; did you mean "${hint}"?` : '.'} See dbt-harvester --help.\n`);
  return 2;
}

async function runCommand(command: Command, rest: string[], io: CliIO): Promise<number> {
  const options = parseOptions(command);
  const known = Object.keys(options);
  for (const token of rest) {
    if (token === '--') break;
    if (!token.startsWith('--')) continue;
    const name = token.slice(2).split('=')[0]!;
    if (known.includes(name)) continue;
    const hint = closest(name, known);
    throw new InputError(`Unknown option --${name}${hint ? `; did you mean --${hint}?` : ''}`);
  }
  let flags: FlagValues;
  let positionals: string[];
  try {
    const positional = Object.values(command.args).some((a) => a.position !== undefined);
    const parsed = parseArgs({ args: rest, options, allowPositionals: positional, strict: true });
    flags = parsed.values as FlagValues;
    positionals = parsed.positionals;
  } catch (err) {
    throw new InputError(`Bad usage: ${errorMessage(err).replace(/\. To specify a positional argument.*$/s, '')}`);
  }
  if (flags['help']) {
    io.stdout(commandHelp(command));
    return 0;
  }
  const problems: string[] = [];
  const args = await readArgs(command.args, flags, positionals, io, problems);
  return command.run({ io, args: args as never, flags, problems });
}

/** The command's typed argument values; what is wrong with them goes to `problems`. */
async function readArgs(
  specs: ArgSpecs,
  flags: FlagValues,
  positionals: string[],
  io: CliIO,
  problems: string[],
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const positionalCount = Object.values(specs).filter((a) => a.position !== undefined).length;
  if (positionals.length > positionalCount)
    problems.push(`unexpected arguments: ${positionals.slice(positionalCount).join(' ')}`);
  for (const [name, spec] of Object.entries(specs)) {
    const label = spec.position !== undefined ? (spec.placeholder ?? name.toUpperCase()) : `--${name}`;
    const raw = spec.position !== undefined ? positionals[spec.position] : flags[name];
    if (spec.switch) {
      out[name] = raw === true;
      continue;
    }
    const texts = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
    if (texts.length === 0) {
      if (spec.required) problems.push(spec.required);
      out[name] = undefined;
      continue;
    }
    const values: unknown[] = [];
    for (const text of texts) {
      if (spec.path) {
        if (text.trim() === '') {
          problems.push(`${label} must not be empty`);
          continue;
        }
        const full = resolvePath(io, text);
        const problem = await pathProblem(full, spec.path);
        if (problem) problems.push(`${label} ${full} ${problem}`);
        else values.push(full);
        continue;
      }
      const parsed = spec.schema!.safeParse(text);
      if (parsed.success) values.push(parsed.data);
      else for (const issue of parsed.error.issues) problems.push(`${label} ${issue.message}`);
    }
    out[name] = spec.multiple ? values : values[0];
  }
  return out;
}
