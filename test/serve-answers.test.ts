// Issue 16, what `serve` passes back from an upstream and what it passes on to one: answers are
// bounded (a 250 MB answer does not take the gateway down) and scrubbed of the gateway's secrets;
// only the MCP headers the spec defines reach the upstream; redirects are never followed. Real
// upstreams on loopback; where memory is measured, the gateway is a real `serve` process.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { recordSentCredentials } from '../src/cli/serve-sent-credentials.js';
import { startHostileServer } from './fixtures/hostile-server.js';
import { startStatusServer } from './fixtures/status-server.js';
import { textOf } from './helpers/clients.js';
import { gatewayFor, startServe } from './helpers/gateway.js';
import { memoryOf } from './helpers/processes.js';
import { openRawSession } from './helpers/raw-session.js';

const MiB = 1024 * 1024;
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('serve: upstream answers are bounded', () => {
  it('two concurrent 250 MB answers (JSON and SSE): each gets a JSON-RPC error naming the bound, upstream and method; a call meanwhile succeeds; the gateway stays small', async (t) => {
    const upstream = await startHostileServer();
    t.after(() => upstream.close());
    const serve = await startServe([upstream.url, '--name', 'huge']);
    t.after(() => serve.stop());
    const pid = serve.process.pid as number;
    const url = `${serve.origin}/mcp`;
    const [json, sse, other] = await Promise.all([openRawSession(fetch, url), openRawSession(fetch, url), openRawSession(fetch, url)]);
    const started = memoryOf(pid);
    const huge = (format: string) => ({ name: 'huge', arguments: { bytes: 250 * MiB, format, key: `huge-${format}` } });
    const [bigJson, bigSse, meanwhile] = await Promise.all([
      json.request('tools/call', huge('json')),
      sse.request('tools/call', huge('sse')),
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return other.request('tools/call', { name: 'echo', arguments: { text: 'still served' } });
      })(),
    ]);
    const peak = memoryOf(pid).peakMiB;
    t.diagnostic(`gateway RSS: ${started.rssMiB.toFixed(0)} MiB before, peak ${peak.toFixed(0)} MiB during two 250 MB answers`);
    for (const answer of [bigJson, bigSse]) {
      const message = (answer['error'] as { message?: string } | undefined)?.message ?? JSON.stringify(answer);
      assert.match(
        message,
        /^mcp-lifeline: upstream "huge" \(http:\/\/127\.0\.0\.1:\d+\/mcp\) answered tools\/call with a message larger than the 8388608-byte limit \(--max-message-size\); it was not passed on$/,
      );
    }
    assert.equal(textOf(meanwhile['result']), 'still served');
    // Each answer is held up to the 8 MiB bound at most: far from the 500 MB that passed upstream.
    assert.ok(peak < started.peakMiB + 100, `peak ${peak.toFixed(0)} MiB, ${started.peakMiB.toFixed(0)} MiB before`);
    // The gateway serves on, and says what it did.
    assert.equal(textOf((await other.request('tools/call', { name: 'echo', arguments: { text: 'after' } }))['result']), 'after');
    assert.match(serve.stderr(), /an upstream (answer|message) over the size limit was not passed on upstream=huge request=tools\/call/);
    const metrics = await (await fetch(`${serve.origin}/metrics`)).text();
    assert.match(metrics, /mcp_lifeline_oversized_messages_total\{upstream="huge"\} 2/);
  });

  it('a GET stream drops an event over the bound and goes on with the next', async (t) => {
    const upstream = await startHostileServer({
      get: (res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const note = (data: string) => JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data } });
        res.write(`event: message\ndata: ${note('x'.repeat(100_000))}\n\n`);
        res.write(`event: message\ndata: ${note('small')}\n\n`);
      },
    });
    t.after(() => upstream.close());
    const gateway = await gatewayFor(t, {
      upstreams: [{ name: 'hostile', url: new URL(upstream.url) }],
      limits: { maxMessageBytes: 64 * 1024 },
    });
    const session = await openRawSession(fetch, gateway.url);
    const abort = new AbortController();
    t.after(() => abort.abort());
    const stream = await fetch(gateway.url, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': session.sessionId, 'mcp-protocol-version': '2025-06-18' },
      signal: abort.signal,
    });
    assert.equal(stream.status, 200);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('small')) text += new TextDecoder().decode((await reader.read()).value);
    assert.ok(!text.includes('xxxx'), 'the oversized event was not passed on');
    assert.equal(text.match(/^event: message$/gm)?.length, 1);
  });
});

describe('serve: upstream answers reach clients without the gateway’s secrets', () => {
  const bearer = 'sk-live-upstream-secret-0042';
  const apiKey = 'api-key-secret-value-0077';

  it('error pages of any status, JSON-RPC errors, a secret split across SSE chunks, and answer headers', async (t) => {
    const upstream = await startHostileServer();
    t.after(() => upstream.close());
    const gateway = await gatewayFor(t, {
      upstreams: [{ name: 'hostile', url: new URL(upstream.url), headers: { authorization: `Bearer ${bearer}`, 'x-api-key': apiKey } }],
    });
    const session = await openRawSession(fetch, gateway.url);
    const call = (name: string, args: Record<string, unknown> = {}) =>
      session.post({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name, arguments: args } });
    const clean = (text: string, what: string) => {
      assert.ok(!text.includes(bearer) && !text.includes(apiKey), `${what}: ${text.slice(0, 300)}`);
      assert.match(text, /\[redacted\]/, what);
    };
    for (const status of [500, 400, 502]) {
      const answer = await call('quote-headers', { status });
      assert.equal(answer.status, status, 'the upstream status is passed on');
      clean(await answer.text(), `HTTP ${status} page`);
    }
    clean(await (await call('quote-headers-jsonrpc')).text(), 'a JSON-RPC error');
    const split = await call('quote-headers-split', { header: 'x-api-key' });
    clean(await split.text(), 'an SSE event, the secret split across two writes');
    clean(split.headers.get('mcp-debug') ?? '', 'an Mcp-* answer header');
  });

  it('a token the upstream fetch adds on its own (the OAuth seam) is scrubbed too', async (t) => {
    const upstream = await startHostileServer();
    t.after(() => upstream.close());
    let refreshes = 0;
    const sent = recordSentCredentials((url, init) => fetch(url, init));
    // A sign-in that adds a fresh access token the gateway never sees.
    const signedIn = (url: string | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer access-token-${Math.floor(refreshes++ / 2)}-abcdef0123`);
      return sent.fetch(url, { ...init, headers });
    };
    const gateway = await gatewayFor(t, {
      upstreams: [{ name: 'hostile', url: new URL(upstream.url), fetch: signedIn, scrub: sent.scrub }],
    });
    const session = await openRawSession(fetch, gateway.url);
    for (let round = 0; round < 3; round++) {
      const text = await (
        await session.post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'quote-headers', arguments: { status: 500 } } })
      ).text();
      assert.ok(!/access-token-\d+-abcdef0123/.test(text), text.slice(0, 300));
      assert.match(text, /\[redacted\]/);
    }
  });
});

describe('serve: what reaches the upstream', () => {
  it('only the Mcp-* headers MCP defines are passed on; others a client invents are not', async (t) => {
    const upstream = await startHostileServer();
    t.after(() => upstream.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'hostile', url: new URL(upstream.url) }] });
    const session = await openRawSession(fetch, gateway.url);
    await session.request(
      'tools/call',
      { name: 'echo', arguments: { text: 'x' } },
      { 'mcp-method': 'tools/call', 'mcp-name': 'echo', 'mcp-param-region': 'eu', 'mcp-gateway-user': 'admin', 'mcp-debug': '1' },
    );
    const seen = upstream.counters.requests.at(-1)?.headers ?? {};
    assert.equal(seen['mcp-method'], 'tools/call');
    assert.equal(seen['mcp-name'], 'echo');
    assert.equal(seen['mcp-param-region'], 'eu');
    assert.equal(seen['mcp-protocol-version'], '2025-06-18');
    assert.equal(seen['mcp-gateway-user'], undefined);
    assert.equal(seen['mcp-debug'], undefined);
  });

  it('a redirect is never followed with the gateway’s headers (even with the default fetch)', async (t) => {
    const elsewhere = await startStatusServer({ status: 200, body: '{}', contentType: 'application/json' });
    t.after(() => elsewhere.close());
    // A POST's answer and the GET stream both redirect to another origin.
    const upstream = await startHostileServer({ get: (res) => res.writeHead(307, { location: elsewhere.url }).end() });
    t.after(() => upstream.close());
    const gateway = await gatewayFor(t, {
      upstreams: [{ name: 'hostile', url: new URL(upstream.url), headers: { 'x-api-key': 'api-key-for-this-origin-only-99' } }],
    });
    const session = await openRawSession(fetch, gateway.url);
    await session.post({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'redirect', arguments: { to: elsewhere.url } } });
    const stream = await fetch(gateway.url, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': session.sessionId, 'mcp-protocol-version': '2025-06-18' },
    });
    await stream.body?.cancel();
    assert.deepEqual(elsewhere.requests, [], 'the other origin heard nothing');
  });

  it('session ids have one spelling: a non-canonical base64 form of a valid id is refused, unseen upstream', async (t) => {
    const upstream = await startHostileServer();
    t.after(() => upstream.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'hostile', url: new URL(upstream.url) }] });
    const session = await openRawSession(fetch, gateway.url);
    const id = session.sessionId;
    const bytes = Buffer.from(id, 'base64url');
    const spellings = [`${id}=`, `${id}==`, id.replaceAll('-', '+').replaceAll('_', '/')];
    // When the last character carries spare bits, flipping one spells the same bytes too.
    if (bytes.length % 3 !== 0) {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      spellings.push(`${id.slice(0, -1)}${alphabet[alphabet.indexOf(id.at(-1) as string) ^ 1]}`);
    }
    for (const spelling of spellings) assert.deepEqual(Buffer.from(spelling, 'base64url'), bytes, `${spelling} is the same bytes`);
    const seen = upstream.counters.requests.length;
    for (const spelling of spellings) {
      if (spelling === id) continue;
      const answer = await fetch(gateway.url, {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'mcp-session-id': spelling, 'mcp-protocol-version': '2025-06-18' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      assert.equal(answer.status, 404, spelling);
    }
    assert.equal(upstream.counters.requests.length, seen);
    assert.equal((await session.post({ jsonrpc: '2.0', id: 2, method: 'ping' })).status, 200, 'the canonical id still works');
  });

  it('initialize params too large to be worth carrying are refused before the upstream hears of them', async (t) => {
    const upstream = await startHostileServer();
    t.after(() => upstream.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'hostile', url: new URL(upstream.url) }] });
    // 200 KB that compress to a short session id: every replica would hold them for every request.
    const params = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'a'.repeat(200_000), version: '1' } };
    const answer = await fetch(gateway.url, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params }),
    });
    assert.equal(answer.status, 400);
    assert.match(await answer.text(), /initialize params are too large \(\d+ bytes as JSON, at most 65536\)/);
    // 6 KB that do not compress: within the params bound, too long for a session id header.
    const random = { ...params, clientInfo: { name: randomBytes(4500).toString('base64'), version: '1' } };
    const refused = await fetch(gateway.url, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'initialize', params: random }),
    });
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /too large to carry in a session id/);
    assert.equal(upstream.counters.initializations, 0);
  });

  it('without a token file, the session limit ends the least recently used local session instead of refusing', async (t) => {
    const upstream = await startHostileServer();
    t.after(() => upstream.close());
    const gateway = await gatewayFor(t, {
      upstreams: [{ name: 'hostile', url: new URL(upstream.url) }],
      limits: { maxSessionsPerCaller: 2 },
    });
    const oldest = await openRawSession(fetch, gateway.url);
    const middle = await openRawSession(fetch, gateway.url);
    await middle.request('tools/call', { name: 'echo', arguments: { text: 'used lately' } });
    const newest = await openRawSession(fetch, gateway.url);
    assert.notEqual(newest.sessionId, '', 'the third session was opened');
    assert.equal(upstream.counters.deletes, 1, "the oldest session's upstream session was ended");
    assert.equal((await oldest.post({ jsonrpc: '2.0', id: 5, method: 'ping' })).status, 404);
    for (const kept of [middle, newest]) assert.equal((await kept.post({ jsonrpc: '2.0', id: 6, method: 'ping' })).status, 200);
  });
});
