// The library: `mcp-lifeline/oauth` composed with withSessionRecovery, in the README's four ways
// (examples/oauth.ts), against oidc-provider and a protected SDK MCP server. In each: a sign-in
// (or the stored one), a call, then the session lost and the token refused at the same moment:
// one refresh, one re-initialization, the call runs once.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { connectV1AuthProvider, connectV1WithOAuth, connectV2AuthProvider, connectWithSignIn } from '../examples/oauth.js';
import { createOAuthSession, createOAuthStore, type OAuthSession } from '../src/auth/index.js';
import { type OAuthSandbox, oauthSandbox, servers } from './helpers/oauth.js';

interface Connected {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

function sessionFor(sandbox: OAuthSandbox, url: string): OAuthSession {
  return createOAuthSession({
    serverUrl: url,
    store: createOAuthStore(`${sandbox.configDir}/oauth/v1`),
    env: { ...process.env, ...sandbox.env() },
  });
}

async function text(client: Connected): Promise<string> {
  const result = (await client.callTool({ name: 'increment', arguments: {} })) as { content: { text: string }[] };
  return result.content[0]?.text ?? '';
}

describe('mcp-lifeline/oauth with withSessionRecovery', () => {
  const cases: [string, (url: string, session: OAuthSession, sandbox: OAuthSandbox) => Promise<Connected>][] = [
    [
      'withOAuthSession beneath withSessionRecovery (signs in by itself)',
      (url, _session, sandbox) =>
        connectWithSignIn(url, { store: createOAuthStore(`${sandbox.configDir}/oauth/v1`), env: { ...process.env, ...sandbox.env() } }),
    ],
    ['SDK v1 transport, authProvider: session.provider', (url, session) => connectV1AuthProvider(url, session)],
    ['SDK v1 withOAuth(session.provider) beneath withSessionRecovery', (url, session) => connectV1WithOAuth(url, session)],
    ['SDK v2 transport, authProvider: session', (url, session) => connectV2AuthProvider(url, session)],
  ];
  for (const [name, connect] of cases) {
    it(name, async (t: TestContext) => {
      const sandbox = await oauthSandbox(t);
      const server = await servers(t);
      const session = sessionFor(sandbox, server.url);
      // The SDK's own OAuth flows need a stored sign-in (as after `mcp-lifeline login`).
      if (!name.startsWith('withOAuthSession')) assert.equal((await session.signIn()).outcome, 'signed-in');
      const client = await connect(server.url, session, sandbox);
      t.after(() => client.close());
      assert.equal(await text(client), '1');
      await server.expireSessions();
      server.invalidateTokens();
      assert.equal(await text(client), '2');
      assert.equal(server.counters.executions, 2);
      assert.equal(server.counters.initializations, 2);
      assert.equal(server.authorizationServer.counters.tokens['refresh_token'], 1);
      assert.equal((await sandbox.browserRuns()).length, 1);
    });
  }

  it('a session that may not sign in says how to: run mcp-lifeline login', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const session = sessionFor(sandbox, server.url);
    await assert.rejects(session.renew({ rejected: undefined, interactive: false }), {
      name: 'SignInError',
      code: 'SIGN_IN_REQUIRED',
      message: `not signed in to ${server.url}: run mcp-lifeline login ${server.url}`,
    });
    assert.equal((await sandbox.browserRuns()).length, 0);
  });
});
