import { isLoopbackHost } from '../shared/loopback.js';
import { SignInError } from './SignInError.js';

/**
 * The URL rule of every sign-in (OAuth 2.1 §1.5, MCP authorization "Communication Security"):
 * metadata, authorization, token, registration, revocation and device endpoints, the MCP server a
 * token is sent to, and every URL a browser is sent to, are `https:`, or `http:` on a loopback
 * host. With `server` (the MCP server signed in to), a URL on a loopback host is allowed only when
 * that server is on one too: a remote server may not aim the sign-in's requests at services on
 * this machine. Returns the parsed URL; throws an `INSECURE_ENDPOINT` {@linkcode SignInError}
 * naming `what`, the URL and why, before anything is sent.
 */
export function checkSignInUrl(what: string, url: string | URL, server?: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SignInError('INSECURE_ENDPOINT', `refusing the ${what} ${JSON.stringify(String(url).slice(0, 200))}: not a URL`);
  }
  const local = isLoopbackHost(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && local)) {
    const scheme = parsed.protocol === 'http:' ? `http: on ${parsed.hostname}, which is not a loopback host` : parsed.protocol;
    throw new SignInError(
      'INSECURE_ENDPOINT',
      `refusing the ${what} ${shown(parsed)}: sign-in uses only https: URLs, or http: on a loopback host (localhost, 127.0.0.1, [::1]); this one is ${scheme}`,
    );
  }
  if (local && server !== undefined && !isLoopbackHost(new URL(server).hostname)) {
    throw new SignInError(
      'INSECURE_ENDPOINT',
      `refusing the ${what} ${shown(parsed)}: it is on this machine, but the MCP server ${shown(new URL(server))} is not; ` +
        "a remote server's sign-in never sends requests to local services",
    );
  }
  return parsed;
}

/** The URL for a message: no user info, and at most 200 characters. */
function shown(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href.length > 200 ? `${copy.href.slice(0, 200)}…` : copy.href;
}
