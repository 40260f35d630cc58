/*
 * Structured JSON logging in Cloud Logging's shape: one JSON object per line with `severity` and
 * `message`, plus context fields (runId, jobId, window, counts). Secrets registered with
 * `redact` are replaced wherever they appear in a line.
 */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const ORDER: Record<Severity, number> = { DEBUG: 0, INFO: 1, NOTICE: 2, WARNING: 3, ERROR: 4 };

const secrets = new Set<string>();

/**
 * Registers a value (the dbt Cloud token) that must never appear in a log line or an answer: as
 * itself, and in the forms it takes inside JSON text and URLs.
 */
export function redact(secret: string | undefined): void {
  if (!secret || secret.length < 4) return;
  for (const form of [
    secret,
    JSON.stringify(secret).slice(1, -1),
    JSON.stringify(JSON.stringify(secret)).slice(3, -3),
    encodeURIComponent(secret),
  ]) {
    if (form.length >= 4) secrets.add(form);
  }
}

/** The text with every registered secret, in any of its forms, replaced. Longest forms first. */
export function scrub(text: string): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('[REDACTED]');
  return out;
}

function serialiseError(err: Error): LogFields {
  return { name: err.name, message: err.message, ...('code' in err ? { code: err.code } : {}) };
}

export interface LoggerOptions {
  level?: Severity;
  write?: (line: string) => void;
  fields?: LogFields;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'INFO';
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = options.fields ?? {};
  const emit = (severity: Severity, message: string, fields?: LogFields): void => {
    if (ORDER[severity] < ORDER[level]) return;
    const entry: LogFields = { severity, message, ...base, ...fields, time: new Date().toISOString() };
    const line = JSON.stringify(entry, (_key, value: unknown) =>
      value instanceof Error ? serialiseError(value) : value,
    );
    write(scrub(line));
  };
  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARNING', m, f),
    error: (m, f) => emit('ERROR', m, f),
    child: (fields) => createLogger({ level, write, fields: { ...base, ...fields } }),
  };
}

export const silentLogger: Logger = createLogger({ write: () => {} });
