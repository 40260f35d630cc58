import { describe, expect, it } from 'vitest';
import { createLogger, redact, scrub } from '../../lib/log.ts';

/** The token appears in no log line, whatever characters it has and however a line escapes it. */
describe('secret scrubbing', () => {
  it('removes a token from log lines, raw, JSON-escaped and URL-encoded', () => {
    const token = 'dbtc_q"uo\\te/d+x=1';
    redact(token);
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    log.error('dbt Cloud answered 400', {
      error: new Error(`Rejected request with Authorization: Token ${token}`),
      url: `https://x/?t=${encodeURIComponent(token)}`,
      nested: { twice: JSON.stringify({ token }) },
    });
    expect(lines).toHaveLength(1);
    for (const form of [token, JSON.stringify(token).slice(1, -1), encodeURIComponent(token), 'q\\\\"uo'])
      expect(lines[0]).not.toContain(form);
    expect(lines[0]!.match(/\[REDACTED\]/g)).toHaveLength(3);
    expect(scrub(`{"message":"${JSON.stringify(token).slice(1, -1)}"}`)).toBe('{"message":"[REDACTED]"}');
  });
});
