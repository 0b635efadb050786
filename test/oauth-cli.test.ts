// The sign-in commands and flows of the built CLI: login / status / logout, --no-browser, the
// device flow and client credentials, against oidc-provider and a protected SDK MCP server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { createOAuthStore } from '../src/auth/oauth-store.js';
import { INITIALIZE, spawnCli } from './helpers/bridge.js';
import { eventually } from './helpers/eventually.js';
import { BROWSER_SCRIPT, call, loginWithDevice, oauthSandbox, runCli, servers, startHost, storedRecord } from './helpers/oauth.js';

describe('sign-in commands and flows', () => {
  it('--no-browser prints the URL to stderr and waits; changing headers later does not sign the user out', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const cli = spawnCli([server.url, '--no-browser'], sandbox.env());
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    await eventually(() => /open this URL in a browser on this machine: (\S+)/.test(cli.stderr()), 10_000, 'the sign-in URL on stderr');
    const url = /open this URL in a browser on this machine: (\S+)/.exec(cli.stderr())?.[1] ?? '';
    const browser = spawn(process.execPath, [BROWSER_SCRIPT, url], { env: { ...process.env, ...sandbox.env() }, stdio: 'ignore' });
    await once(browser, 'exit');
    const answer = await cli.waitForMessage((message) => message['id'] === 1);
    assert.ok(answer['result'], JSON.stringify(answer));
    await cli.stop();
    const host = await startHost(t, server.url, sandbox.env(), ['--header', 'X-Tenant: other']);
    assert.equal(await call(host), '1');
    assert.equal(server.authorizationServer.counters.authorizations, 1, 'no second sign-in');
  });

  it('login, status and logout: sign in ahead of time, see it, revoke it', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const login = await runCli(['login', server.url], sandbox.env());
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /signed in to .*scope mcp:tools/);
    const again = await runCli(['login', server.url], sandbox.env());
    assert.match(again.stderr, /already signed in/);
    assert.equal((await sandbox.browserRuns()).length, 1);

    const status = await runCli(['status', server.url, '--json'], sandbox.env());
    assert.equal(status.code, 0);
    const [entry] = JSON.parse(status.stdout) as { signedIn: boolean; issuer: string; refreshToken: boolean }[];
    assert.equal(entry?.signedIn, true);
    assert.equal(entry?.issuer, server.authorizationServer.issuer);
    const record = await storedRecord(sandbox, server.url);
    const tokens = Object.values(record.grants)[0]?.tokens;
    assert.ok(!status.stdout.includes(tokens?.access_token ?? '?'), 'status never shows a token');

    const host = await startHost(t, server.url, sandbox.env());
    assert.equal(await call(host), '1', 'the bridge uses the stored sign-in');
    assert.equal((await sandbox.browserRuns()).length, 1);

    const logout = await runCli(['logout', server.url], sandbox.env());
    assert.equal(logout.code, 0, logout.stderr);
    assert.match(logout.stderr, /revoked the refresh token and the access token/);
    assert.equal(server.authorizationServer.counters.revocations, 2);
    const introspected = await fetch(`${server.authorizationServer.issuer}/token/introspection`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${btoa('mcp-resource-server:introspection-secret')}`,
      },
      body: new URLSearchParams({ token: tokens?.access_token ?? '' }),
    });
    assert.deepEqual(await introspected.json(), { active: false });
    assert.equal(await readFile(createOAuthStore(`${sandbox.configDir}/oauth/v1`).fileOf(server.url), 'utf8').catch(() => 'gone'), 'gone');
    const after = await runCli(['status', server.url], sandbox.env());
    assert.equal(after.code, 1);
  });

  it('--oauth-client-credentials: no user, no browser, a token from the client secret', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t, { machineClient: { id: 'machine', secret: 'machine-secret' } });
    const env = sandbox.env({ MCP_LIFELINE_CLIENT_ID: 'machine', MCP_LIFELINE_CLIENT_SECRET: 'machine-secret' });
    const host = await startHost(t, server.url, env, ['--oauth-client-credentials']);
    assert.equal(await call(host), '1');
    assert.equal(server.authorizationServer.counters.tokens['client_credentials'], 1);
    assert.equal((await sandbox.browserRuns()).length, 0);
  });

  it('login --device: the device flow (RFC 8628), the code entered elsewhere', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const login = await loginWithDevice(t, server.url, { cli: sandbox.env(), browser: sandbox.env() });
    assert.equal(login.code, 0, `${login.stderr}\nbrowser: ${login.browserLog}`);
    assert.equal(server.authorizationServer.counters.tokens['urn:ietf:params:oauth:grant-type:device_code'], 1);
    const host = await startHost(t, server.url, sandbox.env());
    assert.equal(await call(host), '1');
  });

  it('probe: how the server signs in, then (after login) its session behaviour with the stored sign-in; never a browser', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const before = await runCli(['probe', server.url, '--no-color'], sandbox.env());
    assert.equal(before.code, 2, before.stderr);
    assert.match(before.stdout, /required\s+yes: HTTP 401 \(invalid_token, scope "mcp:tools"\)/);
    assert.match(before.stdout, /registration\s+dynamic, pre-registered/);
    assert.match(before.stdout, /sign-in flows\s+browser \(PKCE S256\), device \(--device\)/);
    assert.match(before.stdout, /iss in responses\s+yes \(RFC 9207\)/);
    assert.match(before.stdout, new RegExp(`signed in here\\s+no: run mcp-lifeline login ${server.url}`));
    assert.equal((await sandbox.browserRuns()).length, 0);

    assert.equal((await runCli(['login', server.url], sandbox.env())).code, 0);
    const after = await runCli(['probe', server.url, '--json'], sandbox.env());
    const report = JSON.parse(after.stdout) as {
      server: { sessionIssued: boolean };
      signIn: { required: boolean; signedIn: boolean; authorizationServer: { issuer: string; issuerMatches: boolean } };
    };
    assert.equal(report.server.sessionIssued, true, after.stderr);
    assert.equal(report.signIn.required, true);
    assert.equal(report.signIn.signedIn, true);
    assert.equal(report.signIn.authorizationServer.issuer, server.authorizationServer.issuer);
    assert.equal(report.signIn.authorizationServer.issuerMatches, true);
    assert.equal((await sandbox.browserRuns()).length, 1, 'only login opened one');
  });
});
