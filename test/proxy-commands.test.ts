// Behind a company's network (issue 19), the commands besides the bridge: probe, login with its
// token refresh, device flow and logout (against the real oidc-provider), and serve's upstreams go
// through a real forward proxy (the npm `proxy` package), whose log proves the way each request took.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectClient, textOf } from './helpers/clients.js';
import { forwardProxy, httpsServer, NO_PROXY_ENV } from './helpers/corporate.js';
import { startServe, tempFile } from './helpers/gateway.js';
import { call, loginWithDevice, oauthSandbox, runCli, servers, startHost } from './helpers/oauth.js';
import { makeTestCa } from './helpers/test-ca.js';

describe('proxies: probe, sign-in and serve', () => {
  it('probe through HTTPS_PROXY, naming the proxy on stderr', async (t) => {
    const serverCa = makeTestCa(t, 'server');
    const { url, host, server } = await httpsServer(t, serverCa);
    const proxy = await forwardProxy(t);
    const probed = await runCli(['probe', url, '--ca-file', serverCa.certPath, '--no-color'], { ...NO_PROXY_ENV, HTTPS_PROXY: proxy.url });
    assert.equal(probed.code, 0, probed.stderr);
    assert.match(probed.stdout, /recognised/i);
    assert.match(
      probed.stderr,
      /mcp-lifeline probe: proxy http:\/\/127\.0\.0\.1:\d+ \(HTTPS_PROXY\) for https:\/\/ servers; the CAs in \S+ trusted/,
    );
    assert.ok(proxy.log.tunnels.includes(host) && proxy.log.tunnels.every((tunnel) => tunnel === host), JSON.stringify(proxy.log));
    assert.ok((server.counters.httpRequests['POST'] ?? 0) > 0);
  });

  it('login, token refresh and logout reach the real authorization server through HTTP_PROXY', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t, { accessTokenTtl: 2 });
    const { issuer } = server.authorizationServer;
    const proxy = await forwardProxy(t);
    const env = { ...sandbox.env(), ...NO_PROXY_ENV, HTTP_PROXY: proxy.url };
    const through = (method: string, path: string) =>
      proxy.log.requests.filter((request) => request === `${method} ${issuer}${path}`).length;

    const login = await runCli(['login', server.url], env);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /mcp-lifeline login: proxy http:\/\/127\.0\.0\.1:\d+ \(HTTP_PROXY\) for every server/);
    assert.equal(through('POST', '/token'), 1, proxy.log.requests.join('\n'));
    assert.ok(
      proxy.log.requests.some((request) => request.startsWith(`GET ${issuer}/.well-known/`)),
      'discovery too',
    );
    assert.ok(
      proxy.log.requests.some((request) => request.startsWith(`POST ${server.url}`)),
      'the challenge too',
    );

    await new Promise((resolve) => setTimeout(resolve, 2500));
    const bridge = await startHost(t, server.url, env);
    assert.equal(await call(bridge), '1');
    // A 2 s token may expire again while a loaded machine starts the bridge: count, do not assume one.
    const refreshes = server.authorizationServer.counters.tokens['refresh_token'] ?? 0;
    assert.ok(refreshes >= 1, 'the expired token was refreshed');
    assert.equal(through('POST', '/token'), 1 + refreshes, 'every refresh went through the proxy');
    await bridge.client.close();

    const logout = await runCli(['logout', server.url], env);
    assert.equal(logout.code, 0, logout.stderr);
    assert.equal(server.authorizationServer.counters.revocations, 2);
    assert.equal(through('POST', '/token/revocation'), 2, 'revocations went through the proxy');
  });

  it('login --device: the device flow reaches the authorization server through HTTP_PROXY', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const { issuer } = server.authorizationServer;
    const proxy = await forwardProxy(t);
    // The code is entered in a browser elsewhere: not a request of the CLI's, and not through its proxy.
    const login = await loginWithDevice(t, server.url, {
      cli: { ...sandbox.env(), ...NO_PROXY_ENV, HTTP_PROXY: proxy.url },
      browser: sandbox.env(),
    });
    assert.equal(login.code, 0, `${login.stderr}\nbrowser: ${login.browserLog}`);
    assert.equal(server.authorizationServer.counters.tokens['urn:ietf:params:oauth:grant-type:device_code'], 1);
    // oidc-provider's device authorization endpoint (RFC 8628 §3.1), as its metadata names it.
    assert.ok(proxy.log.requests.includes(`POST ${issuer}/device/auth`), proxy.log.requests.join('\n'));
    assert.ok(proxy.log.requests.includes(`POST ${issuer}/token`), 'the device-code polling went through the proxy');
  });

  it('serve: upstreams through HTTPS_PROXY; proxy: off in the config file goes straight', async (t) => {
    const serverCa = makeTestCa(t, 'server');
    const { url, host, server } = await httpsServer(t, serverCa);
    const proxy = await forwardProxy(t, { credentials: { user: 'gw', password: 'gateway-pr0xy' } });
    const env = { ...NO_PROXY_ENV, HTTPS_PROXY: proxy.url };

    const gateway = await startServe([url, '--name', 'tools', '--ca-file', serverCa.certPath], env);
    t.after(() => gateway.stop());
    const client = await connectClient('v1', `${gateway.origin}/tools/mcp`);
    t.after(() => client.close());
    assert.equal(textOf(await client.callTool('increment', { key: 'a' })), '1');
    assert.ok(proxy.log.tunnels.includes(host), JSON.stringify(proxy.log));
    assert.equal(proxy.log.refused, 0);
    assert.match(gateway.stderr(), /network httpsProxy="http:\/\/127\.0\.0\.1:\d+ \(HTTPS_PROXY, credentials not shown\)"/);
    assert.ok(!gateway.stderr().includes('gateway-pr0xy'));

    const config = tempFile('gateway.yaml', `proxy: "off"\ncaFile: ${serverCa.certPath}\nupstreams:\n  - name: direct\n    url: ${url}\n`);
    const direct = await startServe(['--config', config], env);
    t.after(() => direct.stop());
    const tunnels = proxy.log.tunnels.length;
    const straight = await connectClient('v1', `${direct.origin}/direct/mcp`);
    t.after(() => straight.close());
    assert.equal(textOf(await straight.callTool('increment', { key: 'b' })), '2');
    assert.equal(proxy.log.tunnels.length, tunnels, 'proxy: "off" bypassed it');
    assert.deepEqual(
      [...server.counters.executionsByKey.entries()],
      [
        ['a', 1],
        ['b', 1],
      ],
    );
  });
});
