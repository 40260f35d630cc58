/**
 * A stand-in for the metadata server that answers inside Cloud Build, on Compute Engine and on
 * Cloud Run (`http://metadata.google.internal/computeMetadata/v1/…`): the project, the default
 * service account and its tokens. Tools find it through `GCE_METADATA_ROOT` (gcloud) or
 * `GCE_METADATA_HOST` (google-auth-library); a request without `Metadata-Flavor: Google` is refused,
 * as the real one refuses it (https://cloud.google.com/compute/docs/metadata/querying-metadata).
 * Every request is recorded, so a test can show that a tool did, or did not, consult it.
 * @module
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface MetadataServer {
  /** host:port, the value of GCE_METADATA_ROOT / GCE_METADATA_HOST. */
  host: string;
  project: string;
  account: string;
  /** The paths asked for, in order. */
  requests: string[];
  close(): Promise<void>;
}

export interface MetadataOptions {
  project?: string;
  account?: string;
  /** The access token handed out (default a fixed fake). */
  accessToken?: string;
  /** The ID token handed out for any audience (default a fixed fake JWT-shaped text). */
  idToken?: (audience: string) => string;
}

export async function startMetadataServer(options: MetadataOptions = {}): Promise<MetadataServer> {
  const project = options.project ?? 'build-project';
  const account = options.account ?? '123456789012@cloudbuild.gserviceaccount.com';
  const requests: string[] = [];
  const answers = (path: string, query: URLSearchParams): string | object | undefined => {
    const v1 = path.replace(/^\/computeMetadata\/v1/, '');
    switch (v1) {
      case '':
      case '/':
        return 'instance/\nproject/\n';
      case '/instance':
      case '/instance/':
        return 'id\nservice-accounts/\nzone\n';
      case '/project':
      case '/project/':
        return 'numeric-project-id\nproject-id\n';
      case '/project/project-id':
        return project;
      case '/project/numeric-project-id':
        return '123456789012';
      case '/instance/zone':
        return 'projects/123456789012/zones/us-central1-a';
      case '/universe/universe-domain':
        return 'googleapis.com';
      case '/instance/service-accounts/':
      case '/instance/service-accounts':
        return `default/\n${account}/\n`;
      case '/instance/service-accounts/default/email':
      case `/instance/service-accounts/${account}/email`:
        return account;
      case '/instance/service-accounts/default/scopes':
      case `/instance/service-accounts/${account}/scopes`:
        return 'https://www.googleapis.com/auth/cloud-platform\n';
      case '/instance/service-accounts/default/':
      case `/instance/service-accounts/${account}/`:
        return { aliases: ['default'], email: account, scopes: ['https://www.googleapis.com/auth/cloud-platform'] };
      case '/instance/service-accounts/default/token':
      case `/instance/service-accounts/${account}/token`:
        return {
          access_token: options.accessToken ?? 'ya29.metadata-stand-in',
          expires_in: 3599,
          token_type: 'Bearer',
        };
      case '/instance/service-accounts/default/identity':
      case `/instance/service-accounts/${account}/identity`:
        return (options.idToken ?? fakeIdToken)(query.get('audience') ?? '');
      default:
        return undefined;
    }
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://metadata');
    requests.push(url.pathname);
    const headers = { 'Metadata-Flavor': 'Google' };
    if (req.headers['metadata-flavor'] !== 'Google') {
      res.writeHead(403, { ...headers, 'Content-Type': 'text/plain' }).end('Missing Metadata-Flavor:Google header.');
      return;
    }
    const answer = answers(url.pathname, url.searchParams);
    if (answer === undefined) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('Not Found');
      return;
    }
    const json = typeof answer === 'object';
    res
      .writeHead(200, { ...headers, 'Content-Type': json ? 'application/json' : 'application/text' })
      .end(json ? JSON.stringify(answer) : answer);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    project,
    account,
    requests,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A JWT-shaped token (header.payload.signature, base64url) naming the audience; no one verifies it here. */
export function fakeIdToken(audience: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ aud: audience, iss: 'https://accounts.google.com', exp: 4102444800 })}.c3RhbmQtaW4`;
}
