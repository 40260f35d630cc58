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
