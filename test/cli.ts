import { execFile } from 'node:child_process';
import { runCli } from '../lib/cli/cli.ts';

/** Runs the CLI in this process and captures what it prints; relative paths resolve in `cwd`. */
export async function cli(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd = process.cwd(),
  isTTY = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env,
    cwd,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    isTTY,
  });
  return { code, stdout, stderr };
}

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * The binary in its own process, as a user runs it, with only the environment given (and PATH);
 * `nodeOptions` bounds its heap, say; killed after `timeoutMs`.
 */
export function cliProcess(
  args: string[],
  env: Record<string, string> = {},
  options: { timeoutMs?: number; nodeOptions?: string } = {},
): Promise<ProcessResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['lib/cli/main.ts', ...args],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          ...(options.nodeOptions ? { NODE_OPTIONS: options.nodeOptions } : {}),
          ...env,
        },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const failed = err as { code?: unknown; signal?: unknown } | null;
        const code = failed === null ? 0 : typeof failed.code === 'number' ? failed.code : -1;
        resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 });
      },
    );
  });
}
