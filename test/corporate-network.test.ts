// Behind a company's network (issue 19): the bridge reaches servers through a real forward proxy
// (CONNECT for https://, absolute-form requests for http://) as curl and npm do, honouring
// HTTPS_PROXY, HTTP_PROXY and NO_PROXY, --proxy off and --proxy URL; and through a proxy that
// inspects TLS with a CA made here with openssl, trusted by --ca-file or NODE_EXTRA_CA_CERTS. The
// proxies' own logs prove the way each request took; the servers' counters that each call ran once.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { describe, it } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { startInterceptingProxy } from './fixtures/corporate-network.js';
import { startModernServer } from './fixtures/modern-server.js';
import { startSseServer } from './fixtures/sse-server.js';
import { INITIALIZE, spawnCli } from './helpers/bridge.js';
import { forwardProxy, httpsServer, NO_PROXY_ENV } from './helpers/corporate.js';
import { call, oauthSandbox, runCli, servers, startHost } from './helpers/oauth.js';
import { makeTestCa } from './helpers/test-ca.js';

describe('proxies: the bridge', () => {
  it('https:// through HTTPS_PROXY (CONNECT), the proxy credentials sent and never logged; --ca-file trusts the server CA', async (t) => {
    const serverCa = makeTestCa(t, 'server');
    const { server, url, host } = await httpsServer(t, serverCa);
    const proxy = await forwardProxy(t, { credentials: { user: 'alice', password: 'pr0xy-s3cret' } });
    const bridge = await startHost(t, url, { ...NO_PROXY_ENV, HTTPS_PROXY: proxy.url }, ['--ca-file', serverCa.certPath]);
    assert.equal(await call(bridge), '1');
    assert.equal(server.counters.rpcMethods['tools/call'], 1, 'the call ran once');
    assert.ok(proxy.log.tunnels.includes(host), `CONNECT ${host}: ${JSON.stringify(proxy.log)}`);
    assert.equal(proxy.log.refused, 0, 'the credentials in the URL went to the proxy');
    const port = new URL(proxy.url).port;
    assert.match(bridge.stderr(), new RegExp(`network httpsProxy="http://127.0.0.1:${port} \\(HTTPS_PROXY, credentials not shown\\)"`));
    assert.ok(!bridge.stderr().includes('pr0xy-s3cret') && !bridge.stderr().includes('alice'), bridge.stderr());
  });

  it('every era over http:// through HTTP_PROXY: 2025 Streamable HTTP, 2024-11-05 HTTP+SSE, 2026-07-28', async (t) => {
    const proxy = await forwardProxy(t);
    const modern = await startModernServer();
    t.after(() => modern.close());
    const sse = await startSseServer();
    t.after(() => sse.close());
    const dialect = await startDialectServer();
    t.after(() => dialect.close());
    const eras = [
      { url: dialect.url, flags: ['--protocol', '2025'], ran: () => dialect.counters.rpcMethods['tools/call'] },
      { url: sse.url, flags: ['--transport', 'sse'], ran: () => sse.counters.executions },
      { url: modern.url, flags: ['--protocol', '2026'], ran: () => modern.counters.runs.get('increment:') },
    ];
    for (const era of eras) {
      const before = proxy.log.requests.length;
      const bridge = await startHost(t, era.url, { ...NO_PROXY_ENV, HTTP_PROXY: proxy.url }, era.flags);
      assert.equal(await call(bridge), '1', era.url);
      assert.equal(era.ran(), 1, `${era.url}: the call ran once`);
      const seen = proxy.log.requests.slice(before);
      assert.ok(
        seen.some((request) => request.startsWith(`POST ${new URL(era.url).origin}/`)),
        `${era.url} through the proxy: ${seen.join(', ')}`,
      );
      await bridge.client.close();
    }
    assert.equal(proxy.log.tunnels.length, 0, 'http:// is sent as curl sends it, not tunnelled');
  });

  it('NO_PROXY and --proxy off go straight to the server; --proxy URL takes every request without the environment', async (t) => {
    const serverCa = makeTestCa(t, 'server');
    const { server, url, host } = await httpsServer(t, serverCa);
    const proxy = await forwardProxy(t);
    const trust = ['--ca-file', serverCa.certPath];

    const exempt = await startHost(t, url, { ...NO_PROXY_ENV, HTTPS_PROXY: proxy.url, NO_PROXY: 'example.com,127.0.0.1' }, trust);
    assert.equal(await call(exempt), '1');
    await exempt.client.close();
    const off = await startHost(t, url, { ...NO_PROXY_ENV, HTTPS_PROXY: proxy.url }, [...trust, '--proxy', 'off']);
    assert.equal(await call(off), '2');
    await off.client.close();
    assert.equal(proxy.log.tunnels.length, 0, 'nothing went through the proxy');
    assert.doesNotMatch(off.stderr(), /Proxy=/, 'no proxy named');

    const named = await startHost(t, url, NO_PROXY_ENV, [...trust, '--proxy', proxy.url]);
    assert.equal(await call(named), '3');
    assert.ok(proxy.log.tunnels.includes(host), JSON.stringify(proxy.log));
    assert.match(named.stderr(), /network httpsProxy="http:\/\/127\.0\.0\.1:\d+ \(--proxy\)"/);
    assert.equal(server.counters.rpcMethods['tools/call'], 3, 'each call ran once');
  });

  it("the bridge's first sign-in, in a process of its own, reaches the authorization server through --proxy URL too", async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const { issuer } = server.authorizationServer;
    const proxy = await forwardProxy(t);
    // The proxy given as a flag, not in the environment: the background sign-in gets it from the bridge.
    const bridge = await startHost(t, server.url, { ...sandbox.env(), ...NO_PROXY_ENV }, ['--proxy', proxy.url]);
    assert.equal(await call(bridge), '1');
    assert.match(bridge.stderr(), /signing in to .* in a process of its own/);
    const through = (method: string, path: string) => proxy.log.requests.filter((request) => request === `${method} ${issuer}${path}`);
    assert.equal(through('POST', '/token').length, 1, proxy.log.requests.join('\n'));
    assert.equal(through('POST', '/reg').length, 1, 'the registration too');
    assert.ok(
      proxy.log.requests.some((request) => request.startsWith(`GET ${issuer}/.well-known/`)),
      'the discovery too',
    );
    assert.equal(server.authorizationServer.counters.authorizations, 1);
  });

  it('a proxy that wants credentials, or that is not there: the error names the proxy (never its password) and what to do', async (t) => {
    const serverCa = makeTestCa(t, 'server');
    const { url, host, server } = await httpsServer(t, serverCa);
    const proxy = await forwardProxy(t, { credentials: { user: 'bob', password: 'right-one' } });
    const port = new URL(proxy.url).port;
    const ask = async (env: Record<string, string>) => {
      const cli = spawnCli([url, '--ca-file', serverCa.certPath], { ...NO_PROXY_ENV, ...env });
      t.after(() => cli.stop());
      cli.send(INITIALIZE);
      return JSON.stringify((await cli.waitForMessage((message) => message['id'] === 1))['error']);
    };
    const none = await ask({ HTTPS_PROXY: `http://127.0.0.1:${port}` });
    assert.match(
      none,
      new RegExp(
        `the proxy http://127\\.0\\.0\\.1:${port} \\(HTTPS_PROXY\\) refused to carry the request to ${host.replaceAll('.', '\\.')}: HTTP 407: it wants credentials`,
      ),
    );
    const wrong = await ask({ HTTPS_PROXY: `http://bob:wrong-one@127.0.0.1:${port}` });
    assert.match(wrong, /HTTP 407: it did not accept the credentials in its URL \(HTTPS_PROXY\)/);
    assert.ok(!wrong.includes('wrong-one'));
    assert.equal(proxy.log.refused, 2);
    await proxy.close();
    const gone = await ask({ HTTPS_PROXY: `http://127.0.0.1:${port}` });
    assert.match(
      gone,
      new RegExp(
        `cannot reach the proxy http://127\\.0\\.0\\.1:${port} \\(HTTPS_PROXY\\): connection refused.*add it to NO_PROXY, or pass --proxy off`,
      ),
    );
    assert.equal(server.counters.httpRequests['POST'] ?? 0, 0, 'nothing reached the server');
  });

  it('a proxy variable that holds no proxy URL: exit 2 naming it, before any request; --proxy off ignores it', async () => {
    const refused = await runCli(['https://127.0.0.1:9/mcp'], { ...NO_PROXY_ENV, HTTPS_PROXY: 'socks5://127.0.0.1:1080' });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /HTTPS_PROXY: only http:\/\/ and https:\/\/ proxies are supported, not socks5:\/\/ \(--proxy off ignores/);
    const unreadable = await runCli(['https://127.0.0.1:9/mcp', '--ca-file', '/nonexistent/ca.pem'], NO_PROXY_ENV);
    assert.equal(unreadable.code, 2);
    assert.match(unreadable.stderr, /--ca-file \/nonexistent\/ca\.pem: cannot read it \(ENOENT\)/);
  });
});

describe('TLS interception by a CA of the test’s own', () => {
  async function intercepted(t: TestContext) {
    const serverCa = makeTestCa(t, 'server');
    const companyCa = makeTestCa(t, 'company');
    const target = await httpsServer(t, serverCa);
    const proxy = await startInterceptingProxy({ certificate: companyCa.issue('inspection'), serverCa: serverCa.certPem });
    t.after(() => proxy.close());
    return { ...target, companyCa, proxy };
  }

  it('not trusted: the error names the host and --ca-file or NODE_EXTRA_CA_CERTS, and never suggests turning verification off', async (t) => {
    const { url, host, proxy, server } = await intercepted(t);
    const cli = spawnCli([url], { ...NO_PROXY_ENV, HTTPS_PROXY: proxy.url });
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    const answer = await cli.waitForMessage((message) => message['id'] === 1);
    const said = JSON.stringify(answer['error']);
    assert.match(said, new RegExp(`the certificate of ${host.replaceAll('.', '\\.')} is not signed by a CA this machine trusts`));
    assert.match(said, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
    assert.match(said, /--ca-file PATH for this command, or NODE_EXTRA_CA_CERTS=PATH/);
    assert.doesNotMatch(`${said}${cli.stderr()}`, /REJECT_UNAUTHORIZED|rejectUnauthorized|insecure|--no-verify/i);
    assert.deepEqual(proxy.log.tunnels, [host]);
    assert.equal(server.counters.httpRequests['POST'] ?? 0, 0, 'nothing reached the server');
  });

  it("no proxy and no --ca-file (Node's own HTTP client): a server with a private CA is still named, with --ca-file as the fix", async (t) => {
    const serverCa = makeTestCa(t, 'server');
    const { url, host, server } = await httpsServer(t, serverCa);
    const cli = spawnCli([url], NO_PROXY_ENV);
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    const answer = await cli.waitForMessage((message) => message['id'] === 1);
    const said = JSON.stringify(answer['error']);
    assert.match(said, new RegExp(`the certificate of ${host.replaceAll('.', '\\.')} is not signed by a CA this machine trusts`));
    assert.match(said, /--ca-file PATH for this command, or NODE_EXTRA_CA_CERTS=PATH/);
    assert.equal(server.counters.httpRequests['POST'] ?? 0, 0, 'nothing reached the server');
    // Trusted, the same bridge setup reaches it.
    const bridge = await startHost(t, url, NO_PROXY_ENV, ['--ca-file', serverCa.certPath]);
    assert.equal(await call(bridge), '1');
  });

  it('trusted through NODE_EXTRA_CA_CERTS in the environment of the process', async (t) => {
    const { url, host, proxy, server, companyCa } = await intercepted(t);
    const bridge = await startHost(t, url, { ...NO_PROXY_ENV, HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: companyCa.certPath });
    assert.equal(await call(bridge), '1');
    assert.ok(proxy.log.intercepted.includes(host), JSON.stringify(proxy.log));
    assert.equal(server.counters.rpcMethods['tools/call'], 1);
  });

  it('trusted with --ca-file, for this command only; NODE_EXTRA_CA_CERTS still counts beside it', async (t) => {
    const { url, host, proxy, server, companyCa } = await intercepted(t);
    const bridge = await startHost(t, url, { ...NO_PROXY_ENV, HTTPS_PROXY: proxy.url }, ['--ca-file', companyCa.certPath]);
    assert.equal(await call(bridge), '1');
    assert.match(bridge.stderr(), /caFile=\S+ca\.pem/);
    const first = proxy.log.intercepted.length;
    assert.ok(first > 0 && proxy.log.intercepted.every((tunnel) => tunnel === host), JSON.stringify(proxy.log));
    // Another CA in --ca-file, the company's in NODE_EXTRA_CA_CERTS: the list --ca-file builds keeps Node's extra CAs.
    const other = makeTestCa(t, 'other');
    const both = await startHost(t, url, { ...NO_PROXY_ENV, HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: companyCa.certPath }, [
      '--ca-file',
      other.certPath,
    ]);
    assert.equal(await call(both), '2');
    assert.ok(proxy.log.intercepted.length > first, 'the second bridge went through the inspection too');
    assert.equal(server.counters.rpcMethods['tools/call'], 2);
  });
});
