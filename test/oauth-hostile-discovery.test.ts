// Sign-in against hostile servers (issue 16), the discovery half: a server whose metadata names
// another server's resource (every flow, and a sign-in stored by an older version), authorization
// URLs of other schemes, cleartext endpoints outside loopback, and documents of any size, streamed
// by a fixture that never allocates them. The real oidc-provider plays the well-behaved server
// whose tokens must not leak; test/fixtures/hostile-oauth-server.ts plays the hostile one.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it, type TestContext } from 'node:test';
import { createOAuthStore, type OAuthSessionOptions, openBrowser } from '../src/auth/index.js';
import { authorizationServerRoutes, type Route, resourceMetadataRoute } from './fixtures/hostile-oauth-server.js';
import { INITIALIZE, spawnCli } from './helpers/bridge.js';
import { escapeRegExp, hostileServer as hostile, MACHINE, selfServed, sessionFor } from './helpers/hostile-oauth.js';
import { oauthSandbox, runCli, servers, storedRecord } from './helpers/oauth.js';

const FLOWS = ['browser', 'device', 'client-credentials'] as const;

describe('a server whose protected-resource metadata names another server (RFC 9728 §3.3, RFC 8707)', () => {
  /** Y: a real server and authorization server; X: a hostile server that names Y as its resource. */
  async function world(t: TestContext) {
    const sandbox = await oauthSandbox(t);
    const y = await servers(t, { machineClient: { id: MACHINE.client_id, secret: MACHINE.client_secret } });
    const x = await hostile(t, { routes: () => resourceMetadataRoute(y.url, y.authorizationServer.issuer) });
    return { sandbox, x, y };
  }

  it('login --device to X: refused before the authorization server is asked anything', async (t) => {
    const { sandbox, x, y } = await world(t);
    const login = await runCli(['login', x.url, '--device', '--no-browser', '--oauth-timeout', '5'], sandbox.env());
    assert.equal(login.code, 2, login.stderr);
    assert.match(login.stderr, new RegExp(`names another resource, "${y.url}".*refusing to sign in`));
    assert.equal(y.authorizationServer.counters.deviceAuthorizations, 0, 'no device code asked for Y');
    assert.equal(y.authorizationServer.counters.registrations, 0);
  });

  for (const flow of FLOWS) {
    it(`${flow}: the same RESOURCE_MISMATCH, nothing sent to the authorization server, no browser`, async (t) => {
      const { sandbox, x, y } = await world(t);
      const session = sessionFor(sandbox, x.url, { flow, ...(flow === 'client-credentials' ? { clientInformation: MACHINE } : {}) });
      await assert.rejects(session.signIn(), { code: 'RESOURCE_MISMATCH', message: /names another resource/ });
      const counters = y.authorizationServer.counters;
      assert.deepEqual([counters.registrations, counters.deviceAuthorizations, counters.tokens], [0, 0, {}]);
      assert.equal((await sandbox.browserRuns()).length, 0);
    });
  }

  it('a stored sign-in for X holding a token for Y (as an older version stored it): never sent to X, never refreshed', async (t) => {
    const { sandbox, x, y } = await world(t);
    // Y's real sign-in, copied under X's name: what the device flow used to store for X.
    await sessionFor(sandbox, y.url).signIn();
    const stolen = await storedRecord(sandbox, y.url);
    const tokens = Object.values(stolen.grants)[0]?.tokens;
    assert.ok(tokens?.refresh_token);
    await createOAuthStore(`${sandbox.configDir}/oauth/v1`).write({ ...stolen, serverUrl: x.url });

    const session = sessionFor(sandbox, x.url);
    assert.equal(await session.accessToken(), undefined, 'the token for Y is not handed out for X');
    await assert.rejects(session.renew({ rejected: tokens.access_token, interactive: false }), { code: 'SIGN_IN_REQUIRED' });
    assert.equal(y.authorizationServer.counters.tokens['refresh_token'], undefined, 'never refreshed');
    assert.match(JSON.stringify(session.events), /stored-sign-in-refused.*names another resource/);

    // The bridge, started on X with that store: X never sees Y's token.
    const cli = spawnCli([x.url], sandbox.env());
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    const answer = await cli.waitForMessage((message) => message['id'] === 1, 20_000);
    assert.match(JSON.stringify(answer['error']), /names another resource/);
    const sent = x.requests.map((request) => request.headers.authorization).filter((value) => value !== undefined);
    assert.deepEqual(sent, [], 'no Authorization header reached X');
    assert.match(cli.stderr(), /the stored sign-in is not used/);
  });
});

describe('authorization URLs: https only (http on loopback), one argument, no shell', () => {
  for (const endpoint of ['file:///etc/passwd', 'smb://attacker.example/share', 'x-custom-scheme://open/calc']) {
    it(`authorization_endpoint ${endpoint}: refused naming its scheme; no browser, no registration`, async (t) => {
      const sandbox = await oauthSandbox(t);
      const x = await selfServed(t, (origin) => ({
        '/.well-known/oauth-authorization-server': {
          json: { ...metadataOf(authorizationServerRoutes(origin)), authorization_endpoint: endpoint },
        },
      }));
      const scheme = new URL(endpoint).protocol;
      await assert.rejects(sessionFor(sandbox, x.url).signIn(), {
        code: 'INSECURE_ENDPOINT',
        message: new RegExp(`authorization_endpoint ${escapeRegExp(endpoint)}.*this one is ${scheme}`),
      });
      assert.equal((await sandbox.browserRuns()).length, 0);
      assert.equal(x.hits('/register'), 0);
    });
  }

  it('openBrowser itself refuses any other scheme, and cleartext http beyond loopback, before starting anything', async (t) => {
    const sandbox = await oauthSandbox(t);
    const env = { ...process.env, ...sandbox.env() };
    for (const [url, scheme] of [
      ['file:///etc/passwd', 'file:'],
      ['javascript:alert(1)', 'javascript:'],
      ['ms-settings:privacy', 'ms-settings:'],
      ['http://auth.example.com/authorize', 'http: on auth.example.com'],
    ] as const) {
      await assert.rejects(openBrowser(url, env), { code: 'INSECURE_ENDPOINT', message: new RegExp(`this one is ${scheme}`) });
    }
    await assert.rejects(openBrowser('https://a"b.example.com/', env), { code: 'INSECURE_ENDPOINT', message: /quote/ });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await sandbox.browserRuns()).length, 0);
  });
});

describe('cleartext endpoints beyond loopback are refused before any request is made', () => {
  const endpoints = [
    'authorization_endpoint',
    'token_endpoint',
    'registration_endpoint',
    'revocation_endpoint',
    'device_authorization_endpoint',
  ];
  for (const name of endpoints) {
    it(`${name} on http://auth.example.com: INSECURE_ENDPOINT naming it; nothing posted, no browser`, async (t) => {
      const sandbox = await oauthSandbox(t);
      const insecure = `http://auth.example.com/${name}`;
      const x = await selfServed(t, (origin) => ({
        '/.well-known/oauth-authorization-server': { json: { ...metadataOf(authorizationServerRoutes(origin)), [name]: insecure } },
      }));
      const flow = name === 'device_authorization_endpoint' ? 'device' : 'browser';
      await assert.rejects(sessionFor(sandbox, x.url, { flow }).signIn(), {
        code: 'INSECURE_ENDPOINT',
        message: new RegExp(`refusing the ${name} ${escapeRegExp(insecure)}: .*this one is http: on auth\\.example\\.com`),
      });
      assert.deepEqual(
        x.requests.filter((request) => request.method !== 'GET'),
        [],
        'no registration, token or device request',
      );
      assert.equal((await sandbox.browserRuns()).length, 0);
    });
  }

  it('an authorization server, or a resource_metadata URL, on cleartext http beyond loopback: refused before it is fetched', async (t) => {
    const sandbox = await oauthSandbox(t);
    const named = await hostile(t, { routes: (origin) => resourceMetadataRoute(`${origin}/mcp`, 'http://auth.example.com') });
    await assert.rejects(sessionFor(sandbox, named.url).signIn(), {
      code: 'INSECURE_ENDPOINT',
      message: /refusing the authorization server http:\/\/auth\.example\.com\/?: /,
    });
    const pointed = await hostile(t, { routes: () => ({}), challenge: () => 'Bearer resource_metadata="http://auth.example.com/prm"' });
    const login = await runCli(['login', pointed.url, '--no-browser'], sandbox.env());
    assert.equal(login.code, 2, login.stderr);
    assert.match(login.stderr, /refusing the protected-resource metadata URL http:\/\/auth\.example\.com\/prm: /);
  });
});

describe('a remote server may not aim sign-in requests at this machine', () => {
  it('a resource_metadata URL on 127.0.0.1 from a server elsewhere: refused before it is fetched', async (t) => {
    const sandbox = await oauthSandbox(t);
    const local = await selfServed(t);
    // Never contacted: the refusal comes before any request.
    const remote = 'https://mcp.example.com/mcp';
    const challenge = { resourceMetadataUrl: new URL(`${local.origin}/.well-known/oauth-protected-resource/mcp`) };
    await assert.rejects(sessionFor(sandbox, remote).signIn({ challenge }), {
      code: 'INSECURE_ENDPOINT',
      message: new RegExp(
        `refusing the protected-resource metadata URL ${escapeRegExp(local.origin)}/.*: it is on this machine, but the MCP server ${escapeRegExp(remote)} is not`,
      ),
    });
    assert.deepEqual(local.requests, []);
  });
});

describe('every sign-in document has a size bound (1 MiB by default); memory stays flat', () => {
  const MB = 1024 * 1024;

  for (const [document, path] of [
    ['protected-resource metadata', '/.well-known/oauth-protected-resource/mcp'],
    ['authorization server metadata', '/.well-known/oauth-authorization-server'],
  ] as const) {
    it(`a 200 MB ${document}: the bridge answers with an error naming the URL and the bound, and stays small`, async (t) => {
      const sandbox = await oauthSandbox(t);
      const x = await selfServed(t, (origin) => {
        const routes = { ...resourceMetadataRoute(`${origin}/mcp`, origin), ...authorizationServerRoutes(origin) };
        return { [path]: { json: (routes[path] as { json: unknown }).json, pad: 200 * MB } };
      });
      const cli = spawnCli([x.url], sandbox.env());
      t.after(() => cli.stop());
      cli.send(INITIALIZE);
      const answer = await cli.waitForMessage((message) => message['id'] === 1, 60_000);
      assert.match(JSON.stringify(answer['error']), new RegExp(`${escapeRegExp(x.origin + path)} is larger than 1048576 bytes`));
      const streamed = x.streamed.get(path) ?? 0;
      assert.ok(streamed < 32 * MB, `the bridge stopped reading early: ${streamed} bytes sent`);
      const peak = await peakRssMb(cli.child.pid);
      if (peak !== undefined) assert.ok(peak < 160, `the bridge's peak RSS is ${peak} MB`);
      cli.send(INITIALIZE.replace('"id":1', '"id":2'));
      assert.ok(await cli.waitForMessage((message) => message['id'] === 2, 20_000), 'the bridge still answers');
    });
  }

  it('OpenID discovery, registration, token, device and revocation answers: refused over the bound, naming the URL', async (t) => {
    const sandbox = await oauthSandbox(t);
    const cases: [string, (origin: string, routes: Record<string, Route>) => Record<string, Route>, Partial<OAuthSessionOptions>][] = [
      [
        '/.well-known/openid-configuration',
        (_origin, routes) => ({
          '/.well-known/oauth-authorization-server': { json: {}, status: 404 },
          '/.well-known/openid-configuration': { json: metadataOf(routes), pad: 2 * MB },
        }),
        {},
      ],
      ['/register', () => ({ '/register': { json: { client_id: 'c', redirect_uris: [] }, pad: 2 * MB } }), {}],
      [
        '/token',
        () => ({ '/token': { json: { access_token: 'a', token_type: 'Bearer' }, pad: 2 * MB } }),
        { clientInformation: MACHINE, flow: 'client-credentials' },
      ],
      [
        '/device',
        () => ({ '/device': { json: { device_code: 'd', user_code: 'U', verification_uri: 'https://example.com/' }, pad: 2 * MB } }),
        { flow: 'device' },
      ],
    ];
    for (const [path, spoil, options] of cases) {
      const x = await selfServed(t, (origin) => spoil(origin, authorizationServerRoutes(origin)));
      await assert.rejects(
        sessionFor(sandbox, x.url, options).signIn(),
        {
          code: 'DOCUMENT_TOO_LARGE',
          message: new RegExp(`the answer of ${escapeRegExp(x.origin + path)} is larger than 1048576 bytes`),
        },
        path,
      );
    }
    // Revocation: logout still deletes, and says why the token was not revoked.
    const x = await selfServed(t, () => ({ '/revoke': { json: {}, pad: 2 * MB } }));
    const session = sessionFor(sandbox, x.url, { clientInformation: MACHINE, flow: 'client-credentials' });
    await session.signIn();
    const out = await session.signOut();
    assert.equal(out.removed, true);
    assert.match(
      out.notRevoked.join('\n'),
      new RegExp(`access token: the answer of ${escapeRegExp(`${x.origin}/revoke`)} is larger than 1048576 bytes`),
    );
  });
});

/** The metadata document among a server's routes. */
function metadataOf(routes: Record<string, Route>): Record<string, unknown> {
  return (routes['/.well-known/oauth-authorization-server'] as { json: Record<string, unknown> }).json;
}

/** The process's peak resident memory (VmHWM), in MB; undefined where /proc is not there. */
async function peakRssMb(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
}
