/**
 * What every function's handler sees and answers, apart from the framework: a request (method,
 * headers, the raw body) and a reply (status and a JSON body).
 * @module
 */

export interface CloudRequest {
  method: string;
  /** A header by name, any case; undefined when absent. */
  header(name: string): string | undefined;
  /** The body as it arrived; empty when there was none. */
  rawBody: Buffer;
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

export type Handler = (req: CloudRequest) => Promise<Reply>;

/** An error reply: `{error, details}` and any context fields. */
export function failure(status: number, error: string, details: readonly string[], extra: Record<string, unknown> = {}): Reply {
  return { status, body: { error, details, ...extra } };
}

/** The body parsed as JSON, or a reply saying why it is not. */
export function jsonBody(req: CloudRequest, expect: string): { body: unknown } | { reply: Reply } {
  const raw = req.rawBody.toString('utf8');
  if (raw.trim() === '') return { reply: failure(400, 'invalid body', [`the body is empty; send ${expect} with Content-Type: application/json`]) };
  try {
    return { body: JSON.parse(raw) as unknown };
  } catch {
    return { reply: failure(400, 'invalid body', [`the body is not JSON; send ${expect}`]) };
  }
}
