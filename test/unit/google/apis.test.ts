import { describe, expect, it } from 'vitest';
import { GOOGLE_APIS, apiRoot, type GoogleApi } from '../../../lib/google/apis.ts';

describe("Google APIs' roots", () => {
  it("are each API's own host, and under a stand-in endpoint keep their own path, so that no two collide", () => {
    expect(apiRoot('storage')).toBe('https://storage.googleapis.com/storage/v1');
    expect(apiRoot('storage', 'http://127.0.0.1:9000/')).toBe('http://127.0.0.1:9000/storage/v1');
    expect(apiRoot('bigquery', 'http://127.0.0.1:9000')).toBe('http://127.0.0.1:9000/bigquery/v2');
    expect(apiRoot('run', 'http://127.0.0.1:9000')).toBe('http://127.0.0.1:9000');
    const apis = Object.keys(GOOGLE_APIS) as GoogleApi[];
    for (const api of apis) expect(GOOGLE_APIS[api]).toMatch(/^https:\/\/[a-z]+\.googleapis\.com(\/[a-z]+\/v\d)?$/);
  });
});
