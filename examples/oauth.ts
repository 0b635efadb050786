// Sign-in and session recovery together. The session keeps sign-ins where the CLI keeps them
// (`mcp-lifeline login` once, every program on the machine uses it) and takes the same
// cross-process lease, so refreshes never race.
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { applyMiddlewares, withOAuth } from '@modelcontextprotocol/sdk/client/middleware.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { withSessionRecovery } from 'mcp-lifeline';
import { createOAuthSession, type OAuthSession, type OAuthSessionOptions, withOAuthSession } from 'mcp-lifeline/oauth';

const info = { name: 'my-app', version: '1.0.0' };

/** mcp-lifeline's own sign-in layer beneath recovery: a 401 is never a lost session, and replays carry the newest token. */
export async function connectWithSignIn(url: string, options: Partial<OAuthSessionOptions> = {}): Promise<Client> {
  const session = createOAuthSession({ ...options, serverUrl: url, onPrompt: (prompt) => console.error(prompt) });
  // applyMiddlewares makes the last middleware the outermost: recovery outside, sign-in inside.
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: applyMiddlewares(withOAuthSession(session), withSessionRecovery())(fetch),
  });
  const client = new Client(info);
  await client.connect(transport);
  return client;
}

/** The v1 SDK's own OAuth handling, with mcp-lifeline's provider (its store and lease). */
export async function connectV1AuthProvider(url: string, session: OAuthSession): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    authProvider: session.provider,
    fetch: withSessionRecovery()(fetch),
  });
  const client = new Client(info);
  await client.connect(transport);
  return client;
}

/** The v1 SDK's `withOAuth` middleware, composed beneath recovery. */
export async function connectV1WithOAuth(url: string, session: OAuthSession): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: applyMiddlewares(withOAuth(session.provider, url), withSessionRecovery())(fetch),
  });
  const client = new Client(info);
  await client.connect(transport);
  return client;
}

/** The v2 SDK: the session is an `AuthProvider` (`token()`, `onUnauthorized()`). */
export async function connectV2AuthProvider(url: string, session: OAuthSession): Promise<ClientV2> {
  const transport = new TransportV2(new URL(url), { authProvider: session, fetch: withSessionRecovery()(fetch) });
  const client = new ClientV2(info);
  await client.connect(transport);
  return client;
}
