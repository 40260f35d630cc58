/**
 * The dbt Cloud host as configured: a bare host (`ab123.us1.dbt.com`, https implied) or a base URL
 * with scheme (`http://127.0.0.1:8080` for local servers).
 * @module
 */

/** Where a user finds the account's access URL. */
export const ACCESS_URL_WHERE =
  'in dbt, Account settings > Account information > Access URLs; the Admin API uses the access URL itself';

/**
 * The shared region URLs on getdbt.com (cloud.getdbt.com, and the like): deprecated on 1 November
 * 2026, after which they "may be degraded or inoperable" (dbt's account URL migration). Every
 * multi-tenant account had its own access URL on dbt.com by January 2026.
 */
export function legacyHostWarning(baseUrl: string): string | null {
  const host = new URL(baseUrl).hostname.toLowerCase();
  if (host !== 'getdbt.com' && !host.endsWith('.getdbt.com')) return null;
  return `DBT_CLOUD_HOST ${host} is a shared getdbt.com URL, deprecated since 1 November 2026 (dbt says it "may be degraded or inoperable"): use your account's own access URL, such as ab123.us1.dbt.com (${ACCESS_URL_WHERE}).`;
}

/** The text as it may be shown: credentials (`user:password@`) masked. */
function shown(host: string): string {
  return host.replace(
    /^([a-z][a-z0-9+.-]*:\/\/)?[^/@\s]*@/i,
    (_m, scheme: string | undefined) => `${scheme ?? ''}***@`,
  );
}

/** Loopback hosts, where plain http keeps the token on this machine. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * The base URL (scheme, host, port: no path, no trailing slash), or why the text is not one. A path
 * of the API itself (`/api/v2/`) is dropped; any other path is refused. https only, but for loopback
 * (local test servers): over plain http the token would travel in clear.
 */
export function parseBaseUrl(host: string): string | { problem: string } {
  const trimmed = host.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { problem: `"${shown(host)}" is not a host name or URL (example: ab123.us1.dbt.com)` };
  }
  if (url.username || url.password)
    return { problem: `"${shown(host)}" must not carry credentials: the token goes in DBT_CLOUD_TOKEN` };
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: `"${host}" must use https` };
  if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname))
    return {
      problem: `"${host}" must use https: over http the token would travel in clear (http is accepted for loopback test servers only)`,
    };
  if (url.search || url.hash || !url.hostname)
    return { problem: `"${host}" must be a host or base URL without query or fragment` };
  // The API's own path, as people copy it from the docs (https://cloud.getdbt.com/api/v2/), is not
  // the base URL's: the harvester adds it to every request itself.
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api(\/v[23])?$/i, '');
  if (path !== '')
    return {
      problem: `"${host}" must be the account's host, without a path (${url.pathname}): for example ab123.us1.dbt.com`,
    };
  return url.origin;
}
