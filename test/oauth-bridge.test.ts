// The bridge (`mcp-lifeline <url>`, the built CLI) against a real authorization server
// (oidc-provider) and a protected SDK MCP server, with an SDK host over stdio and a script as the
// user's browser. Server-side counters prove what happened: authorizations, token requests per
// grant, registrations, revocations, MCP initializations and tool executions.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { createOAuthStore } from '../src/auth/oauth-store.js';
import { INITIALIZE, spawnCli } from './helpers/bridge.js';
import { call, oauthSandbox, runCli, servers, signedInHost, startHost, storedRecord } from './helpers/oauth.js';

describe('bridge with OAuth', () => {
  it('first sign-in: one browser window, one slow answer, the call runs once, tokens stored 0600 and never logged', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const host = await startHost(t, server.url, sandbox.env(), ['--log-level', 'debug']);
    assert.equal(await call(host), '1');
    assert.equal(server.counters.executions, 1);
    assert.equal(server.counters.initializations, 1);
    const runs = await sandbox.browserRuns();
    assert.deepEqual(
      runs.map((run) => run.outcome),
      ['callback'],
    );
    assert.equal(server.authorizationServer.counters.authorizations, 1);
    assert.equal(server.authorizationServer.counters.registrations, 1);
    assert.deepEqual(server.authorizationServer.counters.tokens, { authorization_code: 1 });
    const file = createOAuthStore(`${sandbox.configDir}/oauth/v1`).fileOf(server.url);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const tokens = (await storedRecord(sandbox, server.url)).grants;
    const grant = Object.values(tokens)[0];
    assert.ok(grant?.tokens?.access_token && grant.tokens.refresh_token);
    assert.ok(!host.stderr().includes(grant.tokens.access_token), 'the access token is never logged');
    assert.ok(!host.stderr().includes(grant.tokens.refresh_token), 'the refresh token is never logged');
    assert.match(host.stderr(), /signed in/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} with the sign-in layer loaded: a clean shutdown, exit 0 (the lease's signal-exit does not cut it short)`, async (t) => {
      const sandbox = await oauthSandbox(t);
      const server = await servers(t);
      const login = await runCli(['login', server.url], sandbox.env());
      assert.equal(login.code, 0, login.stderr);
      const cli = spawnCli([server.url], sandbox.env());
      t.after(() => cli.stop());
      cli.send(INITIALIZE);
      assert.ok((await cli.waitForMessage((message) => message['id'] === 1))['result']);
      cli.child.kill(signal);
      assert.equal(await cli.exited, 0, cli.stderr());
      assert.match(cli.stderr(), new RegExp(`shutting down: ${signal}`));
    });
  }

  it('token expiry mid-session: refreshed ahead of time and after an early 401, never a second browser window', async (t) => {
    const { sandbox, server, host } = await signedInHost(t, { accessTokenTtl: 2 });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.equal(await call(host), '2', 'after expiry: refreshed before sending');
    assert.equal(server.authorizationServer.counters.tokens['refresh_token'], 1);
    server.invalidateTokens();
    assert.equal(await call(host), '3', 'after the server refused the token early: refreshed on the 401');
    assert.equal(server.authorizationServer.counters.tokens['refresh_token'], 2);
    assert.equal(server.counters.executions, 3);
    assert.equal((await sandbox.browserRuns()).length, 1);
    assert.equal(server.authorizationServer.counters.authorizations, 1);
  });

  it('refresh token revoked: exactly one new sign-in, and the call runs once', async (t) => {
    const { sandbox, server, host } = await signedInHost(t);
    const grant = Object.values((await storedRecord(sandbox, server.url)).grants)[0];
    const revoked = await fetch(`${server.authorizationServer.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: grant?.tokens?.refresh_token ?? '', client_id: grant?.client?.client_id ?? '' }),
    });
    assert.equal(revoked.status, 200);
    server.invalidateTokens();
    assert.equal(await call(host), '2');
    assert.equal(server.counters.executions, 2);
    assert.equal(server.authorizationServer.counters.refusedTokens['refresh_token'], 1, 'the dead refresh token was tried once');
    assert.equal((await sandbox.browserRuns()).length, 2, 'one new sign-in');
    assert.equal(server.authorizationServer.counters.authorizations, 2);
  });

  it('session loss and token expiry at the same moment: one refresh, one re-initialization, the call runs once', async (t) => {
    const { sandbox, server, host } = await signedInHost(t);
    await server.expireSessions();
    server.invalidateTokens();
    assert.equal(await call(host), '2');
    assert.equal(server.authorizationServer.counters.tokens['refresh_token'], 1);
    assert.equal(server.counters.initializations, 2);
    assert.equal(server.counters.executions, 2);
    assert.equal((await sandbox.browserRuns()).length, 1);
  });

  it('a callback with a wrong iss (RFC 9207) is refused with a clear error, and nothing is exchanged', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const error = await startHost(t, server.url, sandbox.env({ OAUTH_BROWSER_TAMPER: 'iss' })).then(
      () => undefined,
      (failure: Error & { stderr?: string }) => failure,
    );
    assert.ok(error, 'the host could not connect');
    assert.match(error.message, /issuer "https:\/\/attacker\.example".*RFC 9207/);
    const [run] = await sandbox.browserRuns();
    assert.equal(run?.status, 400, 'the callback page says it was refused');
    assert.equal(server.authorizationServer.counters.tokens['authorization_code'], undefined, 'the code was never exchanged');
    assert.equal(server.counters.initializations, 0);
  });

  it('authorization server metadata naming another issuer (RFC 8414 §3.3) is refused before any browser opens', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t, { advertisedIssuer: (origin) => origin });
    const error = await startHost(t, server.url, sandbox.env()).then(
      () => undefined,
      (failure: Error) => failure,
    );
    assert.match(error?.message ?? '', /names another issuer.*RFC 8414/);
    assert.equal((await sandbox.browserRuns()).length, 0);
    assert.equal(server.authorizationServer.counters.registrations, 0);
  });

  it('403 insufficient_scope: a step-up sign-in for the union of the scopes, then the call runs once', async (t) => {
    const { sandbox, server, host } = await signedInHost(t);
    assert.equal(await call(host, 'admin-increment'), '2');
    assert.equal(server.counters.adminExecutions, 1);
    assert.equal(server.counters.forbidden, 1);
    const runs = await sandbox.browserRuns();
    assert.equal(runs.length, 2);
    assert.match(new URL(runs[1]?.opened ?? '').searchParams.get('scope') ?? '', /^mcp:tools mcp:admin$/);
    assert.equal(await call(host, 'admin-increment'), '3', 'the wider token is kept');
    assert.equal(server.counters.forbidden, 1);
  });
});
