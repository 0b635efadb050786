// Issue 16, item 2: a session its client ended (DELETE, through any replica) is over on every
// replica: 404, and no request of it reaches the upstream again, whatever the upstream answered to
// the DELETE (405 included: the spec lets servers refuse to end sessions). Two real `serve`
// processes on a real redis-server; the upstream counts every request it receives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HostileServer, startHostileServer } from './fixtures/hostile-server.js';
import { eventually } from './helpers/eventually.js';
import { gatewayFor, newKey, startServe, tempFile } from './helpers/gateway.js';
import { openRawSession } from './helpers/raw-session.js';
import { redisMissing, startRedis } from './helpers/redis.js';

const skip = redisMissing();
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A POST of `message` on session `id` to `url` (any replica). */
function postOn(url: string, id: string, message: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify(message),
  });
}

const echo = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: `call ${id}` } } });

describe('serve: an ended session is over on every replica', { skip }, () => {
  it('two replicas on Redis, upstreams that answer DELETE with 405 and with 200: the replica that served the session before answers 404, and the upstream hears nothing more', async (t) => {
    const redis = await startRedis();
    t.after(() => redis.stop());
    const upstreams = await Promise.all([405, 200].map((deleteStatus) => startHostileServer({ deleteStatus })));
    t.after(() => Promise.all(upstreams.map((upstream) => upstream.close())));
    const [refuses, ends] = upstreams as [HostileServer, HostileServer];
    const keyFile = tempFile('keys', `${newKey()}\n`);
    const args = [refuses.url, '--name', 'refuses', ends.url, '--name', 'ends', '--store', redis.url, '--key-file', keyFile];
    const replicas = await Promise.all([0, 1].map(() => startServe(args)));
    t.after(() => Promise.all(replicas.map((replica) => replica.stop())));
    for (const [name, upstream] of [
      ['refuses', refuses],
      ['ends', ends],
    ] as const) {
      const [one, two] = replicas.map((replica) => `${replica.origin}/${name}/mcp`) as [string, string];
      // Several sessions, each ended on one replica and called on the other right after: no window.
      for (let round = 0; round < 4; round++) {
        const session = await openRawSession(fetch, one);
        assert.equal((await postOn(two, session.sessionId, echo(1))).status, 200, 'replica 2 serves the session');
        assert.equal((await postOn(one, session.sessionId, echo(2))).status, 200);
        const ended = await fetch(one, {
          method: 'DELETE',
          headers: { 'mcp-session-id': session.sessionId, 'mcp-protocol-version': '2025-06-18' },
        });
        assert.equal(ended.status, 200, 'the client ended its session');
        const heard = upstream.counters.requests.length;
        const after = await postOn(two, session.sessionId, echo(3));
        assert.equal(after.status, 404, `${name}, round ${round}: replica 2 refuses the ended session`);
        assert.equal(((await after.json()) as { error?: { code?: number } }).error?.code, -32001);
        assert.equal((await postOn(one, session.sessionId, echo(4))).status, 404);
        assert.equal(upstream.counters.requests.length, heard, `${name}, round ${round}: no request reached the upstream after the DELETE`);
      }
      assert.equal(upstream.counters.deletes, 4, `${name}: each DELETE was passed on once`);
    }
  });

  it('one process, memory store: the upstream fails the DELETE (500); the session is ended anyway, and its GET stream ends', async (t) => {
    const upstream = await startHostileServer({
      deleteStatus: 500,
      get: (res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(
          `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'open' } })}\n\n`,
        );
      },
    });
    t.after(() => upstream.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'hostile', url: new URL(upstream.url) }] });
    const session = await openRawSession(fetch, gateway.url);
    const stream = await fetch(gateway.url, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': session.sessionId, 'mcp-protocol-version': '2025-06-18' },
    });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const ended = await fetch(gateway.url, { method: 'DELETE', headers: { 'mcp-session-id': session.sessionId } });
    assert.equal(ended.status, 200);
    const heard = upstream.counters.requests.length;
    assert.equal((await postOn(gateway.url, session.sessionId, echo(5))).status, 404);
    assert.equal(upstream.counters.requests.length, heard);
    // The stream of the ended session ends too (within a bound: it must not be waited for forever).
    const closed = await Promise.race([
      (async () => {
        for (;;) if ((await reader.read()).done) return 'ended';
      })(),
      new Promise((resolve) => setTimeout(() => resolve('still open'), 3000)),
    ]);
    assert.equal(closed, 'ended');
  });
});

describe('serve: ending a session is bounded', () => {
  it('an upstream that never answers DELETE: the client is answered within the upstream timeout, the upstream exchange is given up, the session is over', async (t) => {
    const upstream = await startHostileServer({ deleteHangs: true });
    t.after(() => upstream.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'hostile', url: new URL(upstream.url) }], timeoutMs: 400 });
    for (let round = 0; round < 3; round++) {
      const session = await openRawSession(fetch, gateway.url);
      const started = performance.now();
      const ended = await fetch(gateway.url, { method: 'DELETE', headers: { 'mcp-session-id': session.sessionId } });
      const ms = performance.now() - started;
      assert.equal(ended.status, 200);
      // The timeout, and at most a hundredth of it more (plus the machine's own delays).
      assert.ok(ms >= 400 && ms < 2000, `round ${round}: the DELETE was answered after ${Math.round(ms)} ms`);
      assert.equal((await postOn(gateway.url, session.sessionId, echo(round))).status, 404);
    }
    assert.equal(upstream.counters.deletes, 3);
    // The gateway closed each of its DELETE exchanges when it gave up on them.
    await eventually(() => upstream.counters.deletesAbandoned === 3, 2000);
  });
});
