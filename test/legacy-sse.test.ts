// The 2024-11-05 HTTP+SSE upstream against the v1 SDK's SSEServerTransport, driven directly with
// a recording sink: sessions lost to restarts and to forgetful servers come back, state is
// restored, and the server's own counters prove nothing ran twice.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createLegacySseUpstream } from '../src/upstream/legacy-sse.js';
import { UpstreamError } from '../src/upstream/upstream.js';
import { type SseServer, startSseServer } from './fixtures/sse-server.js';
import { eventually } from './helpers/eventually.js';
import { answerTo, hostInitialize, type RecordingSink, recordingSink } from './helpers/sink.js';

async function connected(t: TestContext, server?: SseServer) {
  const sse = server ?? (await startSseServer());
  if (server === undefined) t.after(() => sse.close());
  const sink = recordingSink();
  const upstream = createLegacySseUpstream({
    url: new URL(sse.url),
    headers: {},
    fetch,
    timeoutMs: 2000,
    sink,
    reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
  });
  t.after(() => upstream.close());
  await upstream.send(hostInitialize(1));
  const initialized = await answerTo(sink, 1);
  assert.ok(initialized.result, JSON.stringify(initialized));
  await upstream.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  let next = 100;
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const id = next++;
    await upstream.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
    return answerTo(sink, id);
  };
  const request = async (method: string, params: Record<string, unknown>) => {
    const id = next++;
    await upstream.send({ jsonrpc: '2.0', id, method, params });
    return answerTo(sink, id);
  };
  return { server: sse, sink, upstream, call, request };
}

const textOf = (answer: { result?: unknown }) => ((answer.result as { content?: { text?: string }[] })?.content?.[0]?.text ?? '') as string;

function waitForEvent(sink: RecordingSink, type: string, count = 1, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (sink.events.filter((event) => event.type === type).length >= count) return resolve();
      if (Date.now() > deadline) return reject(new Error(`no ${type} event; events: ${JSON.stringify(sink.events)}`));
      setTimeout(check, 20);
    };
    check();
  });
}

describe('2024-11-05 HTTP+SSE upstream', () => {
  it('speaks the old transport: initialize, tool calls, answers on the stream', async (t) => {
    const { server, call, upstream } = await connected(t);
    assert.equal(upstream.era, '2024-http-sse');
    assert.equal(textOf(await call('increment')), '1');
    assert.equal(textOf(await call('increment')), '2');
    assert.equal(server.counters.initializations, 1);
    assert.equal(server.counters.executions, 2);
    // end() ends the session with its stream, and nothing opens another.
    await upstream.end();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(server.counters.streams, 1);
  });

  it('messages sent at once keep their order: one stream, one session, initialize first', async (t) => {
    const server = await startSseServer();
    t.after(() => server.close());
    const sink = recordingSink();
    const upstream = createLegacySseUpstream({ url: new URL(server.url), headers: {}, fetch, timeoutMs: 2000, sink });
    t.after(() => upstream.close());
    await Promise.all([
      upstream.send(hostInitialize(1)),
      upstream.send({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      upstream.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'increment', arguments: {} } }),
    ]);
    assert.ok((await answerTo(sink, 1)).result);
    assert.equal(textOf(await answerTo(sink, 2)), '1');
    assert.equal(server.counters.streams, 1);
    assert.equal(server.counters.initializations, 1);
  });

  it('a restart mid-session: new stream, the host initialize replayed, log level and subscriptions restored', async (t) => {
    const { server, sink, call, request } = await connected(t);
    assert.ok((await request('logging/setLevel', { level: 'debug' })).result);
    assert.ok((await request('resources/subscribe', { uri: 'config://app' })).result);
    assert.equal(textOf(await call('increment', { key: 'a' })), '1');

    await server.restart({ downMs: 200 });
    await waitForEvent(sink, 'session-recovered');
    assert.equal(server.counters.initializations, 2, 'one new session');
    assert.deepEqual(server.counters.setLevels, ['debug', 'debug']);
    assert.deepEqual(server.counters.subscribes, ['config://app', 'config://app']);
    // The host is told to fetch its lists again: the server may have been redeployed.
    await sink.waitFor((message) => message.method === 'notifications/tools/list_changed');

    assert.equal(textOf(await call('increment', { key: 'b' })), '2');
    await server.updateResource();
    await sink.waitFor((message) => message.method === 'notifications/resources/updated');
    assert.deepEqual([...server.counters.executionsByKey.values()], [1, 1], 'nothing ran twice');
  });

  it('a request accepted before the stream dropped gets an error answer and is never sent again', async (t) => {
    const { server, sink, upstream, call } = await connected(t);
    await upstream.send({ jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: { name: 'slow', arguments: { key: 'slow' } } });
    await eventually(() => server.counters.executionsByKey.get('slow') === 1);
    await server.restart();
    const answer = await answerTo(sink, 'slow-1');
    assert.match(answer.error?.message ?? '', /may or may not have run, and it was not sent again/);
    await waitForEvent(sink, 'session-recovered');
    assert.equal(textOf(await call('increment', { key: 'after' })), '2');
    assert.equal(server.counters.executionsByKey.get('slow'), 1, 'the slow call ran once');
    assert.equal(sink.answersTo('slow-1').length, 1, 'one answer');
  });

  it('a POST refused with 404 (the server forgot the session) is replayed once on a new session', async (t) => {
    const { server, sink, call } = await connected(t);
    assert.equal(textOf(await call('increment', { key: 'first' })), '1');
    server.forgetSessions();
    assert.equal(textOf(await call('increment', { key: 'second' })), '2');
    assert.equal(server.counters.unknownSessions, 1);
    assert.equal(server.counters.initializations, 2);
    assert.equal(server.counters.executionsByKey.get('second'), 1);
    assert.ok(sink.eventTypes().includes('session-lost'));
  });

  it('a request sent while the server is down waits for the new session and runs once', async (t) => {
    const { server, sink, call } = await connected(t);
    const restarted = server.restart({ downMs: 400 });
    await waitForEvent(sink, 'stream-lost');
    const answer = await call('increment', { key: 'during' });
    await restarted;
    assert.equal(textOf(answer), '1');
    assert.equal(server.counters.executionsByKey.get('during'), 1);
  });

  it('a URL that is not an SSE endpoint: the initialize is refused with what the server answered', async (t) => {
    const server = await startSseServer();
    t.after(() => server.close());
    const sink = recordingSink();
    const upstream = createLegacySseUpstream({
      url: new URL(server.url.replace('/sse', '/nope')),
      headers: {},
      fetch,
      timeoutMs: 2000,
      sink,
    });
    t.after(() => upstream.close());
    await assert.rejects(upstream.send(hostInitialize(1)), (error: unknown) => {
      assert.ok(error instanceof UpstreamError);
      assert.match(error.message, /is not an HTTP\+SSE endpoint: GET answered HTTP 404 "Cannot GET \/nope"/);
      assert.equal(error.mayHaveRun, false);
      return true;
    });
  });
});
