// Issue 18: a 401 that means a lost session. An OAuth-protected server whose session check answers
// 401 "unknown session" without a challenge (and, for a request without a session, the same) is
// recovered: a new session with the same credentials, then the replay (a 401 is answered before
// the request is processed). A challenge with error="invalid_token" stays a token problem; a
// fresh initialize refused too is the sign-in's. Against the dialect server alone, and behind the
// real authorization server (oidc-provider) with the bridge signed in. Server-side counters prove
// each call ran once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { withSessionRecovery } from '../src/index.js';
import { connectThroughBridge } from './helpers/bridge.js';
import { connectClient, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';
import { gatewayFor } from './helpers/gateway.js';
import { call, signedInHost } from './helpers/oauth.js';

describe('401 "unknown session" without an authorization server', () => {
  it('the bridge in auto mode connects (server/discover got the 401) and recovers the lost session', async (t) => {
    const server = await startDialectServer({ dialect: 'session-401' });
    t.after(() => server.close());
    const host = await connectThroughBridge(server.url, ['--log-level', 'debug']);
    t.after(() => host.client.close());
    const callTool = async (key: string) => textOf(await host.client.callTool({ name: 'increment', arguments: { key } }));
    assert.equal(await callTool('before'), '1');
    server.dropSessions();
    const started = Date.now();
    assert.equal(await callTool('after'), '2');
    t.diagnostic(`the call after the loss answered in ${Date.now() - started} ms`);
    assert.deepEqual(Object.fromEntries(server.counters.executionsByKey), { before: 1, after: 1 });
    assert.equal(server.counters.initializations, 2);
    const log = host.stderr();
    assert.match(
      log,
      /speaking 2025 Streamable HTTP .*server\/discover answered HTTP 401 "unknown session" without a challenge.*trying initialize/,
    );
    assert.match(log, /session recovered .*rule=session-401/);
  });

  it('serve with --protocol auto: the same server, through the era adapters', async (t) => {
    const server = await startDialectServer({ dialect: 'session-401' });
    t.after(() => server.close());
    const gateway = await gatewayFor(t, {
      upstreams: [{ name: 'unknown-session', url: new URL(server.url), era: { protocol: 'auto', transport: 'auto' } }],
    });
    const client = await connectClient('v1', gateway.url);
    t.after(() => client.close());
    assert.equal(textOf(await client.callTool('increment', { key: 'before' })), '1');
    server.dropSessions();
    assert.equal(textOf(await client.callTool('increment', { key: 'after' })), '2');
    assert.deepEqual(Object.fromEntries(server.counters.executionsByKey), { before: 1, after: 1 });
  });

  it('the fresh initialize refused too: a sign-in problem; the client gets the 401, nothing is replayed', async (t) => {
    const server = await startDialectServer({ dialect: 'session-401' });
    t.after(() => server.close());
    const recorder = recordEvents();
    const client = await connectClient('v2', server.url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
    t.after(() => client.close());
    assert.equal(textOf(await client.callTool('increment', { key: 'before' })), '1');
    server.dropSessions();
    server.faults.initializeStatus = 401;
    const toolCalls = server.counters.toolCalls;
    await assert.rejects(client.callTool('increment', { key: 'refused' }), /401/);
    assert.equal(server.counters.toolCalls, toolCalls, 'the call never reached a tool');
    assert.equal(server.counters.executions, 1);
    assert.equal(recorder.of('session-lost')[0]?.rule, 'session-401');
    assert.equal(recorder.count('replayed'), 0);
  });

  it('a 401 with error="invalid_token" is never taken for a lost session: passed on, no new session', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const recorder = recordEvents();
    const fetchWithRecovery = withSessionRecovery({ onEvent: recorder.onEvent })(async (input, init) => {
      const headers = new Headers(init?.headers);
      if (headers.get('authorization') === 'Bearer expired-token-value' && headers.has('mcp-session-id')) {
        return new Response('Unknown session or expired token', {
          status: 401,
          headers: { 'www-authenticate': 'Bearer error="invalid_token", error_description="The access token expired"' },
        });
      }
      return fetch(input, init);
    });
    const client = await connectClient('v1', server.url, fetchWithRecovery);
    t.after(() => client.close());
    assert.equal(textOf(await client.callTool('increment', { key: 'before' })), '1');
    const response = await fetchWithRecovery(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': client.sessionId ?? '',
        'mcp-protocol-version': '2025-06-18',
        authorization: 'Bearer expired-token-value',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'increment', arguments: { key: 'x' } } }),
    });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /invalid_token/);
    assert.equal(server.counters.initializations, 1, 'no new session');
    assert.equal(recorder.count('session-lost'), 0);
  });
});

describe('401 behind the real authorization server (oidc-provider), the bridge signed in', () => {
  for (const [lostSession, what, pings, rule] of [
    ['401', '401 "unknown session" without a challenge: proof, no ping', 0, 'session-401'],
    ['401-challenge', 'a Bearer challenge to the token the session had accepted: confirmed by a ping', 1, 'challenged-401'],
  ] as const) {
    it(`${what}; a new session with the same token, the call runs once, no refresh, no sign-in`, async (t) => {
      const { sandbox, server, host } = await signedInHost(t, { lostSession });
      await server.forgetSessions();
      const started = Date.now();
      assert.equal(await call(host), '2');
      t.diagnostic(`the call after the loss answered in ${Date.now() - started} ms`);
      assert.equal(server.counters.executions, 2);
      assert.equal(server.counters.initializations, 2);
      // The bridge's GET stream may meet the lost session too; each suspicion costs one ping.
      const lost = server.counters.lostAnswers;
      const asked = lost.filter((method) => method !== 'ping').length;
      const pinged = lost.filter((method) => method === 'ping').length;
      assert.equal(lost.filter((method) => method === 'tools/call').length, 1, lost.join(' '));
      if (pings === 0) assert.equal(pinged, 0, `proof needs no ping: ${lost.join(' ')}`);
      else assert.ok(pinged >= 1 && pinged <= asked, `a ping per suspicion: ${lost.join(' ')}`);
      assert.equal(server.authorizationServer.counters.tokens['refresh_token'], undefined, 'the token was not renewed');
      assert.equal((await sandbox.browserRuns()).length, 1, 'no second sign-in');
      assert.match(host.stderr(), new RegExp(`session recovered .*rule=${rule}`));
    });
  }

  for (const lostSession of ['401', '401-challenge'] as const) {
    it(`session lost (${lostSession}) and token refused (invalid_token) at once: one refresh, one new session, the call runs once`, async (t) => {
      const { sandbox, server, host } = await signedInHost(t, { lostSession });
      await server.forgetSessions();
      server.invalidateTokens();
      assert.equal(await call(host), '2');
      assert.equal(server.authorizationServer.counters.tokens['refresh_token'], 1);
      assert.equal(server.counters.initializations, 2);
      assert.equal(server.counters.executions, 2);
      assert.equal((await sandbox.browserRuns()).length, 1);
    });
  }

  it('only the token refused (error="invalid_token"), the session alive: refreshed, and no new session', async (t) => {
    const { server, host } = await signedInHost(t, { lostSession: '401' });
    server.invalidateTokens();
    assert.equal(await call(host), '2');
    assert.equal(server.authorizationServer.counters.tokens['refresh_token'], 1);
    assert.equal(server.counters.initializations, 1, 'a token problem is not a session loss');
    assert.deepEqual(server.counters.lostAnswers, []);
  });
});
