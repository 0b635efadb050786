// Sign-in against hostile parties (issue 16), the rest: forged requests to the loopback callback
// and its port, the store directory's mode, and what a hostile authorization server can put in
// its answers (odd token fields, device polling intervals, redirects to another origin, terminal
// escapes in error texts). Real oidc-provider where a well-behaved server is needed, the
// scriptable test/fixtures/hostile-oauth-server.ts where a hostile one is.
import assert from 'node:assert/strict';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { describe, it, type TestContext } from 'node:test';
import { createOAuthStore } from '../src/auth/index.js';
import type { Route } from './fixtures/hostile-oauth-server.js';
import { escapeRegExp, hostileServer, MACHINE, selfServed, sessionFor } from './helpers/hostile-oauth.js';
import { oauthSandbox, runCli, servers, storedRecord } from './helpers/oauth.js';
import { freePort } from './helpers/processes.js';

const POSIX = process.platform !== 'win32';

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('the loopback callback under forged requests', () => {
  it('wrong state, no code, no query, another path, garbage, a POST: each answered 4xx and ignored; the real callback signs in', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const login = await runCli(['login', server.url], sandbox.env({ OAUTH_BROWSER_FORGE: '1' }));
    assert.equal(login.code, 0, login.stderr);
    const [run] = await sandbox.browserRuns();
    assert.deepEqual(run?.forged, [400, 400, 400, 404, 400, 404]);
    assert.equal(run?.status, 200, 'the real callback, after the forged ones');
    assert.equal(server.authorizationServer.counters.tokens['authorization_code'], 1);
    assert.equal(server.authorizationServer.counters.refusedTokens['authorization_code'], undefined, 'the stolen code was never tried');
    assert.match(login.stderr, /ignored a request to the sign-in callback .*"state" this sign-in did not send/);
  });

  it('each sign-in listens on a fresh port; a fixed callback port (--oauth-callback-port) is kept, with the client registered for it', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const session = sessionFor(sandbox, server.url);
    await session.signIn();
    await session.signIn({ force: true });
    const portsOf = async () =>
      (await sandbox.browserRuns()).map((run) => new URL(new URL(run.opened).searchParams.get('redirect_uri') ?? '').port);
    const [first, second] = await portsOf();
    assert.notEqual(first, second, 'a port that changes with every sign-in');

    const pinned = await oauthSandbox(t);
    const fixed = await freePort();
    const pinnedSession = sessionFor(pinned, server.url, { callbackPort: fixed });
    await pinnedSession.signIn();
    await pinnedSession.signIn({ force: true });
    const pinnedPorts = (await pinned.browserRuns()).map((run) => new URL(new URL(run.opened).searchParams.get('redirect_uri') ?? '').port);
    assert.deepEqual(pinnedPorts, [String(fixed), String(fixed)]);
    assert.equal(server.authorizationServer.counters.registrations, 3, 'two for the fresh ports, one for the fixed port');
  });
});

describe('the store directory, as ssh treats ~/.ssh', { skip: !POSIX }, () => {
  /** A sandbox whose store directory exists already, with `mode`; the servers. */
  async function storeWithMode(t: TestContext, mode: number) {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const dir = `${sandbox.configDir}/oauth/v1`;
    await mkdir(dir, { recursive: true });
    await chmod(dir, mode);
    return { sandbox, server, dir };
  }

  it('readable by others (0755): set to 0700 and said so; a store file readable by others is set to 0600', async (t) => {
    const { sandbox, server, dir } = await storeWithMode(t, 0o755);
    const login = await runCli(['login', server.url], sandbox.env());
    assert.equal(login.code, 0, login.stderr);
    assert.equal(await modeOf(dir), 0o700);
    assert.match(
      login.stderr,
      new RegExp(`the sign-in store ${escapeRegExp(dir)} was readable by other users \\(mode 0755\\); its mode is now 0700`),
    );
    const file = createOAuthStore(dir).fileOf(server.url);
    await chmod(file, 0o644);
    assert.equal((await runCli(['status', server.url], sandbox.env())).code, 0);
    assert.equal(await modeOf(file), 0o600);
  });

  it('writable by others (0777): refused with how to fix it; nothing read, written or sent', async (t) => {
    const { sandbox, server, dir } = await storeWithMode(t, 0o777);
    const fix = new RegExp(
      `the sign-in store ${escapeRegExp(dir)} is writable by other users \\(mode 0777\\).*then run: chmod 700 '${escapeRegExp(dir)}'`,
    );
    await assert.rejects(sessionFor(sandbox, server.url).signIn(), { code: 'STORE_INSECURE', message: fix });
    const status = await runCli(['status'], sandbox.env());
    assert.equal(status.code, 2);
    assert.match(status.stderr, fix);
    assert.equal(await modeOf(dir), 0o777, 'not changed behind the user');
    assert.equal((await sandbox.browserRuns()).length, 0);
    assert.equal(server.authorizationServer.counters.registrations, 0);
  });
});

describe('what a hostile authorization server puts in its answers', () => {
  it('an access token a header cannot carry is refused when it is issued, not on every later request', async (t) => {
    const sandbox = await oauthSandbox(t);
    const crlf = await selfServed(t, () => ({
      '/token': { json: { access_token: 'abc\r\nx-injected: 1', token_type: 'Bearer' } },
    }));
    await assert.rejects(sessionFor(sandbox, crlf.url, { flow: 'client-credentials', clientInformation: MACHINE }).signIn(), {
      code: 'SIGN_IN_FAILED',
      message: /unusable access_token/,
    });
  });

  it('an expires_in of -5 or 1e300 is not believed: no refresh per request, no date out of range', async (t) => {
    const sandbox = await oauthSandbox(t);
    for (const expiresIn of [-5, 1e300]) {
      const odd = await selfServed(t, () => ({
        '/token': { json: { access_token: 'odd', refresh_token: 'r', token_type: 'Bearer', expires_in: expiresIn } },
      }));
      const session = sessionFor(sandbox, odd.url, { flow: 'client-credentials', clientInformation: MACHINE });
      await session.signIn();
      for (let i = 0; i < 3; i += 1) assert.equal(await session.accessToken(), 'odd');
      assert.equal(odd.hits('/token'), 1, `expires_in ${expiresIn}: no refresh per request`);
      const tokens = Object.values((await storedRecord(sandbox, odd.url)).grants)[0]?.tokens;
      assert.ok(tokens?.expires_at === undefined || (Number.isFinite(tokens.expires_at) && tokens.expires_at < Date.now() + 3.2e11));
    }
  });

  it('a device polling interval of 1e7 s or 1 ms: polled within 1 to 60 s, and the sign-in still ends on time', async (t) => {
    const sandbox = await oauthSandbox(t);
    const pending: Route = (_request, response) => {
      response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"authorization_pending"}');
    };
    const runs = [1e7, 0.001].map(async (interval) => {
      const x = await selfServed(t, (origin) => ({
        '/device': { json: { device_code: 'd', user_code: 'ABCD', verification_uri: `${origin}/activate`, expires_in: 600, interval } },
        '/token': pending,
      }));
      const started = Date.now();
      await assert.rejects(sessionFor(sandbox, x.url, { flow: 'device', signInTimeoutMs: 1500 }).signIn(), { code: 'SIGN_IN_TIMEOUT' });
      assert.ok(Date.now() - started < 5000, `interval ${interval}: ended on time`);
      assert.ok(x.hits('/token') <= 2, `interval ${interval}: ${x.hits('/token')} polls in 1.5 s`);
    });
    await Promise.all(runs);
  });

  it('redirects to another origin are not followed (metadata, device endpoint); a resource_metadata elsewhere must name this server', async (t) => {
    const sandbox = await oauthSandbox(t);
    const elsewhere = await hostileServer(t, {
      routes: (origin) => ({ '/prm': { json: { resource: `${origin}/mcp`, authorization_servers: [origin] } } }),
    });
    const x = await selfServed(t, () => ({
      '/.well-known/oauth-protected-resource/mcp': { redirect: `${elsewhere.origin}/prm` },
      '/device': { redirect: `${elsewhere.origin}/device` },
    }));
    await assert.rejects(sessionFor(sandbox, x.url, { flow: 'device' }).signIn(), { message: /device authorization refused .*HTTP 307/ });
    assert.deepEqual(elsewhere.requests, [], 'nothing reached the other origin');

    const pointed = await hostileServer(t, { routes: () => ({}), challenge: () => `Bearer resource_metadata="${elsewhere.origin}/prm"` });
    const login = await runCli(['login', pointed.url, '--no-browser'], sandbox.env());
    assert.equal(login.code, 2);
    assert.match(login.stderr, new RegExp(`names another resource, "${escapeRegExp(elsewhere.origin)}/mcp"`));
  });

  it("the sign-in challenge request follows no redirect to another origin: probe's --header values stay with the server", async (t) => {
    const sandbox = await oauthSandbox(t);
    const elsewhere = await hostileServer(t, { routes: () => ({}) });
    const x = await hostileServer(t, { routes: () => ({ '/mcp': { redirect: `${elsewhere.origin}/mcp` } }) });
    // A sign-in stored for X: the probe asks X how it signs in before anything else.
    await createOAuthStore(`${sandbox.configDir}/oauth/v1`).write({
      layout: 1,
      serverUrl: x.url,
      grants: {
        [`${x.origin} ${x.url}`]: {
          issuer: x.origin,
          resource: x.url,
          tokens: { access_token: 'a', token_type: 'Bearer', obtained_at: 0 },
        },
      },
    });
    await runCli(['probe', x.url, '--header', 'X-Api-Key: probe-secret', '--json'], sandbox.env());
    assert.ok(x.hits('/mcp') > 0);
    assert.deepEqual(elsewhere.requests, [], 'the API key never reached the other origin');
  });

  it('terminal escapes and megabytes of error text: shortened and stripped before they reach a message', async (t) => {
    const sandbox = await oauthSandbox(t);
    const x = await selfServed(t, () => ({
      '/token': {
        json: { error: 'invalid_request\u001b[2J', error_description: `\u001b]0;owned\u0007\u202e${'x'.repeat(5000)}` },
        status: 400,
      },
    }));
    const error = await sessionFor(sandbox, x.url, { flow: 'client-credentials', clientInformation: MACHINE })
      .signIn()
      .then(
        () => undefined,
        (failure: Error) => failure,
      );
    assert.ok(error);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may remain
    assert.doesNotMatch(error.message, /[\u0000-\u001f\u007f-\u009f\u202e]/);
    assert.ok(error.message.length < 600, `${error.message.length} characters`);
  });
});
