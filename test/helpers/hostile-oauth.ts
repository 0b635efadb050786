import type { TestContext } from 'node:test';
import {
  createOAuthSession,
  createOAuthStore,
  type OAuthEvent,
  type OAuthSession,
  type OAuthSessionOptions,
} from '../../src/auth/index.js';
import {
  authorizationServerRoutes,
  type HostileOAuthOptions,
  type HostileOAuthServer,
  type Route,
  resourceMetadataRoute,
  startHostileOAuthServer,
} from '../fixtures/hostile-oauth-server.js';
import type { OAuthSandbox } from './oauth.js';

/** A confidential client for the client-credentials flow. */
export const MACHINE = { client_id: 'machine', client_secret: 'machine-secret' };

/** A hostile OAuth server, closed after the test. */
export async function hostileServer(t: TestContext, options: HostileOAuthOptions): Promise<HostileOAuthServer> {
  const server = await startHostileOAuthServer(options);
  t.after(() => server.close());
  return server;
}

/** A hostile MCP server that is its own authorization server, with `spoil` replacing some of its answers. */
export function selfServed(t: TestContext, spoil: (origin: string) => Record<string, Route> = () => ({})): Promise<HostileOAuthServer> {
  return hostileServer(t, {
    routes: (origin) => ({ ...resourceMetadataRoute(`${origin}/mcp`, origin), ...authorizationServerRoutes(origin), ...spoil(origin) }),
  });
}

/** A session in the sandbox's store, with 3 s bounds; the events it emitted are in `events`. */
export function sessionFor(
  sandbox: OAuthSandbox,
  url: string,
  options: Partial<OAuthSessionOptions> = {},
): OAuthSession & { readonly events: OAuthEvent[] } {
  const events: OAuthEvent[] = [];
  const session = createOAuthSession({
    serverUrl: url,
    store: createOAuthStore(`${sandbox.configDir}/oauth/v1`),
    env: { ...process.env, ...sandbox.env() },
    signInTimeoutMs: 3000,
    requestTimeoutMs: 3000,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return Object.assign(session, { events });
}

/** `text` as a literal inside a RegExp. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
