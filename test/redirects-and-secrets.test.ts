// Issue 9, the recovery side: the middleware's own requests never follow a redirect to another
// origin (so credentials never reach it), and nothing it repeats from a server carries a header
// value it sent or a full session id.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { isLifelineError, withSessionRecovery } from '../src/index.js';
import { connectClient, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';
import { openRawSession } from './helpers/raw-session.js';

const API_KEY = 'lifeline-test-key-7f3a91c2';
const TOKEN = 'sk-live-0a1b2c3d4e5f6a7b';

/** Another origin (another port on 127.0.0.1): records whatever reaches it. */
async function startOtherOrigin(t: { after: (fn: () => unknown) => void }) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'other-origin-session' });
    res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, seen };
}

async function setup(t: { after: (fn: () => unknown) => void }, options: Parameters<typeof withSessionRecovery>[0] = {}) {
  const server = await startDialectServer();
  t.after(() => server.close());
  const recorder = recordEvents();
  const fetchWithRecovery = withSessionRecovery({ onEvent: recorder.onEvent, timeout: 2_000, ...options })(fetch);
  const session = await openRawSession(fetchWithRecovery, server.url, { 'x-api-key': API_KEY, authorization: `Bearer ${TOKEN}` });
  return { server, recorder, session };
}

const call = (session: Awaited<ReturnType<typeof openRawSession>>, key: string) =>
  session.request('tools/call', { name: 'increment', arguments: { key } });

describe('redirects of the middleware’s own requests', () => {
  it('re-initialization redirected to another origin: not followed, the error says where; nothing reaches it', async (t) => {
    const other = await startOtherOrigin(t);
    const { server, recorder, session } = await setup(t);
    server.dropSessions();
    server.faults.redirect = { rpcMethods: ['initialize'], location: other.url };
    const error = await call(session, 'k').then(
      () => assert.fail('expected the recovery to fail'),
      (reason: unknown) => reason as Error,
    );
    assert.ok(isLifelineError(error) && error.code === 'REINITIALIZE_FAILED', String(error));
    assert.match(
      error.message,
      /initialize: redirected \(HTTP 307\) to another origin, http:\/\/127\.0\.0\.1:\d+\/mcp; mcp-lifeline does not follow it/,
    );
    assert.equal(other.seen.length, 0, 'the other origin received nothing');
    assert.equal(server.counters.executions, 0);
    assert.equal(recorder.count('reinitialized'), 0);
  });

  it('ping, keep-alive and the DELETE of an abandoned session: never sent to another origin', async (t) => {
    const other = await startOtherOrigin(t);
    const { server, recorder, session } = await setup(t, { keepAlive: 50, circuit: { failures: 1 } });
    server.faults.redirect = { rpcMethods: ['ping'], httpMethods: ['DELETE'], location: other.url };
    // Keep-alive pings go out while idle…
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(recorder.count('keepalive-failed') >= 1, 'the redirected keep-alive ping failed, and said so');
    // …a suspicion's ping (the dialect answers 200 with a JSON-RPC error)…
    server.dialect = 'jsonrpc-200';
    server.dropSessions();
    const suspected = await call(session, 'suspected');
    assert.match(JSON.stringify(suspected['error']), /Session not found/, 'delivered as the server sent it');
    assert.equal(recorder.of('loss-not-confirmed')[0]?.outcome, 'unconfirmed');
    assert.match(recorder.of('loss-not-confirmed')[0]?.reason ?? '', /redirected \(HTTP 307\) to another origin/);
    // …and the DELETE of a session given up at once.
    server.dialect = 'spec-404';
    server.faults.redirect = { httpMethods: ['DELETE'], location: other.url };
    server.faults.rejectSessions = 'requests';
    await assert.rejects(call(session, 'churn'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(recorder.count('session-abandoned'), 1);
    assert.equal(other.seen.length, 0, 'the other origin received nothing');
    assert.ok((server.counters.httpRequests['DELETE'] ?? 0) >= 1, 'the DELETE was sent, to the same origin only');
  });

  it('a same-origin redirect (307) is followed, with the same headers', async (t) => {
    const seen: { url: string; apiKey: string | undefined }[] = [];
    const server = await startDialectServer({
      onRequest: (req) => seen.push({ url: req.url ?? '', apiKey: req.headers['x-api-key'] as string | undefined }),
    });
    t.after(() => server.close());
    const session = await openRawSession(withSessionRecovery()(fetch), server.url, { 'x-api-key': API_KEY });
    server.dropSessions();
    server.faults.redirect = { rpcMethods: ['initialize'], location: `${server.url}?moved=1`, count: 1 };
    assert.ok((await call(session, 'k'))['result'] !== undefined);
    assert.equal(server.counters.executionsByKey.get('k'), 1);
    assert.deepEqual(
      seen.filter((entry) => entry.url === '/mcp?moved=1'),
      [{ url: '/mcp?moved=1', apiKey: API_KEY }],
    );
  });
});

describe('what the middleware repeats from a server carries no secret', () => {
  const secrets = (text: string) =>
    [API_KEY, TOKEN, Buffer.from(TOKEN).toString('base64'), encodeURIComponent(API_KEY)].filter((secret) => text.includes(secret));

  for (const status of [400, 401, 500]) {
    it(`re-initialization refused with ${status}, quoting every request header: scrubbed from errors and events`, async (t) => {
      const { server, recorder, session } = await setup(t);
      server.faults.echoHeaders = true;
      server.dropSessions();
      server.faults.initializeStatus = status;
      const outcome = await session
        .post({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'increment', arguments: {} } })
        .then(
          async (response) => `HTTP ${response.status} ${await response.text()}`,
          (error: Error) => `${error.message} ${String((error.cause as Error | undefined)?.message)}`,
        );
      assert.match(outcome, status === 401 ? /^HTTP 401 MCP session expired/ : /initialize was answered with HTTP/);
      assert.match(outcome, /\[redacted\]/, 'the quote is there, without the values');
      assert.deepEqual(secrets(outcome), []);
      assert.deepEqual(secrets(JSON.stringify(recorder.events)), []);
      assert.doesNotMatch(outcome + JSON.stringify(recorder.events), new RegExp(session.sessionId));
    });
  }

  it("the client's own initialize refused, quoting the headers: passed to the client as sent, nothing repeated", async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    server.faults.echoHeaders = true;
    server.faults.initializeStatus = 401;
    const recorder = recordEvents();
    const response = await withSessionRecovery({ onEvent: recorder.onEvent })(fetch)(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    assert.equal(response.status, 401);
    assert.match(await response.text(), new RegExp(TOKEN), "the server's own answer, untouched: the client sent that token itself");
    assert.deepEqual(recorder.events, [], 'the middleware repeated nothing');
  });

  it('a lost-session answer that quotes the headers: scrubbed in events; full session ids shortened', async (t) => {
    const { server, recorder, session } = await setup(t);
    server.faults.echoHeaders = true;
    server.dropSessions();
    assert.ok((await call(session, 'k'))['result'] !== undefined);
    const [lost] = recorder.of('session-lost');
    assert.match(lost?.serverMessage ?? '', /Session not found \(request headers:/);
    assert.deepEqual(secrets(JSON.stringify(recorder.events)), []);
    assert.doesNotMatch(JSON.stringify(recorder.events), new RegExp(session.sessionId));
  });

  it('SDK client: a 401 at re-initialization reaches the client without the token it quoted', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const recorder = recordEvents();
    const client = await connectClient(
      'v1',
      server.url,
      withSessionRecovery({ onEvent: recorder.onEvent })((url, init) =>
        fetch(url, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), authorization: `Bearer ${TOKEN}` } }),
      ),
    );
    t.after(() => client.close());
    assert.equal(textOf(await client.callTool('increment')), '1');
    server.faults.echoHeaders = true;
    server.dropSessions();
    server.faults.initializeStatus = 401;
    const error = await client.callTool('increment').then(
      () => assert.fail('expected the 401'),
      (reason: Error) => reason,
    );
    assert.match(error.message, /401/);
    assert.deepEqual(secrets(error.message + JSON.stringify(recorder.events)), []);
  });
});
