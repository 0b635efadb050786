import { type Challenge, readChallenge } from '../auth/challenge.js';
import { followSameOriginRedirects } from '../upstream/same-origin-redirects.js';

/** How a server answers an `initialize` sent without credentials. */
export interface SignInChallenge {
  readonly status: number;
  /** The `WWW-Authenticate` challenge of a 401 or 403; undefined when the server accepted the request. */
  readonly challenge: Challenge | undefined;
}

/**
 * Sends `initialize` without credentials and reads the answer's challenge (RFC 9728 §5.1: where
 * the resource metadata is, and which scope). A session the server opened anyway is ended.
 * Redirects are followed within the origin only, as every request of the bridge: the `--header`
 * values belong to this origin.
 */
export async function fetchSignInChallenge(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<SignInChallenge> {
  const send = followSameOriginRedirects((input, init) => fetch(input, init));
  const response = await send(url.href, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'mcp-lifeline', version: '1' } },
    }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await response.body?.cancel().catch(() => {});
  if (response.status === 401 || response.status === 403) return { status: response.status, challenge: readChallenge(response) };
  const session = response.headers.get('mcp-session-id');
  if (response.ok && session !== null) {
    await send(url.href, {
      method: 'DELETE',
      headers: { ...headers, 'mcp-session-id': session },
      signal: AbortSignal.timeout(timeoutMs),
    }).catch(() => undefined);
  }
  return { status: response.status, challenge: undefined };
}
