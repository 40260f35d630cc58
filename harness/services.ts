import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

/**
 * Real components for integration tests: the Pub/Sub emulator from the Google Cloud SDK, and
 * functions-framework servers over the built entry file. Under CI=true a missing emulator is a
 * failure, never a skip.
 */
/**
 * How long the fakes keep an idle connection open. Google's front ends keep one for minutes; Node's
 * default of 5 s closes a pooled connection just as a client reuses it (a reset and a retry the test
 * never asked for) when a loaded machine stretches a pause past it.
 */
export const IDLE_CONNECTION_MS = 600_000;

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

export async function hasGcloud(): Promise<boolean> {
  try {
    await promisify(execFile)('gcloud', ['--version'], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

export function emulatorRequired(): boolean {
  return process.env['CI'] === 'true' || process.env['CI'] === '1';
}

async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
  child?: ChildProcess,
  output?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null)
      throw new Error(`${what} exited with ${child.exitCode}:\n${output?.() ?? ''}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms:\n${output?.() ?? ''}`);
}

export interface Started {
  url: string;
  port: number;
  output: () => string;
  stop: () => Promise<void>;
  /** SIGKILL, as when an instance is lost mid-request: no handler runs, sockets just close. */
  kill: () => Promise<void>;
}

function capture(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return () => text;
}

/** Signals the child's whole process group (gcloud starts Java), or the child alone if that fails. */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    child.kill(sig);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; SIGKILL at once with a grace of 0. */
async function endChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  const timer = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
  if (graceMs > 0) signal(child, 'SIGTERM');
  await exited;
  clearTimeout(timer);
}

const stopChild = (child: ChildProcess): Promise<void> => endChild(child, 5_000);
const killChild = (child: ChildProcess): Promise<void> => endChild(child, 0);

export async function startPubSubEmulator(project: string, fixedPort?: number): Promise<Started> {
  const port = fixedPort ?? (await freePort());
  const child = spawn(
    'gcloud',
    ['beta', 'emulators', 'pubsub', 'start', `--host-port=127.0.0.1:${port}`, `--project=${project}`],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const output = capture(child);
  const url = `127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`http://${url}/`)).ok, 'the Pub/Sub emulator', 90_000, child, output);
  return { url, port, output, stop: () => stopChild(child), kill: () => killChild(child) };
}

export async function startFunction(target: string, env: Record<string, string>, fixedPort?: number): Promise<Started> {
  const port = fixedPort ?? (await freePort());
  const child = spawn(
    process.execPath,
    ['node_modules/@google-cloud/functions-framework/build/src/main.js', `--target=${target}`, `--port=${port}`],
    {
      env: { PATH: process.env['PATH'] ?? '', ...env, FUNCTION_TARGET: target },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const output = capture(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    // The framework answers robots.txt 404; a public function refuses the unsigned probe first (401).
    async () => [401, 404].includes((await fetch(`${url}/robots.txt`)).status),
    `functions-framework --target=${target}`,
    30_000,
    child,
    output,
  );
  return { url, port, output, stop: () => stopChild(child), kill: () => killChild(child) };
}

export async function buildOnce(): Promise<void> {
  await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    timeout: 120_000,
  });
}
