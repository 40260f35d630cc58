/**
 * What every function's handler sees and answers, apart from the framework: a request (method,
 * headers, the raw body) and a reply (status and a JSON body).
 * @module
 */
import { parseJsonBounded } from '../json/json-scan.ts';

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
export function failure(
  status: number,
  error: string,
  details: readonly string[],
  extra: Record<string, unknown> = {},
): Reply {
  return { status, body: { error, details, ...extra } };
}

/** A reply refusing any method but POST. */
export function onlyPost(req: CloudRequest, expect: string): Reply | undefined {
  return req.method === 'POST'
    ? undefined
    : failure(405, 'method not allowed', [`${req.method} is not accepted: use POST with ${expect}`]);
}

/**
 * The body parsed as JSON, or a reply saying why it is not: 415 for another content type (or none,
 * unless `typeOptional`), a charset other than UTF-8 or a compressed body, 400 for an empty body or
 * one that is not JSON.
 */
export function jsonBody(
  req: CloudRequest,
  expect: string,
  options: { typeOptional?: boolean } = {},
): { body: unknown } | { reply: Reply } {
  const type = (req.header('content-type') ?? '').toLowerCase();
  const [mediaType = '', ...params] = type.split(';').map((p) => p.trim());
  const untyped = options.typeOptional && mediaType === '';
  if (!untyped && !/^application\/(.+\+)?json$/.test(mediaType))
    return {
      reply: failure(415, 'unsupported media type', [
        `send ${expect} with Content-Type: application/json${mediaType ? `, not ${mediaType}` : ''}`,
      ]),
    };
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (charset && charset !== 'utf-8' && charset !== 'utf8')
    return { reply: failure(415, 'unsupported charset', [`send the JSON as UTF-8, not ${charset}`]) };
  const encoding = (req.header('content-encoding') ?? 'identity').toLowerCase();
  if (encoding !== 'identity')
    return { reply: failure(415, 'unsupported content encoding', [`send the JSON uncompressed, not ${encoding}`]) };
  const raw = req.rawBody.toString('utf8');
  if (raw.trim() === '') return { reply: failure(400, 'invalid body', [`the body is empty; send ${expect}`]) };
  try {
    return { body: parseJsonBounded(raw) };
  } catch {
    return { reply: failure(400, 'invalid body', [`the body is not JSON; send ${expect}`]) };
  }
}
