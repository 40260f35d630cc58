/**
 * The dbt Cloud host as configured: a bare host (`ab123.us1.dbt.com`, https implied) or a base URL
 * with scheme (`http://127.0.0.1:8080` for local servers).
 * @module
 */

/** The base URL without a trailing slash, or why the text is not one. */
export function parseBaseUrl(host: string): string | { problem: string } {
  const trimmed = host.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { problem: `"${host}" is not a host name or URL (example: ab123.us1.dbt.com)` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: `"${host}" must use http or https` };
  if (url.username || url.password || url.search || url.hash || !url.hostname) {
    return { problem: `"${host}" must be a host or base URL without credentials, query or fragment` };
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
