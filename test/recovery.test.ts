// Recovery behaviour against a real server on loopback (our fixture, built on the SDK's server
// transport), driven by bare fetch and by the SDK clients. Server-side counters are the proof.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { type DialectServerOptions, startDialectServer } from '../src/demo/dialect-server.js';
import { isLifelineError, SessionRecoveryError, withSessionRecovery } from '../src/index.js';
import { connectClient, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';
import { answerOf, openRawSession } from './helpers/raw-session.js';

async function setup(
  t: { after: (fn: () => unknown) => void },
  options: DialectServerOptions = {},
  timeout?: number,
  recovery: { restartWindow?: number } = {},
) {
  const seen: { method: string; body: unknown; authorization: string | undefined }[] = [];
  const server = await startDialectServer({
    ...options,
    onRequest: (req: IncomingMessage, body: unknown) => {
      seen.push({ method: req.method ?? '', body, authorization: req.headers.authorization });
    },
  });
  t.after(() => server.close());
  const recorder = recordEvents();
  const fetchWithRecovery = withSessionRecovery({ onEvent: recorder.onEvent, ...recovery, ...(timeout === undefined ? {} : { timeout }) })(
    fetch,
  );
  const initializeAttempts = () => seen.filter((entry) => (entry.body as { method?: string } | undefined)?.method === 'initialize').length;
  return { server, recorder, fetch: fetchWithRecovery, seen, initializeAttempts };
}

describe('what is never mistaken for session loss', () => {
  it('an unrelated 400 reaches the caller intact, with no re-initialization', async (t) => {
    const { server, recorder, fetch } = await setup(t);
    const session = await openRawSession(fetch, server.url);

    const badVersion = await session.post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-protocol-version': '1999-01-01' });
    assert.equal(badVersion.status, 400);
    assert.match(await badVersion.text(), /Unsupported protocol version/);

    const badJson = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session.sessionId },
      body: '{not json',
    });
    assert.equal(badJson.status, 400);
    assert.match(await badJson.text(), /-32700/);

    const invalidParams = await session.request('tools/call', { name: 'echo' });
    assert.ok(invalidParams['error'] !== undefined || invalidParams['result'] !== undefined);

    assert.equal(server.counters.initializations, 1);
    assert.deepEqual(recorder.events, []);
  });

  it('a network error mid-response is not replayed: the tool ran once and the caller gets the error', async (t) => {
    const { server, recorder, fetch } = await setup(t);
    const client = await connectClient('v1', server.url, fetch);
    t.after(() => client.close());
    server.faults.cutNextToolCall = true;
    await assert.rejects(client.callTool('increment', { key: 'cut' }));
    assert.equal(server.counters.executionsByKey.get('cut'), 1);
    assert.equal(recorder.count('replayed'), 0);
    assert.equal(recorder.count('reinitialized'), 0);
    assert.equal(textOf(await client.callTool('increment')), '2');
  });
});

describe('broken answers (not session loss) still end every call', () => {
  for (const sdk of ['v1', 'v2'] as const) {
    it(`${sdk}: an SSE answer cut mid-event is answered at once with a clear error, not replayed`, async (t) => {
      const { server, recorder, fetch } = await setup(t);
      const client = await connectClient(sdk, server.url, fetch);
      t.after(() => client.close());
      server.faults.sabotage = { kind: 'cut-sse', count: 1 };
      const started = Date.now();
      await assert.rejects(client.callTool('increment', { key: 'cut' }), /response stream for tools\/call broke before its answer arrived/);
      assert.ok(Date.now() - started < 2_000, 'answered without waiting for a timeout');
      assert.equal(recorder.count('stream-broken'), 1);
      assert.equal(recorder.count('replayed'), 0);
      assert.deepEqual(server.counters.sabotaged, ['cut']);
      assert.equal(server.counters.executions, 0);
      assert.equal(textOf(await client.callTool('increment', { key: 'next' })), '1');
    });
  }

  it('malformed and truncated JSON answers reach the client as errors, not replays', async (t) => {
    const { server, recorder, fetch } = await setup(t, { jsonResponse: true });
    const client = await connectClient('v1', server.url, fetch);
    t.after(() => client.close());
    for (const kind of ['malformed-json', 'truncated-json'] as const) {
      server.faults.sabotage = { kind, count: 1 };
      await assert.rejects(client.callTool('increment', { key: kind }));
    }
    assert.equal(server.counters.executions, 0);
    assert.equal(recorder.count('replayed'), 0);
    assert.equal(textOf(await client.callTool('increment')), '1');
  });
});

describe('when re-initialization fails', () => {
  it('server down during recovery, no restart window: a clear error, then the next call after the server returns succeeds', async (t) => {
    const first = await setup(t, {}, undefined, { restartWindow: 0 });
    const port = first.server.port;
    const client = await connectClient('v1', first.server.url, first.fetch);
    t.after(() => client.close());
    await client.callTool('increment');

    first.server.faults.afterLostAnswer = () => void first.server.close();
    first.server.dropSessions();
    const error = await client.callTool('increment', { key: 'during-outage' }).then(
      () => assert.fail('the call should fail while the server is down'),
      (reason: unknown) => reason,
    );
    assert.ok(isLifelineError(error), `expected a LifelineError, got ${String(error)}`);
    assert.ok(error instanceof SessionRecoveryError);
    assert.equal(error.code, 'REINITIALIZE_FAILED');
    assert.match(error.message, /MCP session expired/);
    assert.match(error.message, /HTTP 404 "Session not found"/);
    assert.match(error.message, /connection refused/);
    assert.match(error.message, /next request will try again/);
    assert.equal(first.recorder.count('recovery-failed'), 1);

    const second = await startDialectServer({ port });
    t.after(() => second.close());
    assert.equal(textOf(await client.callTool('increment', { key: 'after-outage' })), '1');
    assert.equal(second.counters.executions, 1);
    assert.equal(first.server.counters.executions, 1, 'the call during the outage never ran');
  });

  it('initialize answered 503: one attempt for all concurrent callers, error names the answer, no wedge', async (t) => {
    const { server, recorder, fetch, initializeAttempts } = await setup(t);
    const client = await connectClient('v2', server.url, fetch);
    t.after(() => client.close());
    server.dropSessions();
    server.faults.initializeStatus = 503;
    const attemptsBefore = initializeAttempts();

    const outcomes = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => client.callTool('increment', { key: `k${n}` })));
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['rejected', 'rejected', 'rejected', 'rejected', 'rejected'],
    );
    const reason = (outcomes[0] as PromiseRejectedResult).reason as Error;
    assert.match(reason.message, /initialize was answered with HTTP 503/);
    assert.equal(initializeAttempts() - attemptsBefore, 1, 'one re-initialization attempt for five callers');
    assert.equal(server.counters.executions, 0);
    assert.equal(recorder.of('recovery-failed').filter((event) => event.rpcMethod === 'tools/call').length, 5);

    server.faults.initializeStatus = undefined;
    assert.equal(textOf(await client.callTool('increment', { key: 'later' })), '1');
    assert.equal(initializeAttempts() - attemptsBefore, 2);
  });

  it('initialize that never answers is bounded by the timeout option', async (t) => {
    const { server, fetch } = await setup(t, {}, 300);
    const client = await connectClient('v1', server.url, fetch);
    t.after(() => client.close());
    server.dropSessions();
    server.faults.initializeDelayMs = 5_000;
    const started = Date.now();
    await assert.rejects(client.callTool('echo', { text: 'x' }), /no answer within 300 ms/);
    assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
  });

  it('initialize refused with 401: the client sees the 401 and why', async (t) => {
    const { server, fetch } = await setup(t);
    const client = await connectClient('v1', server.url, fetch);
    t.after(() => client.close());
    server.dropSessions();
    server.faults.initializeStatus = 401;
    await assert.rejects(client.callTool('echo', { text: 'x' }), (error: Error) => {
      assert.match(error.message, /401/);
      assert.match(error.message, /MCP session expired/);
      assert.match(error.message, /refused the credentials/);
      return true;
    });
  });
});

describe('what is replayed, and what is not', () => {
  it('an abort during recovery rejects at once and nothing runs', async (t) => {
    const { server, fetch } = await setup(t);
    const session = await openRawSession(fetch, server.url);
    server.dropSessions();
    server.faults.initializeDelayMs = 500;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    await assert.rejects(
      fetch(server.url, {
        method: 'POST',
        signal: controller.signal,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session.sessionId },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'increment', arguments: { key: 'aborted' } } }),
      }),
      (error: Error) => error.name === 'AbortError',
    );
    assert.ok(Date.now() - started < 400, 'rejected before the re-initialization finished');
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(server.counters.executionsByKey.get('aborted'), undefined);
  });

  it('a stream body is not replayed: NOT_REPLAYABLE, and nothing ran', async (t) => {
    const { server, fetch } = await setup(t);
    const session = await openRawSession(fetch, server.url);
    server.dropSessions();
    const message = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'increment', arguments: {} } });
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(message));
        controller.close();
      },
    });
    await assert.rejects(
      fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session.sessionId },
        body,
        duplex: 'half',
      } as RequestInit),
      (error: unknown) => isLifelineError(error) && error.code === 'NOT_REPLAYABLE',
    );
    assert.equal(server.counters.executions, 0);
  });

  it("the client's answer to a lost session's server request is dropped (202), not replayed", async (t) => {
    const { server, recorder, fetch } = await setup(t);
    const session = await openRawSession(fetch, server.url);
    server.dropSessions();
    const dropped = await session.post({ jsonrpc: '2.0', id: 'server-request-1', result: {} });
    assert.equal(dropped.status, 202);
    assert.equal(recorder.of('message-dropped')[0]?.reason, 'response-to-lost-session');
    assert.equal(server.counters.initializations, 1, 'no session opened just to drop an answer');

    // The session is known dead: the next request re-initializes before it is sent.
    const answer = await session.request('tools/call', { name: 'increment', arguments: {} });
    assert.ok(answer['result'] !== undefined);
    assert.equal(server.counters.initializations, 2);
    assert.equal(server.counters.lostAnswers, 1, 'the request was not first sent to the dead session');
  });

  it('DELETE on a lost session counts as done; on a live one it reaches the server', async (t) => {
    const { server, recorder, fetch } = await setup(t);
    const dead = await openRawSession(fetch, server.url);
    server.dropSessions();
    const headers = { 'mcp-session-id': dead.sessionId, 'mcp-protocol-version': '2025-06-18' };
    const deleted = await fetch(server.url, { method: 'DELETE', headers });
    assert.equal(deleted.status, 200);
    assert.equal(recorder.of('message-dropped')[0]?.reason, 'delete-of-lost-session');
    assert.equal(server.counters.initializations, 1);

    const live = await openRawSession(fetch, server.url);
    const terminated = await fetch(server.url, {
      method: 'DELETE',
      headers: { 'mcp-session-id': live.sessionId, 'mcp-protocol-version': '2025-06-18' },
    });
    assert.equal(terminated.status, 200);
    assert.equal(server.counters.deletes, 1);
  });

  it("re-initializes with the triggering request's current headers (a refreshed token), never reporting them", async (t) => {
    const { server, recorder, fetch, seen } = await setup(t);
    const session = await openRawSession(fetch, server.url, { authorization: 'Bearer first-token' });
    server.dropSessions();
    const answer = await session.request(
      'tools/call',
      { name: 'echo', arguments: { text: 'hi' } },
      { authorization: 'Bearer refreshed-token' },
    );
    assert.ok(answer['result'] !== undefined);
    const initializes = seen.filter((entry) => (entry.body as { method?: string } | undefined)?.method === 'initialize');
    assert.deepEqual(
      initializes.map((entry) => entry.authorization),
      ['Bearer first-token', 'Bearer refreshed-token'],
    );
    const reported = JSON.stringify(recorder.events);
    assert.doesNotMatch(reported, /token/);
    assert.doesNotMatch(reported, new RegExp(session.sessionId));
  });

  it('a Request object as input is recovered like (url, init)', async (t) => {
    const { server, fetch } = await setup(t);
    const session = await openRawSession(fetch, server.url);
    server.dropSessions();
    const response = await fetch(
      new Request(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session.sessionId },
        body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'increment', arguments: {} } }),
      }),
    );
    assert.equal(response.status, 200);
    assert.ok((await answerOf(response))['result'] !== undefined);
    assert.equal(server.counters.executions, 1);
  });
});

describe('the server-to-client stream', () => {
  it('after recovery, notifications for restored subscriptions reach the client on the reopened GET stream', async (t) => {
    const { server, recorder, fetch } = await setup(t);
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const { ResourceUpdatedNotificationSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const client = new Client({ name: 'stream-test', version: '1' });
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updates.push(notification.params.uri);
    });
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      fetch,
      reconnectionOptions: { initialReconnectionDelay: 50, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1.5, maxRetries: 5 },
    });
    await client.connect(transport);
    t.after(() => client.close());
    await client.subscribeResource({ uri: 'lifeline://counter' });

    server.dropSessions();
    // The GET stream closed with the session; its reconnect meets the lost session and recovers.
    await waitFor(() => recorder.count('replayed') === 1 && server.sessions().length === 1);
    await waitFor(async () => (await server.notifySubscribers()) > 0 && updates.length > 0);
    assert.deepEqual(updates.slice(0, 1), ['lifeline://counter']);
    assert.equal(recorder.of('session-lost')[0]?.method, 'GET');
    assert.equal(recorder.count('reinitialized'), 1);
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
