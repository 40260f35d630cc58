/**
 * A dbt Cloud client from the configuration, for either front end: with the token itself, or
 * reading it from Secret Manager at run time.
 * @module
 */
import type { DbtCloudSettings } from '../config/load.ts';
import { DbtCloudClient } from '../dbt-cloud/client.ts';
import type { TransportOptions } from '../dbt-cloud/transport.ts';
import type { Logger } from '../log.ts';
import { secretTokenProvider } from '../secrets/secret-manager.ts';

export function connectDbtCloud(
  settings: DbtCloudSettings,
  options: { logger: Logger; userAgent: string; onRetry?: TransportOptions['onRetry'] },
): DbtCloudClient {
  const token =
    typeof settings.token === 'string'
      ? settings.token
      : secretTokenProvider(settings.token.secret, { endpoint: settings.token.endpoint });
  return new DbtCloudClient({
    baseUrl: settings.baseUrl,
    accountId: settings.accountId,
    token,
    timeoutMs: settings.timeoutMs,
    requestsPerMinute: settings.requestsPerMinute,
    ...options,
  });
}
