/**
 * What a command of the CLI is, and what every command shares: its IO, and its arguments, declared
 * like the settings of the options table (a schema each, reusing the same parsers), parsed and
 * checked before the command runs, so that a command reads typed values. Paths are resolved where
 * the user stands and checked before any work.
 * @module
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { loadConfig, type Config, type ConfigFor, type ConfigSources, type Need } from '../config/load.ts';
import { OPTIONS, type OptionKey, type OptionSpec } from '../config/options.ts';
import { dayText, fromParser, positiveInt, type TextSchema } from '../config/text-values.ts';
import { parseDestination, type Destination } from '../core/destination.ts';
import type { connectDbtCloud } from '../harvest/connect.ts';
import { createLogger, type Logger } from '../log.ts';

export interface CliIO {
  env: Record<string, string | undefined>;
  /** Where the user stands: relative paths resolve here (npm run sets INIT_CWD to it). */
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Progress goes to a terminal only. */
  isTTY: boolean;
}

/** What a path argument must be, checked before the command does anything. */
export type PathUse =
  /** A folder that will be written into: created if absent; never a file, never under one. */
  | 'folder-to-write'
  /** A file that will be written: not a folder; its folder exists. */
  | 'file-to-write'
  /** A folder that is read: it exists. */
  | 'folder-to-read'
  /** A file that is read: it exists. */
  | 'file-to-read';

export interface ArgSpec<T = unknown> {
  describe: string;
  /** What the value looks like, for help (`DIR`, `N`). */
  placeholder?: string;
  /** Reads the text; absent for a switch and for a path. */
  schema?: TextSchema<T>;
  /** A flag without a value. */
  switch?: true;
  /** A path, resolved where the user stands and checked for its use. */
  path?: PathUse;
  /** May be given several times. */
  multiple?: true;
  /** Taken from the positional arguments, at this index, rather than a flag. */
  position?: number;
  /** Required: what to say when it is missing. */
  required?: string;
}

export type ArgSpecs = Record<string, ArgSpec>;
type One<S> = S extends { switch: true }
  ? boolean
  : S extends { path: PathUse }
    ? string
    : S extends { schema?: TextSchema<infer T> }
      ? T
      : never;
type ValueOf<S> = S extends { multiple: true } ? One<S>[] : One<S>;
/** The typed values of a command's arguments: required ones always there, switches always a boolean. */
export type ArgValues<A extends ArgSpecs> = {
  [K in keyof A]: A[K] extends { required: string } | { switch: true } ? ValueOf<A[K]> : ValueOf<A[K]> | undefined;
};

/** Argument declarations, with their value types kept. */
type More<T> = Omit<ArgSpec<T>, 'schema' | 'describe' | 'path' | 'switch'>;

export const arg = {
  text: <T, const M extends More<T> = Record<never, never>>(schema: TextSchema<T>, describe: string, more?: M) =>
    ({ schema, describe, ...(more as M) }) as { schema: TextSchema<T>; describe: string } & M,
  path: <const M extends More<string> = Record<never, never>>(use: PathUse, describe: string, more?: M) =>
    ({ path: use, describe, ...(more as M) }) as { path: PathUse; describe: string } & M,
  switch: (describe: string) => ({ switch: true, describe }) as const,
};

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext<A extends ArgSpecs> {
  io: CliIO;
  args: ArgValues<A>;
  /** The raw flags, for the settings of the options table the command reads (loadConfig). */
  flags: FlagValues;
  /** Problems with the arguments, reported together with the configuration's. */
  problems: string[];
}

export interface Command<A extends ArgSpecs = ArgSpecs> {
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
  args: A;
  run(ctx: CommandContext<A>): Promise<number>;
}

/** A command, its argument types checked against its run. */
export const defineCommand = <A extends ArgSpecs>(command: Command<A>): Command => command as unknown as Command;

/** The settings every command that talks to dbt Cloud takes as flags. */
export const COMMON_SETTINGS: readonly OptionKey[] = ['accountId', 'token', 'host', 'projectId', 'environmentId'];

/** `--flag PLACEHOLDER   describe` lines of settings, each naming its variable. */
export function settingsHelp(keys: readonly OptionKey[]): string[] {
  return keys.map((key) => {
    const o: OptionSpec = OPTIONS[key];
    const flag = `--${o.flag}${o.switch ? '' : ` ${o.placeholder ?? 'VALUE'}`}`;
    const dflt = o.default !== undefined && o.default !== 'false' ? ` (default ${o.default})` : '';
    return `  ${flag.padEnd(28)} ${o.variable}: ${o.describe}${dflt}`;
  });
}

export function argsHelp(args: ArgSpecs): string[] {
  return Object.entries(args)
    .filter(([, a]) => a.position === undefined)
    .map(([name, a]) => `  ${`--${name}${a.switch ? '' : ` ${a.placeholder ?? 'VALUE'}`}`.padEnd(28)} ${a.describe}`);
}

/**
 * The dbt Cloud client, loaded when a command first asks for it: the client, its HTTP stack and
 * Secret Manager's are about a third of what the CLI would load, and `coverage` and `history`
 * never use them.
 */
export async function dbtCloud(
  settings: Parameters<typeof connectDbtCloud>[0],
  options: Parameters<typeof connectDbtCloud>[1],
): Promise<ReturnType<typeof connectDbtCloud>> {
  const { connectDbtCloud } = await import('../harvest/connect.ts');
  return connectDbtCloud(settings, options);
}

/** How a command connects to dbt Cloud: its logger, its user agent, and on a terminal, each retry and why. */
export function clientOptions(io: CliIO, config: Pick<Config, 'logLevel'>) {
  return {
    logger: cliLogger(io, config),
    userAgent: 'dbt-cloud-harvester-cli',
    onRetry: io.isTTY
      ? (r: { what: string; attempt: number; delayMs: number }) =>
          io.stderr(`retrying in ${(r.delayMs / 1000).toFixed(1)} s (attempt ${r.attempt + 1}): ${r.what}\n`)
      : undefined,
  };
}

export function cliLogger(io: CliIO, config?: Pick<Config, 'logLevel'>): Logger {
  return createLogger({
    level: config?.logLevel === 'DEBUG' ? 'DEBUG' : 'WARNING',
    write: (line) => io.stderr(`${line}\n`),
  });
}

/** Why a path cannot serve its use, or null. */
export async function pathProblem(path: string, use: PathUse): Promise<string | null> {
  const info = await stat(path).catch(() => null);
  switch (use) {
    case 'folder-to-read':
      return !info ? 'does not exist' : info.isDirectory() ? null : 'is a file, not a folder';
    case 'file-to-read':
      return !info ? 'does not exist' : info.isFile() ? null : 'is a folder, not a file';
    case 'file-to-write': {
      if (info?.isDirectory()) return 'is a folder: name a file';
      const parent = await stat(dirname(path)).catch(() => null);
      if (!parent) return `cannot be written: its folder ${dirname(path)} does not exist`;
      if (!parent.isDirectory()) return `cannot be written: ${dirname(path)} is a file`;
      return (await writable(dirname(path))) ? null : `cannot be written: ${dirname(path)} is not writable`;
    }
    case 'folder-to-write': {
      if (info)
        return !info.isDirectory() ? 'is a file, not a folder' : (await writable(path)) ? null : 'is not writable';
      // Created with its missing parents: the nearest existing one must be a folder we may write.
      let above = dirname(path);
      for (;;) {
        const a = await stat(above).catch(() => null);
        if (a)
          return !a.isDirectory()
            ? `cannot be created: ${above} is a file`
            : (await writable(above))
              ? null
              : `cannot be created: ${above} is not writable`;
        if (dirname(above) === above) return 'cannot be created';
        above = dirname(above);
      }
    }
  }
}

const writable = (path: string): Promise<boolean> =>
  access(path, constants.W_OK).then(
    () => true,
    () => false,
  );

/** A path as given, resolved where the user stands. */
export const resolvePath = (io: CliIO, path: string): string => (isAbsolute(path) ? path : resolve(io.cwd, path));

/** The options of the commands that read what the harvester stored: where, since when, which jobs. */
export const storedRunsArgs = {
  from: arg.text(fromParser(parseDestination), 'a folder or gs://BUCKET[/PREFIX] the harvester stored into', {
    placeholder: 'WHERE',
    required: '--from DIR|gs://BUCKET[/PREFIX] is required: where the harvester stored',
  }),
  since: arg.text(dayText, 'only runs finished on or after this day (2026-10-01, UTC)', { placeholder: 'DATE' }),
  'job-id': arg.text(positiveInt(), 'only this job (repeatable)', { placeholder: 'J', multiple: true }),
};

/**
 * A `--from` source as the commands that read a destination take it: a folder resolved where the
 * user stands and checked (what is wrong with it added to `problems`), a bucket as given.
 */
export async function sourceFrom(
  io: CliIO,
  problems: string[],
  from: Destination | undefined,
): Promise<Destination | undefined> {
  if (from?.kind !== 'local') return from;
  const path = resolvePath(io, from.path);
  const problem = await pathProblem(path, 'folder-to-read');
  if (problem) problems.push(`--from ${path} ${problem}`);
  return { kind: 'local', path };
}

/** Loads the configuration with the command's flags and its argument problems, reported together. */
export function commandConfig<N extends Need = never>(
  ctx: { io: CliIO; flags: FlagValues; problems: string[] },
  sources: Omit<ConfigSources<N>, 'env' | 'flags' | 'problems'> = {},
): ConfigFor<N> {
  const config = loadConfig({ ...sources, env: ctx.io.env, flags: ctx.flags, problems: ctx.problems });
  for (const warning of config.warnings) ctx.io.stderr(`warning: ${warning}\n`);
  return config;
}
