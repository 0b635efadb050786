// `--protocol auto|2025|2026` and `--transport auto|http|sse` at the library level: one
// server/discover probe at the host's initialize decides, strictly, against real servers of each
// era; an answer that does not prove 2026-07-28 (401, 500) falls back to initialize (issue 18);
// silence decides nothing.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { createNegotiatingUpstream, type NegotiatingUpstreamOptions } from '../src/upstream/negotiate.js';
import { createStatelessUpstream } from '../src/upstream/stateless.js';
import { UpstreamError } from '../src/upstream/upstream.js';
import { startModernServer } from './fixtures/modern-server.js';
import { startSdkSessionServer } from './fixtures/sdk-session-server.js';
import { startSseServer } from './fixtures/sse-server.js';
import { startStatusServer } from './fixtures/status-server.js';
import { answerTo, hostInitialize, recordingSink } from './helpers/sink.js';

type Choice = Pick<NegotiatingUpstreamOptions, 'protocol' | 'transport'> & { timeoutMs?: number; headers?: Record<string, string> };

function negotiating(t: TestContext, url: string, choice: Choice = {}) {
  const sink = recordingSink();
  const { timeoutMs = 3000, headers = {}, ...eras } = choice;
  const upstream = createNegotiatingUpstream({ url: new URL(url), headers, fetch, timeoutMs, sink, ...eras });
  t.after(() => upstream.close());
  return { sink, upstream };
}

/** initialize, initialized, then one increment call: the answer's text. */
async function useServer(t: TestContext, url: string, choice: Pick<NegotiatingUpstreamOptions, 'protocol' | 'transport'> = {}) {
  const { sink, upstream } = negotiating(t, url, choice);
  await upstream.send(hostInitialize(1));
  const initialized = await answerTo(sink, 1);
  assert.ok(initialized.result, JSON.stringify(initialized));
  await upstream.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  await upstream.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'increment', arguments: { key: 'once' } } });
  const called = await answerTo(sink, 2);
  const decided = sink.events.filter((event) => event.type === 'era-decided');
  assert.equal(decided.length, 1);
  assert.equal(decided[0]?.level, 'info');
  return { era: upstream.era, text: (called.result as { content?: { text?: string }[] })?.content?.[0]?.text, decided: decided[0] };
}

describe('auto: one probe decides, on evidence only', () => {
  it('a 2026-only server (createMcpHandler, legacy: reject): 2026-07-28, with the probe’s answer reused', async (t) => {
    const server = await startModernServer({ legacy: 'reject' });
    t.after(() => server.close());
    const { era, text, decided } = await useServer(t, server.url);
    assert.equal(era, '2026-stateless');
    assert.equal(text, '1');
    assert.match(decided?.message ?? '', /speaking 2026-07-28 \(stateless\) .*server\/discover offered 2026-07-28/);
    assert.equal(server.count('server/discover'), 1, 'ONE discover probe per start');
    assert.equal(server.counters.runs.get('increment:once'), 1);
  });

  it('a dual-era server (createMcpHandler default fallback): prefers 2026-07-28', async (t) => {
    const server = await startModernServer();
    t.after(() => server.close());
    const { era, text } = await useServer(t, server.url);
    assert.equal(era, '2026-stateless');
    assert.equal(text, '1');
    assert.equal(server.count('initialize'), 0);
    assert.equal(server.count('server/discover'), 1);
  });

  it('a 2025 server (v1 SDK, sessions): Streamable HTTP, on the evidence of its 400', async (t) => {
    const server = await startSdkSessionServer();
    t.after(() => server.close());
    const { era, text, decided } = await useServer(t, server.url);
    assert.equal(era, '2025-streamable-http');
    assert.equal(text, '1');
    assert.match(decided?.message ?? '', /HTTP 400/);
    assert.equal(server.counters.initializations, 1);
  });

  it('a 2024-11-05 HTTP+SSE server: POST finds no endpoint, GET opens the stream', async (t) => {
    const server = await startSseServer();
    t.after(() => server.close());
    const { era, text, decided } = await useServer(t, server.url);
    assert.equal(era, '2024-http-sse');
    assert.equal(text, '1');
    assert.match(decided?.message ?? '', /HTTP 404.*no Streamable HTTP endpoint/);
    assert.equal(server.counters.unmatched, 1, 'one probe POST');
  });

  for (const [name, answer, pattern] of [
    [
      '401',
      { status: 401, body: 'Unauthorized' },
      /HTTP 401 "Unauthorized".*\(before it, server\/discover answered HTTP 401 "Unauthorized" without a challenge/,
    ],
    ['403', { status: 403, body: 'Forbidden' }, /HTTP 403.*\(before it, server\/discover answered HTTP 403/],
    [
      '500',
      { status: 500, body: 'boom' },
      /HTTP 500 "boom".*\(before it, server\/discover answered HTTP 500 "boom", which says nothing about the protocol era\)/,
    ],
    [
      '503 with a JSON-RPC body',
      { status: 503, body: '{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"down"}}', contentType: 'application/json' },
      /HTTP 503/,
    ],
  ] as const) {
    it(`${name}: not 2026-07-28 evidence, so initialize decides; its failure says what both saw`, async (t) => {
      const server = await startStatusServer(answer);
      t.after(() => server.close());
      const { sink, upstream } = negotiating(t, server.url);
      await assert.rejects(upstream.send(hostInitialize(1)), (error: unknown) => {
        assert.ok(error instanceof UpstreamError);
        assert.match(error.message, pattern);
        return true;
      });
      assert.deepEqual(server.requests, ['POST /mcp', 'POST /mcp'], 'the probe, then the host’s initialize');
      assert.equal(upstream.era, '2025-streamable-http');
      const decided = sink.events.find((event) => event.type === 'era-decided');
      assert.match(decided?.message ?? '', /speaking 2025 Streamable HTTP .*: trying initialize\)/);
    });
  }

  it('a 401 without a challenge to any request without a session (issue 18): the initialize goes on and connects', async (t) => {
    const server = await startDialectServer({ dialect: 'session-401' });
    t.after(() => server.close());
    const { era, text, decided } = await useServer(t, server.url);
    assert.equal(era, '2025-streamable-http');
    assert.equal(text, '1');
    assert.match(decided?.message ?? '', /server\/discover answered HTTP 401 "unknown session" without a challenge/);
    assert.equal(server.counters.initializations, 1);
  });

  it('--protocol 2026 still refuses a server whose answer does not prove 2026-07-28', async (t) => {
    const server = await startStatusServer({ status: 401, body: 'unknown session' });
    t.after(() => server.close());
    const { upstream } = negotiating(t, server.url, { protocol: '2026' });
    await assert.rejects(upstream.send(hostInitialize(1)), /is not a 2026-07-28 server \(server\/discover answered HTTP 401/);
    assert.deepEqual(server.requests, ['POST /mcp']);
  });

  it('a redirect to another origin: refused, the other origin receives nothing', async (t) => {
    const elsewhere = await startStatusServer({ status: 200, body: '{}', contentType: 'application/json' });
    t.after(() => elsewhere.close());
    const server = await startStatusServer({ status: 307, headers: { location: elsewhere.url } });
    t.after(() => server.close());
    const { upstream } = negotiating(t, server.url, { headers: { authorization: 'Bearer tok-redirected-1' } });
    await assert.rejects(
      upstream.send(hostInitialize(1)),
      /redirected \(HTTP 30\d\) to another origin, .*mcp-lifeline does not follow it, so no credentials leave/,
    );
    assert.deepEqual(elsewhere.requests, []);
  });

  it('silence: the probe times out and decides nothing', async (t) => {
    const server = await startStatusServer('hang');
    t.after(() => server.close());
    const { upstream } = negotiating(t, server.url, { timeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(upstream.send(hostInitialize(1)), /cannot reach .* for initialize: no answer within 300 ms/);
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(server.requests, ['POST /mcp']);
  });

  it('nothing at the URL: the error names both attempts', async (t) => {
    const server = await startSseServer();
    t.after(() => server.close());
    const { upstream } = negotiating(t, server.url.replace('/sse', '/nothing'));
    await assert.rejects(
      upstream.send(hostInitialize(1)),
      /no MCP endpoint at .*\(HTTP 404.*Cannot POST \/nothing.*; nor is it an HTTP\+SSE endpoint: .*GET answered HTTP 404/,
    );
  });
});

describe('credentials the server quotes back never reach the host or the log', () => {
  const token = 'tok-3f9a8c77e1d2';
  it('a 401 quoting the bearer token: the initialize error and the event say [redacted]', async (t) => {
    const server = await startStatusServer({ status: 401, body: `invalid token Bearer ${token}` });
    t.after(() => server.close());
    const { sink, upstream } = negotiating(t, server.url, { headers: { authorization: `Bearer ${token}` } });
    await assert.rejects(upstream.send(hostInitialize(1)), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /\[redacted\]/);
      assert.doesNotMatch(error.message, new RegExp(token));
      return true;
    });
    assert.doesNotMatch(JSON.stringify(sink.events), new RegExp(token));
  });

  it('a 2026-07-28 request refused with the API key in the body: the host’s error says [redacted]', async (t) => {
    const server = await startStatusServer({ status: 403, body: `key ${token} is not allowed` });
    t.after(() => server.close());
    const sink = recordingSink();
    const upstream = createStatelessUpstream({
      url: new URL(server.url),
      headers: { 'x-api-key': token },
      fetch,
      timeoutMs: 2000,
      sink,
      discover: { version: '2026-07-28', result: { supportedVersions: ['2026-07-28'], capabilities: {} } },
    });
    t.after(() => upstream.close());
    await upstream.send(hostInitialize(1));
    await upstream.send({ jsonrpc: '2.0', id: 2, method: 'prompts/list' });
    const answer = await answerTo(sink, 2);
    assert.match(answer.error?.message ?? '', /HTTP 403 "key \[redacted\] is not allowed": check the credentials sent/);
  });
});

describe('explicit --protocol and --transport', () => {
  it('--protocol 2026 against a 2025 server: a clear error, no fallback', async (t) => {
    const server = await startSdkSessionServer();
    t.after(() => server.close());
    const { upstream } = negotiating(t, server.url, { protocol: '2026' });
    await assert.rejects(upstream.send(hostInitialize(1)), /is not a 2026-07-28 server \(server\/discover answered HTTP 400/);
    assert.equal(server.counters.initializations, 0);
  });

  it('--transport http against an HTTP+SSE server: no SSE fallback', async (t) => {
    const server = await startSseServer();
    t.after(() => server.close());
    const { upstream } = negotiating(t, server.url, { transport: 'http' });
    await assert.rejects(upstream.send(hostInitialize(1)), /no Streamable HTTP endpoint at .*HTTP 404/);
    assert.equal(server.counters.streams, 0);
  });

  it('--transport sse: straight to the SSE stream, no probe', async (t) => {
    const server = await startSseServer();
    t.after(() => server.close());
    const { era, text } = await useServer(t, server.url, { transport: 'sse' });
    assert.equal(era, '2024-http-sse');
    assert.equal(text, '1');
    assert.equal(server.counters.unmatched, 0);
  });

  it('--protocol 2025 against a dual-era server: the 2025 session it asked for', async (t) => {
    const server = await startModernServer();
    t.after(() => server.close());
    const { era, text } = await useServer(t, server.url, { protocol: '2025', transport: 'http' });
    assert.equal(era, '2025-streamable-http');
    assert.equal(text, '1');
    assert.equal(server.count('server/discover'), 0);
    assert.equal(server.count('initialize'), 1);
  });

  it('--protocol 2026 --transport sse is refused when the upstream is made', () => {
    assert.throws(
      () =>
        createNegotiatingUpstream({
          url: new URL('http://127.0.0.1:1/'),
          headers: {},
          fetch,
          timeoutMs: 1000,
          sink: recordingSink(),
          protocol: '2026',
          transport: 'sse',
        }),
      /no HTTP\+SSE transport/,
    );
  });
});
