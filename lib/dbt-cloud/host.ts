import { ConfigError } from '../errors.ts';

/**
 * Accepts a bare host (`ab123.us1.dbt.com`, https implied) or a base URL with scheme
 * (`http://127.0.0.1:8080` for local servers) and returns the base URL without a trailing slash.
 */
export function baseUrlFromHost(host: string): string {
  const trimmed = host.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError([`DBT_CLOUD_HOST "${host}" is not a host name or URL (example: ab123.us1.dbt.com)`]);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError([`DBT_CLOUD_HOST "${host}" must use http or https`]);
  }
  if (url.username || url.password || url.search || url.hash || !url.hostname) {
    throw new ConfigError([`DBT_CLOUD_HOST "${host}" must be a host or base URL without credentials, query or fragment`]);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export function hostOf(baseUrl: string): string {
  return new URL(baseUrl).host;
}
