/**
 * The real gcloud as a parser of the commands the project asks users and Cloud Build to run. With an
 * empty configuration (no account, no project), gcloud parses a command completely and then stops
 * at the missing credentials; a command it cannot parse stops earlier, at `ERROR: (gcloud.…)
 * argument …` (exit status 2). Nothing reaches the network either way.
 *
 * Where a metadata server answers (inside a Cloud Build step, on Compute Engine), an empty
 * configuration is not enough: gcloud takes the account and the project from it and sends real
 * requests. `core/check_gce_metadata` (its variable CLOUDSDK_CORE_CHECK_GCE_METADATA; every
 * property has one, `gcloud topic startup`) turns that off: gcloud's credential store then asks the
 * metadata server for no account, project or token (googlecloudsdk/core/credentials/store.py,
 * GceCredentialProvider). NO_GCE_CHECK does the same for the google-auth library gcloud carries.
 * @module
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GcloudCheck {
  argv: string[];
  /** gcloud read the whole command: it stopped at the missing credentials, or needed none. */
  parsed: boolean;
  output: string;
}

/**
 * What a command that parsed says when it then needs an account (or would open a browser to get
 * one), or, for `gcloud components …` on a CLI installed by a package manager, that the component
 * manager is off there (the command read whole; the README gives the apt package beside it).
 */
const STOPPED_AT_CREDENTIALS =
  /You do not currently have an active account selected|no credentialed account|Go to the following link in your browser|component manager\s+is disabled for this installation/;

/** The real gcloud's path, or undefined where it is not installed. */
export function realGcloud(): string | undefined {
  try {
    return execFileSync('bash', ['-c', 'command -v gcloud'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** What keeps gcloud from every ambient identity: no configuration of its own, no metadata server. */
export const OFFLINE_GCLOUD_ENV = {
  CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
  CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
  CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
  NO_GCE_CHECK: 'true',
} as const;

/**
 * Runs the real gcloud on `argv` with an empty configuration and says whether it parsed it.
 * `ambient` is what the machine around it provides (a test's stand-in metadata server, as Cloud
 * Build's step has one).
 */
export function checkGcloud(
  argv: readonly string[],
  gcloud = realGcloud() ?? 'gcloud',
  ambient: Record<string, string> = {},
): Promise<GcloudCheck> {
  const config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
  // gcloud reads a file argument before it looks for credentials: the user would have the file
  // (the repository's own, such as cloudbuild.yaml, or one they wrote).
  for (const arg of argv) {
    const file = /^--(?:[\w-]*file|config)=(?!-$)([\w.-]+)$/.exec(arg)?.[1];
    if (file) writeFileSync(join(config, file), existsSync(file) ? readFileSync(file) : 'placeholder\n');
  }
  const env = { ...ambient, PATH: process.env['PATH'], HOME: config, CLOUDSDK_CONFIG: config, ...OFFLINE_GCLOUD_ENV };
  return new Promise((resolve) => {
    const child = execFile(
      gcloud,
      [...argv],
      { cwd: config, env, timeout: 60_000, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        rmSync(config, { recursive: true, force: true });
        const output = `${stdout}${stderr}`;
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ argv: [...argv], parsed: code === 0 || (code !== 2 && STOPPED_AT_CREDENTIALS.test(output)), output });
      },
    );
    child.stdin?.end();
  });
}

/**
 * A folder with a `gcloud` on it that records each call, has the real gcloud parse it (exiting 2
 * with gcloud's own message when it cannot), and otherwise answers as a project with nothing in it
 * yet would: `describe` finds nothing (exit 1), `config get-value account` names an owner, the rest
 * succeeds. A script run with this folder first on its PATH takes every branch a first run takes.
 */
export function gcloudShim(
  gcloud = realGcloud() ?? 'gcloud',
  ambient: Record<string, string> = {},
): { dir: string; calls(): string[][]; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gcloud-shim-'));
  const log = join(dir, 'calls');
  const script = `#!/usr/bin/env bash
n=$(ls "${log}" 2>/dev/null | wc -l)
mkdir -p "${log}" && printf '%s\\0' "$@" > "${log}/$(printf '%05d' "$n")"
config=$(mktemp -d)
out=$(env ${Object.entries({ ...ambient, ...OFFLINE_GCLOUD_ENV })
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')} HOME="$config" CLOUDSDK_CONFIG="$config" "${gcloud}" "$@" 2>&1 </dev/null); rc=$?
rm -rf "$config"
if [ $rc -ne 0 ] && ! printf '%s' "$out" | grep -qE '${STOPPED_AT_CREDENTIALS.source}'; then printf '%s\\n' "$out" >&2; exit 2; fi
case " $* " in
  *" describe "*) exit 1 ;;
  *" config get-value account "*) echo owner@example.com ;;
esac
exit 0
`;
  writeFileSync(join(dir, 'gcloud'), script);
  chmodSync(join(dir, 'gcloud'), 0o755);
  return {
    dir,
    calls: () => {
      let names: string[];
      try {
        names = readdirSync(log).sort();
      } catch {
        return [];
      }
      return names.map((n) => readFileSync(join(log, n), 'utf8').split('\0').slice(0, -1));
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The gcloud commands of a shell text (a script, a README code block, a YAML step): continuation
 * lines joined, each command from `gcloud` to the end of its simple command (a pipe, `&&`, `||`,
 * `;`, a redirection, a comment, or the `)` that closes the `$(` it is in), with its quoting as written.
 */
export function gcloudCommandsIn(text: string): string[] {
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    for (const m of line.matchAll(/(^|[\s;|&(`])gcloud\s/g)) {
      const start = m.index + m[1]!.length;
      const before = line.slice(0, start);
      // Inside a comment of its own line: a command shown to the reader is checked too; a mention in prose is not.
      if (/#/.test(before) && !/^\s*#\s*$/.test(before)) continue;
      out.push(commandAt(line, start));
    }
  }
  return out;
}

function commandAt(line: string, start: number): string {
  let depth = 0;
  let quote: string | null = null;
  for (let i = start; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
    else if (c === '$' && line[i + 1] === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      if (depth === 0) return line.slice(start, i).trim();
      depth--;
    } else if (
      depth === 0 &&
      (c === '|' || c === ';' || c === '>' || c === '#' || (c === '&' && line[i + 1] === '&'))
    ) {
      // `2>` belongs to the redirection, not to the last word.
      const end = c === '>' && /\s\d$/.test(line.slice(start, i)) ? i - 1 : i;
      return line.slice(start, end).trim();
    }
  }
  return line.slice(start).trim();
}

/**
 * The words bash makes of a command (variables expanded from `prelude`, quotes removed), without
 * the leading `gcloud`. `$(...)` inside runs under the prelude too: define stand-ins there.
 */
export function wordsOf(command: string, prelude: string): string[] {
  const rest = command.replace(/^gcloud\s+/, '');
  const out = execFileSync('bash', ['-c', `set -eu\n${prelude}\nprintf '%s\\0' ${rest}`], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out.split('\0').slice(0, -1);
}
