// `mcp-lifeline serve` in one process: SDK v1 and v2 hosts (and mcp-remote, a real host CLI) talk
// to the gateway over Streamable HTTP; upstreams are server-everything (restarted in a child
// process) and the dialect server. Server-side counters prove that nothing ran twice.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { serveInProcess } from '../examples/serve-embedded.js';
import { startDialectServer } from '../src/demo/dialect-server.js';
import type { Dialect } from '../src/demo/dialects.js';
import { parseCallerTokens } from '../src/gateway/caller-credentials.js';
import { GatewayConfigError } from '../src/gateway/GatewayConfigError.js';
import { startGateway } from '../src/gateway/gateway.js';
import { startMcpHandlerServer } from './fixtures/web-handler-server.js';
import { connectClient, SDKS, textOf } from './helpers/clients.js';
import { gatewayFor, newKey } from './helpers/gateway.js';
import { answerOf, openRawSession } from './helpers/raw-session.js';
import { restartEverything, startEverything } from './helpers/server-everything.js';

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const MCP_REMOTE = fileURLToPath(new URL('../../node_modules/mcp-remote/dist/proxy.js', import.meta.url));
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('serve: recovery through the gateway', () => {
  it('server-everything restarted mid-session: SDK v1 and v2 hosts keep calling; one re-initialization each', async (t) => {
    const server = { current: await startEverything() };
    t.after(() => server.current.stop());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'everything', url: new URL(server.current.url) }] });
    const hosts = await Promise.all(SDKS.map((sdk) => connectClient(sdk, gateway.url)));
    t.after(() => Promise.all(hosts.map((host) => host.close())));
    for (const host of hosts)
      assert.equal(textOf(await host.callTool('echo', { message: `before ${host.sdk}` })), `Echo: before ${host.sdk}`);
    const idsBefore = hosts.map((host) => host.sessionId);

    server.current = await restartEverything(server.current);

    for (const host of hosts)
      assert.equal(textOf(await host.callTool('echo', { message: `after ${host.sdk}` })), `Echo: after ${host.sdk}`);
    // The host's session id is the gateway's own: it did not change.
    assert.deepEqual(
      hosts.map((host) => host.sessionId),
      idsBefore,
    );
    const metrics = await gateway.metrics.render();
    assert.match(metrics, /mcp_lifeline_recoveries_total\{upstream="everything"\} 2/);
    // Each host's call met the loss; a host's GET stream, re-opened while the server restarted,
    // waits for it (the restart window) and may meet the loss too, joining the same recovery.
    const losses = Number(/mcp_lifeline_session_losses_total\{upstream="everything",rule="jsonrpc-400"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(losses >= 2 && losses <= 4, `${losses} losses`);
  });

  const dialects: Dialect[] = ['spec-404', 'text-400', 'jsonrpc-400', 'missing-session-id-400', 'jsonrpc-200', 'sse-200'];
  for (const [index, dialect] of dialects.entries()) {
    const sdk = SDKS[index % 2] ?? 'v1';
    it(`${dialect} (SDK ${sdk} host): the call after the loss succeeds and ran once`, async (t) => {
      const server = await startDialectServer({ dialect });
      t.after(() => server.close());
      const gateway = await gatewayFor(t, { upstreams: [{ name: 'dialect', url: new URL(server.url) }] });
      const host = await connectClient(sdk, gateway.url);
      t.after(() => host.close());
      assert.equal(textOf(await host.callTool('increment', { key: 'a' })), '1');
      server.dropSessions();
      assert.equal(textOf(await host.callTool('increment', { key: 'b' })), '2');
      assert.deepEqual(Object.fromEntries(server.counters.executionsByKey), { a: 1, b: 1 });
      assert.equal(server.counters.initializations, 2);
    });
  }

  it('server-to-client requests and notifications flow through: sampling on a POST answer, resource updates on the GET stream', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'dialect', url: new URL(server.url) }] });
    const client = new Client({ name: 'sampling-host', version: '1' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, () => ({
      model: 'm',
      role: 'assistant',
      content: { type: 'text', text: 'sampled by the host' },
    }));
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updates.push(notification.params.uri);
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url)));
    t.after(() => client.close());
    const sampled = await client.callTool({ name: 'ask_client', arguments: { prompt: 'hi' } });
    assert.equal(textOf(sampled), 'sampled by the host');

    await client.subscribeResource({ uri: 'lifeline://counter' });
    await waitFor(async () => (await server.notifySubscribers()) === 1 && updates.length > 0);
    assert.deepEqual(updates.slice(0, 1), ['lifeline://counter']);
  });

  it('a stateless upstream passes through: no session id is issued, nothing is stored', async (t) => {
    const server = await startDialectServer({ stateless: true });
    t.after(() => server.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'stateless', url: new URL(server.url) }] });
    const init = await fetch(gateway.url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(INITIALIZE) });
    assert.equal(init.status, 200);
    assert.equal(init.headers.get('mcp-session-id'), null);
    assert.equal(((await answerOf(init))['result'] as { serverInfo: { name: string } }).serverInfo.name, 'mcp-lifeline-dialect-server');
    const call = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'increment', arguments: { key: 'x' } } }),
    });
    assert.equal(textOf((await answerOf(call))['result']), '1');
    assert.deepEqual(await gateway.store.keys(), []);
  });

  for (const sdk of SDKS) {
    it(`a 2026-07-28 server (v2 SDK createMcpHandler), SDK ${sdk} host: its stateless requests pass through`, async (t) => {
      const http = await startMcpHandlerServer();
      t.after(() => http.close());
      const gateway = await gatewayFor(t, { upstreams: [{ name: 'modern', url: new URL(http.url) }] });
      const host = await connectClient(sdk, gateway.url);
      t.after(() => host.close());
      assert.equal(host.sessionId, undefined);
      assert.equal(textOf(await host.callTool('increment')), '1');
      assert.equal(textOf(await host.callTool('increment')), '2');
      assert.equal(http.executions(), 2);
      assert.deepEqual(await gateway.store.keys(), []);
    });
  }

  it('the gateway restarted with the same keys (its memory store emptied): the host session continues, one upstream initialization more', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const keys = [Buffer.from(newKey(), 'base64')];
    const upstreams = [{ name: 'dialect', url: new URL(server.url) }];
    const first = await startGateway({ port: 0, upstreams, sessionKeys: keys });
    const url = `${first.origin}/mcp`;
    const host = await connectClient('v2', url);
    t.after(() => host.close());
    assert.equal(textOf(await host.callTool('increment', { key: 'a' })), '1');
    await first.shutdown('restart');
    // A shutdown with a store nobody shares ends its upstream sessions.
    assert.equal(server.counters.deletes, 1);

    const second = await startGateway({ port: first.port, upstreams, sessionKeys: keys });
    t.after(() => second.shutdown('test over'));
    assert.equal(textOf(await host.callTool('increment', { key: 'b' })), '2');
    assert.equal(server.counters.initializations, 2);
    assert.deepEqual(Object.fromEntries(server.counters.executionsByKey), { a: 1, b: 1 });
    assert.match(await second.metrics.render(), /mcp_lifeline_sessions_total\{upstream="dialect",event="rebuilt"\} 1/);
  });

  it('DELETE ends the upstream session; the session id is refused afterwards', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'dialect', url: new URL(server.url) }] });
    const session = await openRawSession(fetch, gateway.url);
    const ended = await fetch(gateway.url, { method: 'DELETE', headers: { 'mcp-session-id': session.sessionId } });
    assert.equal(ended.status, 200);
    assert.equal(server.counters.deletes, 1);
    const after = await session.post({ jsonrpc: '2.0', id: 9, method: 'ping' });
    assert.equal(after.status, 404);
    assert.equal(((await after.json()) as { error: { code: number } }).error.code, -32001);
  });
});

describe('serve: session ids', () => {
  it('are opaque and bound to their caller and upstream: forged, altered, moved ids get 404 and never reach the upstream', async (t) => {
    const requests: string[] = [];
    const server = await startDialectServer({ onRequest: (req) => requests.push(req.method ?? '') });
    t.after(() => server.close());
    const callers = parseCallerTokens('alice alice-token-0123456789\nbob bob-token-0123456789', 'tokens');
    const gateway = await gatewayFor(t, {
      upstreams: [
        { name: 'one', url: new URL(server.url) },
        { name: 'two', url: new URL(server.url) },
      ],
      callers,
    });
    const alice = { authorization: 'Bearer alice-token-0123456789' };
    const bob = { authorization: 'Bearer bob-token-0123456789' };
    const session = await openRawSession(fetch, `${gateway.origin}/one/mcp`, alice);
    assert.ok(!session.sessionId.includes(server.sessions()[0]?.id ?? 'none'), 'the upstream session id does not show');
    assert.equal((await session.request('tools/call', { name: 'echo', arguments: { text: 'ok' } }))['result'] !== undefined, true);
    const seen = requests.length;

    const ping = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' });
    const tries: [string, Record<string, string>, string][] = [
      ['bob uses alice’s id', { ...bob, 'mcp-session-id': session.sessionId }, '/one/mcp'],
      ['alice uses it on another upstream', { ...alice, 'mcp-session-id': session.sessionId }, '/two/mcp'],
      ['an altered id', { ...alice, 'mcp-session-id': `${session.sessionId.slice(0, -4)}AAAA` }, '/one/mcp'],
      ['a forged id', { ...alice, 'mcp-session-id': 'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, '/one/mcp'],
    ];
    for (const [what, headers, path] of tries) {
      const response = await fetch(`${gateway.origin}${path}`, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: ping });
      assert.equal(response.status, 404, what);
    }
    assert.equal(requests.length, seen, 'none of them reached the upstream');
  });
});

describe('serve: security and limits', () => {
  it('rejects a foreign Host or Origin (DNS rebinding), a missing or wrong credential, and a too-large body', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const callers = parseCallerTokens('ci-token-0123456789abcdef', 'tokens');
    const gateway = await gatewayFor(t, {
      upstreams: [{ name: 'dialect', url: new URL(server.url) }],
      callers,
      limits: { maxBodyBytes: 1024 },
      bodyTimeoutMs: 300,
    });
    const good = { ...JSON_HEADERS, authorization: 'Bearer ci-token-0123456789abcdef' };
    const post = (headers: Record<string, string>, body = JSON.stringify(INITIALIZE)) =>
      rawPost(gateway.url, headers, body).then((response) => response.status);
    assert.equal(await post({ ...good, host: 'evil.example.com' }), 403);
    assert.equal(await post({ ...good, origin: 'http://evil.example.com' }), 403);
    assert.equal(await post(JSON_HEADERS), 401);
    assert.equal(await post({ ...JSON_HEADERS, authorization: 'Bearer wrong-token-0123456789' }), 401);
    assert.equal(await post(good, JSON.stringify({ ...INITIALIZE, pad: 'x'.repeat(2000) })), 413);
    assert.equal(server.counters.initializations, 0);
    assert.equal(await post({ ...good, origin: new URL(gateway.url).origin }), 200);
    // A body that never finishes arriving is not waited for forever (bounded; the client is cut off).
    assert.equal(await trickle(gateway.url, good), 'closed');
    const metrics = await gateway.metrics.render();
    for (const reason of ['host', 'origin', 'credential', 'body-size'])
      assert.match(metrics, new RegExp(`mcp_lifeline_refused_total\\{reason="${reason}"\\} [12]`));
  });

  it('refuses to listen beyond loopback without a client credential', async () => {
    await assert.rejects(
      startGateway({ host: '0.0.0.0', port: 0, upstreams: [{ name: 'x', url: new URL('http://127.0.0.1:9/mcp') }] }),
      (error) => {
        assert.ok(error instanceof GatewayConfigError);
        assert.match(error.message, /refusing to listen on 0\.0\.0\.0 without a client credential.*--token-file/);
        return true;
      },
    );
  });

  it("never forwards the client's credentials unless told to; forwardHeaders passes them", async (t) => {
    const seen: (string | undefined)[] = [];
    const server = await startDialectServer({ onRequest: (req: IncomingMessage) => seen.push(req.headers.authorization) });
    t.after(() => server.close());
    const callers = parseCallerTokens('gateway-token-0123456789', 'tokens');
    const gateway = await gatewayFor(t, {
      callers,
      upstreams: [
        { name: 'plain', url: new URL(server.url), headers: { authorization: 'Bearer configured-upstream-token' } },
        { name: 'forwarding', url: new URL(server.url), forwardHeaders: ['authorization'] },
      ],
    });
    await openRawSession(fetch, `${gateway.origin}/plain/mcp`, { authorization: 'Bearer gateway-token-0123456789' });
    assert.deepEqual(new Set(seen), new Set(['Bearer configured-upstream-token']));
    seen.length = 0;
    await openRawSession(fetch, `${gateway.origin}/forwarding/mcp`, {
      authorization: 'Bearer users-own-upstream-token',
      'x-mcp-lifeline-token': 'gateway-token-0123456789',
    });
    assert.deepEqual(new Set(seen), new Set(['Bearer users-own-upstream-token']));
  });

  it("an upstream that refuses the gateway's credentials and quotes them: the host gets an error naming the upstream, without the secret", async (t) => {
    const secret = 'configured-upstream-secret-4711';
    const refusing = createServer((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="upstream"' }).end(`invalid token ${secret}`);
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => refusing.close(() => resolve())));
    const url = new URL(`http://127.0.0.1:${(refusing.address() as AddressInfo).port}/mcp`);
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'refusing', url, headers: { authorization: `Bearer ${secret}` } }] });
    const answer = await rawPost(gateway.url, JSON_HEADERS, JSON.stringify(INITIALIZE));
    const text = await answer.text();
    assert.equal(answer.status, 200);
    assert.match(text, /refused the gateway's credentials for upstream .{1,2}refusing.{1,2}: HTTP 401 .{1,2}invalid token \[redacted\]/);
    assert.ok(!text.includes(secret), text);
    assert.equal(answer.headers.get('www-authenticate'), null, 'no login prompt the host cannot satisfy');
  });

  it('limits sessions per caller (refused before the upstream hears of it) and responses in progress per session', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const alice = { authorization: 'Bearer alice-token-0123456789' };
    const gateway = await gatewayFor(t, {
      upstreams: [{ name: 'dialect', url: new URL(server.url) }],
      callers: parseCallerTokens('alice alice-token-0123456789', 'tokens'),
      limits: { maxSessionsPerCaller: 2, maxStreamsPerSession: 1 },
    });
    const first = await openRawSession(fetch, gateway.url, alice);
    await openRawSession(fetch, gateway.url, alice);
    const third = await rawPost(gateway.url, { ...JSON_HEADERS, ...alice }, JSON.stringify(INITIALIZE));
    assert.equal(third.status, 429);
    assert.match(JSON.stringify(await third.json()), /already has 2 open sessions/);
    assert.equal(server.counters.initializations, 2, 'the refused initialize never reached the upstream');
    assert.equal(server.counters.deletes, 0, 'so no upstream session had to be ended for it');

    const slow = first.request('tools/call', { name: 'slow', arguments: { ms: 400 } });
    await waitFor(async () => server.counters.toolCalls === 1);
    const second = await first.post({ jsonrpc: '2.0', id: 77, method: 'ping' });
    assert.equal(second.status, 429);
    assert.equal(textOf((await slow)['result']), 'done');
  });

  it('/healthz, /readyz and /metrics', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'dialect', url: new URL(server.url) }] });
    const session = await openRawSession(fetch, gateway.url);
    await session.request('tools/call', { name: 'echo', arguments: { text: 'x' } });
    assert.equal(await (await fetch(`${gateway.origin}/healthz`)).text(), 'ok\n');
    assert.equal(await (await fetch(`${gateway.origin}/readyz`)).text(), 'ready (memory store)\n');
    const metrics = await (await fetch(`${gateway.origin}/metrics`)).text();
    assert.match(metrics, /mcp_lifeline_requests_total\{upstream="dialect",method="POST",status="200"\} 2/);
    assert.match(metrics, /mcp_lifeline_requests_total\{upstream="dialect",method="POST",status="202"\} 1/);
    assert.match(metrics, /mcp_lifeline_request_duration_seconds_bucket\{le="\+Inf",upstream="dialect",method="POST"\} 3/);
    assert.match(metrics, /mcp_lifeline_sessions_total\{upstream="dialect",event="opened"\} 1/);
  });
});

describe('serve: the README example', () => {
  it('examples/serve-embedded.ts: the gateway in-process, through the package entry mcp-lifeline/gateway', async (t) => {
    const seen: (string | undefined)[] = [];
    const server = await startDialectServer({
      dialect: 'jsonrpc-400',
      onRequest: (req: IncomingMessage) => seen.push(req.headers.authorization),
    });
    t.after(() => server.close());
    const gateway = await serveInProcess(server.url, 'upstream-token');
    t.after(() => gateway.shutdown('test over'));
    const host = await connectClient('v1', `${gateway.origin}/mcp`);
    t.after(() => host.close());
    await host.callTool('increment', { key: 'a' });
    server.dropSessions();
    await host.callTool('increment', { key: 'b' });
    assert.deepEqual(Object.fromEntries(server.counters.executionsByKey), { a: 1, b: 1 });
    assert.deepEqual(new Set(seen), new Set(['Bearer upstream-token']));
  });
});

describe('serve: a real host CLI', () => {
  it('mcp-remote (stdio host bridge) → serve → an upstream that drops sessions: every call answered once', async (t) => {
    const server = await startDialectServer({ dialect: 'text-400' });
    t.after(() => server.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'dialect', url: new URL(server.url) }] });
    const configDir = mkdtempSync(join(tmpdir(), 'serve-mcp-remote-'));
    t.after(() => rmSync(configDir, { recursive: true, force: true }));
    const remote = new StdioClientTransport({
      command: process.execPath,
      args: [MCP_REMOTE, gateway.url, '--transport', 'http-only', '--silent'],
      env: { ...(process.env as Record<string, string>), MCP_REMOTE_CONFIG_DIR: configDir },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'via-mcp-remote', version: '1' });
    await client.connect(remote);
    t.after(() => client.close());
    const before = server.counters.initializations;
    for (const key of ['a', 'b', 'c']) {
      if (key !== 'a') server.dropSessions();
      await client.callTool({ name: 'increment', arguments: { key } });
    }
    assert.deepEqual(Object.fromEntries(server.counters.executionsByKey), { a: 1, b: 1, c: 1 });
    // Two drops, two re-initializations (mcp-remote may open more than one session at connect).
    assert.equal(server.counters.initializations - before, 2);
  });
});

function rawPost(url: string, headers: Record<string, string>, body: string): Promise<Response> {
  // fetch cannot set Host: node:http can.
  return import('node:http').then(
    ({ request }) =>
      new Promise<Response>((resolve, reject) => {
        const req = request(url, { method: 'POST', headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0 })));
        });
        req.on('error', reject);
        req.end(body);
      }),
  );
}

/** Sends headers and half a body, then nothing: resolves with 'closed' once the gateway hangs up. */
function trickle(url: string, headers: Record<string, string>): Promise<string> {
  return import('node:http').then(
    ({ request }) =>
      new Promise<string>((resolve) => {
        const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': '1000' } });
        req.on('response', () => resolve('answered'));
        req.on('error', () => resolve('closed'));
        req.write('{"jsonrpc":');
      }),
  );
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
