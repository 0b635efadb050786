// The 2026-07-28 stateless upstream for 2025 hosts, against the v2 SDK's createMcpHandler with
// `legacy: 'reject'` (a 2026-only server), driven directly with a recording sink as the host.
// Server-side counters and the recorded requests prove what was sent and what ran.

import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { JsonRpcMessage } from '../src/shared/json-rpc.js';
import { createStatelessUpstream } from '../src/upstream/stateless.js';
import { type ModernServer, startModernServer } from './fixtures/modern-server.js';
import { eventually } from './helpers/eventually.js';
import { answerTo, hostInitialize, recordingSink } from './helpers/sink.js';

const META_PROTOCOL = 'io.modelcontextprotocol/protocolVersion';

async function connect(
  t: TestContext,
  options: { capabilities?: Record<string, unknown>; protocolVersion?: string; server?: ModernServer; maxInputRounds?: number } = {},
) {
  const server = options.server ?? (await startModernServer({ legacy: 'reject' }));
  if (options.server === undefined) t.after(() => server.close());
  const sink = recordingSink();
  const upstream = createStatelessUpstream({
    url: new URL(server.url),
    headers: { 'x-api-key': 'secret' },
    fetch,
    timeoutMs: 3000,
    sink,
    listenBackoff: { initialDelayMs: 50, maxDelayMs: 200 },
    maxInputRounds: options.maxInputRounds,
  });
  t.after(() => upstream.close());
  await upstream.send(hostInitialize('init', { capabilities: options.capabilities ?? {}, protocolVersion: options.protocolVersion }));
  const initialized = await answerTo(sink, 'init');
  await upstream.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  let next = 1;
  const request = async (method: string, params?: Record<string, unknown>) => {
    const id = next++;
    await upstream.send({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    return answerTo(sink, id);
  };
  const call = (name: string, args: Record<string, unknown> = {}) => request('tools/call', { name, arguments: args });
  return { server, sink, upstream, initialized, request, call };
}

/** The `_meta` a recorded POST carried. */
const metaOf = (recorded: { body: unknown } | undefined) =>
  ((recorded?.body as { params?: { _meta?: Record<string, unknown> } } | undefined)?.params?._meta ?? {}) as Record<string, unknown>;

const textOf = (answer: JsonRpcMessage) => ((answer.result as { content?: { text?: string }[] })?.content?.[0]?.text ?? '') as string;

describe('2025 host ↔ 2026-07-28 server (createMcpHandler, legacy: reject)', () => {
  it('answers initialize from ONE server/discover, in the host’s own revision', async (t) => {
    const { server, initialized, upstream } = await connect(t);
    assert.equal(upstream.era, '2026-stateless');
    assert.deepEqual(initialized.result, {
      protocolVersion: '2025-06-18',
      capabilities: { logging: {}, resources: { subscribe: true, listChanged: true }, tools: { listChanged: true } },
      serverInfo: { name: 'modern-fixture', version: '2.0.0' },
      instructions: 'A test server.',
    });
    assert.equal(server.count('server/discover'), 1);
    assert.equal(server.count('initialize'), 0, 'a 2026-only server never sees initialize');
  });

  it('stamps every request with the envelope and the standard headers, and strips what 2025 hosts do not know', async (t) => {
    const { server, call, request } = await connect(t);
    const listed = await request('tools/list');
    const result = listed.result as Record<string, unknown>;
    assert.equal(result['resultType'], undefined);
    assert.equal(result['ttlMs'], undefined);
    assert.equal(result['cacheScope'], undefined);
    assert.equal(result['_meta'], undefined);
    assert.ok((result['tools'] as unknown[]).length >= 5);

    const answer = await call('increment', { key: 'k1' });
    assert.equal(textOf(answer), '1');
    assert.deepEqual(Object.keys(answer.result as object).sort(), ['content']);
    const sent = server.requests.find((recorded) => recorded.method === 'tools/call');
    assert.equal(sent?.headers['mcp-protocol-version'], '2026-07-28');
    assert.equal(sent?.headers['mcp-method'], 'tools/call');
    assert.equal(sent?.headers['mcp-name'], 'increment');
    assert.equal(sent?.headers['x-api-key'], 'secret');
    const meta = metaOf(sent);
    assert.equal(meta[META_PROTOCOL], '2026-07-28');
    assert.deepEqual(meta['io.modelcontextprotocol/clientInfo'], { name: 'test-host', version: '1.0.0' });
    assert.equal(server.counters.runs.get('increment:k1'), 1);
  });

  it('mirrors x-mcp-header arguments into Mcp-Param-* headers, Base64 where needed, even before any tools/list', async (t) => {
    const { server, call } = await connect(t);
    assert.equal(textOf(await call('regional', { region: 'eu-west-1', key: 'r1' })), 'ran in eu-west-1');
    assert.equal(textOf(await call('regional', { region: 'Zürich ', key: 'r2' })), 'ran in Zürich ');
    const calls = server.requests.filter((recorded) => recorded.method === 'tools/call');
    assert.equal(calls[0]?.headers['mcp-param-region'], 'eu-west-1');
    assert.equal(calls[1]?.headers['mcp-param-region'], `=?base64?${Buffer.from('Zürich ').toString('base64')}?=`);
    assert.equal(server.count('tools/list'), 1, 'the tool list was fetched once, for its headers');
    assert.equal(server.counters.runs.get('regional:r1'), 1);
    assert.equal(server.counters.runs.get('regional:r2'), 1);
  });

  it('a tools/call refused for stale headers (-32020) is retried once with a fresh tool list; it runs once', async (t) => {
    const { server, call, request } = await connect(t);
    await request('tools/list');
    server.setRegionHeader('Zone');
    assert.equal(textOf(await call('regional', { region: 'ap-south-1', key: 'z' })), 'ran in ap-south-1');
    const calls = server.requests.filter((recorded) => recorded.method === 'tools/call');
    assert.equal(calls.length, 2);
    assert.equal(calls[0]?.headers['mcp-param-region'], 'ap-south-1', 'first sent with the cached declaration');
    assert.equal(calls[1]?.headers['mcp-param-zone'], 'ap-south-1', 'then with the current one');
    assert.equal(server.count('tools/list'), 2);
    assert.equal(server.counters.runs.get('regional:z'), 1);
  });

  it('answers ping locally and keeps logging/setLevel as the envelope’s logLevel', async (t) => {
    const { server, sink, request, call } = await connect(t);
    assert.deepEqual((await request('ping')).result, {});
    assert.equal(server.count('ping'), 0);
    await call('chatty');
    assert.equal(sink.messages.filter((message) => message.method === 'notifications/message').length, 0, 'no level set: no logs');
    assert.deepEqual((await request('logging/setLevel', { level: 'error' })).result, {});
    assert.equal(server.count('logging/setLevel'), 0);
    await call('chatty');
    const logs = sink.messages.filter((message) => message.method === 'notifications/message');
    assert.deepEqual(
      logs.map((message) => message.params?.['data']),
      ['an error line'],
    );
    const last = server.requests.filter((recorded) => recorded.method === 'tools/call').at(-1);
    assert.equal(metaOf(last)['io.modelcontextprotocol/logLevel'], 'error');
  });

  it('drives input_required (elicitation) through the host and returns the final result; the tool runs once', async (t) => {
    const { server, sink, upstream } = await connect(t, { capabilities: { elicitation: {} } });
    await upstream.send({ jsonrpc: '2.0', id: 'c1', method: 'tools/call', params: { name: 'confirm', arguments: { key: 'c1' } } });
    const asked = await sink.waitFor((message) => message.method === 'elicitation/create');
    assert.equal(asked.params?.['message'], 'Really?');
    assert.equal(asked.params?.['mode'], undefined, 'a 2025-06-18 host gets form elicitation without mode');
    await upstream.send({ jsonrpc: '2.0', id: asked.id ?? null, result: { action: 'accept', content: { ok: true } } });
    const answer = await answerTo(sink, 'c1');
    assert.equal(textOf(answer), 'confirmed (state round-1)');
    assert.equal(server.counters.runs.get('confirm:c1'), 1);
    assert.equal(server.counters.inputRounds, 1);
    const posts = server.requests.filter((recorded) => recorded.method === 'tools/call').map((recorded) => recorded.body as JsonRpcMessage);
    assert.equal(posts.length, 2);
    assert.notEqual(posts[0]?.id, posts[1]?.id, 'the retry is a new request');
    assert.equal(posts[1]?.params?.['requestState'], 'round-1');
    assert.equal(sink.answersTo('c1').length, 1);
  });

  it('a server that keeps asking: bounded rounds, then a clear error', async (t) => {
    const { server, sink, upstream } = await connect(t, { capabilities: { elicitation: {} }, maxInputRounds: 3 });
    sink.message = ((deliver) => (message: JsonRpcMessage) => {
      deliver(message);
      // The host answers every elicitation at once.
      if (message.method === 'elicitation/create')
        void upstream.send({ jsonrpc: '2.0', id: message.id ?? null, result: { action: 'accept', content: { ok: true } } });
    })(sink.message.bind(sink));
    await upstream.send({ jsonrpc: '2.0', id: 'nag', method: 'tools/call', params: { name: 'nag', arguments: {} } });
    const answer = await answerTo(sink, 'nag');
    assert.match(answer.error?.message ?? '', /still asked for input after 3 rounds; giving up on tools\/call/);
    assert.equal(server.counters.inputRounds, 4, 'the first answer and three retries');
  });

  it('input the host did not declare: a clear error, never a hang', async (t) => {
    const { call } = await connect(t, { capabilities: {} });
    const answer = await call('confirm', { key: 'nocap' });
    assert.equal(answer.error?.code, -32021);
    assert.match(answer.error?.message ?? '', /did not declare a capability the server requires \(-32021\).*elicitation/);
  });

  it('URL elicitation: to a 2025-11-25 host that declared it, with an elicitationId; to an older host, a clear error', async (t) => {
    const modern = await connect(t, { capabilities: { elicitation: { form: {}, url: {} } }, protocolVersion: '2025-11-25' });
    await modern.upstream.send({ jsonrpc: '2.0', id: 'u1', method: 'tools/call', params: { name: 'open-link', arguments: {} } });
    const asked = await modern.sink.waitFor((message) => message.method === 'elicitation/create');
    assert.equal(asked.params?.['mode'], 'url');
    assert.equal(typeof asked.params?.['elicitationId'], 'string');
    await modern.upstream.send({ jsonrpc: '2.0', id: asked.id ?? null, result: { action: 'accept' } });
    assert.equal(textOf(await answerTo(modern.sink, 'u1')), 'linked');

    const old = await connect(t, { capabilities: { elicitation: {} }, server: modern.server });
    const refused = await old.call('open-link');
    assert.ok(refused.error !== undefined);
    assert.match(refused.error.message, /url/i);
    assert.equal(modern.server.counters.runs.get('open-link:'), 1);
  });

  it('sampling requests reach the host as sampling/createMessage', async (t) => {
    const { sink, upstream } = await connect(t, { capabilities: { sampling: {} } });
    await upstream.send({ jsonrpc: '2.0', id: 's1', method: 'tools/call', params: { name: 'sample', arguments: {} } });
    const asked = await sink.waitFor((message) => message.method === 'sampling/createMessage');
    await upstream.send({
      jsonrpc: '2.0',
      id: asked.id ?? null,
      result: { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'hello' } },
    });
    assert.match(textOf(await answerTo(sink, 's1')), /model said: .*hello/);
  });

  it('list changes and resource updates come from ONE subscriptions/listen stream, re-opened when interest changes', async (t) => {
    const { server, sink, request } = await connect(t);
    await eventually(() => server.openListenStreams() === 1);
    server.toolsChanged();
    const changed = await sink.waitFor((message) => message.method === 'notifications/tools/list_changed');
    assert.equal(changed.params, undefined, 'no subscription id for the 2025 host');

    assert.deepEqual((await request('resources/subscribe', { uri: 'config://app' })).result, {});
    assert.equal(server.count('resources/subscribe'), 0);
    await eventually(() => server.openListenStreams() === 1);
    assert.equal(server.count('subscriptions/listen'), 2);
    server.resourceUpdated('config://app');
    const updated = await sink.waitFor((message) => message.method === 'notifications/resources/updated');
    assert.deepEqual(updated.params, { uri: 'config://app' });

    assert.deepEqual((await request('resources/unsubscribe', { uri: 'config://app' })).result, {});
    await eventually(() => server.count('subscriptions/listen') === 3 && server.openListenStreams() === 1);
    server.resourceUpdated('config://app');
    server.toolsChanged();
    await eventually(() => sink.messages.filter((message) => message.method === 'notifications/tools/list_changed').length === 2);
    assert.equal(sink.messages.filter((message) => message.method === 'notifications/resources/updated').length, 1);
  });

  it('a dropped listen stream is re-opened with backoff', async (t) => {
    const { server, sink } = await connect(t);
    await eventually(() => server.openListenStreams() === 1);
    server.dropListenStreams();
    await eventually(() => server.count('subscriptions/listen') === 2 && server.openListenStreams() === 1);
    server.toolsChanged();
    await sink.waitFor((message) => message.method === 'notifications/tools/list_changed');
    assert.ok(sink.eventTypes().includes('listen-dropped'));
  });

  it('host cancellation closes the request’s HTTP exchange: the server sees it cancelled, no notification is posted', async (t) => {
    const { server, sink, upstream } = await connect(t);
    await upstream.send({ jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: { name: 'slow', arguments: {} } });
    await eventually(() => server.counters.runs.get('slow-start:') === 1);
    await upstream.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow-1', reason: 'user' } });
    await eventually(() => server.counters.cancelled === 1);
    assert.equal(server.count('notifications/cancelled'), 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(sink.answersTo('slow-1').length, 0, 'a cancelled request gets no answer');
  });

  it('a connection cut before the answer: read-only requests are sent once more, a tools/call never', async (t) => {
    const { server, request, call } = await connect(t);
    server.breakNext('tools/list');
    const listed = await request('tools/list');
    assert.ok(Array.isArray((listed.result as { tools?: unknown[] }).tools));
    assert.equal(server.count('tools/list'), 2);

    await request('tools/list');
    server.breakNext('tools/call');
    const called = await call('increment', { key: 'cut' });
    assert.match(called.error?.message ?? '', /broke before its answer arrived .*may or may not have run, so it was not sent again/);
    assert.equal(server.count('tools/call'), 1, 'not sent again');
    assert.equal(server.counters.runs.get('increment:cut'), undefined);
  });

  it('404 -32601 from the server is an unknown method, not a lost session', async (t) => {
    const { request, sink } = await connect(t);
    const answer = await request('completion/complete', { ref: { type: 'ref/prompt', name: 'x' }, argument: { name: 'a', value: 'b' } });
    assert.equal(answer.error?.code, -32601);
    assert.match(answer.error?.message ?? '', /Method not found: completion\/complete/);
    assert.ok(!sink.eventTypes().some((type) => type.includes('session')));
  });
});
