/**
 * The key a server's sign-in is stored under: the URL as RFC 8707 §2 canonicalises a resource
 * (lower-case scheme and host, no default port, no fragment), without user info and without a
 * trailing slash. The query stays: some servers put a tenant in it.
 */
export function canonicalServerUrl(url: string | URL): string {
  const parsed = new URL(url);
  parsed.hash = '';
  parsed.username = '';
  parsed.password = '';
  parsed.pathname = parsed.pathname.replace(/\/+$/, '') || '/';
  const text = parsed.href;
  return parsed.pathname === '/' && parsed.search === '' ? text.replace(/\/$/, '') : text;
}
