/**
 * The typed errors every layer shares. Every error a user can see says what went wrong and what to
 * do about it, and none of them ever carries the dbt Cloud token.
 * @module
 */
import type { z } from 'zod';

export class HarvesterError extends Error {
  readonly code: string;
  /** The CLI's exit status for it, where it is not 1 (2: a setting or an argument to fix). */
  readonly exitCode?: number;
  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    if (options?.exitCode !== undefined) this.exitCode = options.exitCode;
  }
}

/** Bad or missing configuration (environment variables, CLI flags). Exit status 2 in the CLI. */
export class ConfigError extends HarvesterError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[], heading = 'Invalid configuration') {
    super('CONFIG', `${heading}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/** A value entering the process (payload, body, argument) failed validation. */
export class InputError extends HarvesterError {
  readonly details: readonly string[];
  constructor(message: string, details: readonly string[] = []) {
    super('INPUT', details.length > 0 ? `${message}: ${details.join('; ')}` : message);
    this.details = details;
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Zod issues as `path: message` lines, the path (under `prefix`) naming where in the value the problem is. */
export function zodIssues(error: z.ZodError, prefix?: string): string[] {
  return error.issues.map(
    (i) => `${[...(prefix ? [prefix] : []), ...i.path.map(String)].join('.') || '(body)'}: ${i.message}`,
  );
}
