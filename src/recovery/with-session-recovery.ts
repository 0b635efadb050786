import { resolveOptions, type SessionRecoveryOptions } from './options.js';
import type { AnyFetch, FetchLike, Middleware } from './outgoing-request.js';
import { createRecoveringFetch } from './recovering-fetch.js';

/**
 * A fetch middleware that hides MCP session loss from the client. When a Streamable HTTP server
 * forgets the session (404, or one of the 400/401/200 dialects servers use instead), it
 * re-initializes once for all waiting requests, restores the log level and subscriptions, and
 * sends each rejected message again (once more on another new session if that one is lost too,
 * up to `maxRecoveries`). A request the server could not take while it restarts waits for it
 * (`restartWindow`). Servers that issue no session id pass through untouched.
 *
 * Plugs into the official SDKs' transports (`@modelcontextprotocol/sdk` v1,
 * `@modelcontextprotocol/client` v2) and composes with their `applyMiddlewares` and `withOAuth`.
 *
 * @example
 * const transport = new StreamableHTTPClientTransport(new URL(url), {
 *   fetch: withSessionRecovery({ onEvent: (event) => log(event) })(fetch),
 * });
 */
export function withSessionRecovery(options: SessionRecoveryOptions = {}): Middleware {
  const config = resolveOptions(options);
  return function sessionRecovery<F extends FetchLike>(next: F): F {
    if (typeof next !== 'function') {
      throw new TypeError(`withSessionRecovery(options)(next): next must be a fetch function, got ${typeof next}`);
    }
    // The result accepts whatever `next` accepts (a Request too, when next is fetch itself).
    return createRecoveringFetch(next as unknown as AnyFetch, config) as unknown as F;
  };
}
