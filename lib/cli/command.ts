/**
 * What a command of the CLI is, and what every command shares: its IO, its flags (its own, and the
 * settings it reads from the shared table of options), one parser for each kind of argument.
 * @module
 */
import { OPTIONS, type OptionKey, type OptionSpec } from '../config/options.ts';
import type { Config } from '../config/load.ts';
import { InputError } from '../core/errors.ts';
import { parseTimestamp } from '../core/time.ts';
import { parsePositiveInt } from '../core/values.ts';
import { createLogger, type Logger } from '../log.ts';

export interface CliIO {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Progress goes to a terminal only. */
  isTTY: boolean;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface ArgSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  placeholder?: string;
  describe: string;
}

export interface CommandContext {
  io: CliIO;
  flags: FlagValues;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for the list of commands. */
  summary: string;
  /** What follows the command's name in its usage line. */
  usage: string;
  /** What the command does, for its --help. */
  description: string;
  /** Whether it talks to dbt Cloud: then it takes the common options (account, token, host, scope). */
  dbtCloud: boolean;
  /** Settings of the shared table it also takes as flags. */
  settings: readonly OptionKey[];
  args: Record<string, ArgSpec>;
  positionals: boolean;
  run(ctx: CommandContext): Promise<number>;
}

/** The settings every command that talks to dbt Cloud takes as flags. */
export const COMMON_SETTINGS: readonly OptionKey[] = ['accountId', 'token', 'host', 'projectId', 'environmentId'];

/** `--flag PLACEHOLDER   describe` lines of settings, each naming its variable. */
export function settingsHelp(keys: readonly OptionKey[]): string[] {
  return keys.map((key) => {
    const o: OptionSpec = OPTIONS[key];
    const flag = `--${o.flag}${o.switch ? '' : ` ${o.placeholder ?? 'VALUE'}`}`;
    const dflt = o.default !== undefined && o.default !== 'false' ? ` (default ${o.default})` : '';
    return `  ${flag.padEnd(26)} ${o.variable}: ${o.describe}${dflt}`;
  });
}

export function argsHelp(args: Record<string, ArgSpec>): string[] {
  return Object.entries(args).map(
    ([name, a]) =>
      `  ${`--${name}${a.type === 'string' ? ` ${a.placeholder ?? 'VALUE'}` : ''}`.padEnd(26)} ${a.describe}`,
  );
}

export function cliLogger(io: CliIO, config?: Pick<Config, 'logLevel'>): Logger {
  return createLogger({
    level: config?.logLevel === 'DEBUG' ? 'DEBUG' : 'WARNING',
    write: (line) => io.stderr(`${line}\n`),
  });
}

/** Collects usage problems, so that a command reports all of them, with the configuration's, at once. */
export class Usage {
  readonly problems: string[] = [];

  /** A positive whole number flag, or undefined when absent. */
  positive(flag: string, value: unknown, max?: number): number | undefined {
    if (value === undefined) return undefined;
    const n = typeof value === 'string' ? parsePositiveInt(value) : null;
    if (n === null) this.problems.push(`--${flag} must be a positive whole number, not "${String(value)}"`);
    else if (max !== undefined && n > max) this.problems.push(`--${flag} must be at most ${max}`);
    else return n;
    return undefined;
  }

  /** A required time flag (ISO-8601, UTC without an offset). */
  time(flag: string, value: unknown): Date | undefined {
    if (typeof value !== 'string') {
      this.problems.push(`--${flag} is required (for example 2022-06-01T00:00:00, UTC when no offset is given)`);
      return undefined;
    }
    try {
      return parseTimestamp(value, `--${flag}`);
    } catch (err) {
      this.problems.push(err instanceof InputError ? err.message : String(err));
      return undefined;
    }
  }

  check(ok: boolean, problem: string): void {
    if (!ok) this.problems.push(problem);
  }
}
