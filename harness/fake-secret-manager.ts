/**
 * A fake of Secret Manager's REST API on a loopback port: `versions/{latest|N}:access` of secrets
 * whose versions tests add, with the API's answers (404 while a secret has no version, 403 for a
 * denied secret), a request log, and connections reset before an answer (`dropNext`), as a pooled
 * connection the far side has closed is.
 * @module
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IDLE_CONNECTION_MS } from './services.ts';

export class FakeSecretManager {
  /** `projects/P/secrets/S` -> its versions' payloads, oldest first. */
  readonly secrets = new Map<string, string[]>();
  readonly denied = new Set<string>();
  readonly requests: string[] = [];
  /** How many of the next requests get their connection reset instead of an answer. */
  dropNext = 0;
  private server: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  addVersion(secret: string, payload: string): number {
    const versions = this.secrets.get(secret) ?? [];
    versions.push(payload);
    this.secrets.set(secret, versions);
    return versions.length;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests.push(req.url ?? '');
      if (this.dropNext > 0) {
        this.dropNext--;
        req.socket.destroy();
        return;
      }
      const m = /^\/v1\/(projects\/[^/]+\/secrets\/[^/]+)\/versions\/(latest|\d+):access$/.exec(req.url ?? '');
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!m) return send(404, { error: { code: 404, message: 'Not found', status: 'NOT_FOUND' } });
      const [, secret, version] = m as unknown as [string, string, string];
      if (this.denied.has(secret))
        return send(403, { error: { code: 403, message: 'Permission denied', status: 'PERMISSION_DENIED' } });
      const versions = this.secrets.get(secret) ?? [];
      const index = version === 'latest' ? versions.length : Number(version);
      const payload = versions[index - 1];
      if (payload === undefined)
        return send(404, {
          error: {
            code: 404,
            message: `Secret Version [${secret}/versions/${version}] not found or has no versions.`,
            status: 'NOT_FOUND',
          },
        });
      send(200, { name: `${secret}/versions/${index}`, payload: { data: Buffer.from(payload).toString('base64') } });
    });
    this.server.keepAliveTimeout = IDLE_CONNECTION_MS;
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export const startFakeSecretManager = (): Promise<FakeSecretManager> => new FakeSecretManager().start();
