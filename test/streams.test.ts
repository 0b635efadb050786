// Issue 8 part 1, the streams: a POST whose event stream ends without its answer is answered at
// once; a GET stream that keeps failing is held back (exponential backoff to a cap), said once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { type FetchLike, withSessionRecovery } from '../src/index.js';
import { connectClient, SDKS, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';
import { openRawSession } from './helpers/raw-session.js';

const BACKOFF = { initialDelayMs: 100, maxDelayMs: 400 };

describe('a POST whose event stream ends without its answer', () => {
  for (const sdk of SDKS) {
    it(`${sdk}: is answered at once with "stream ended without an answer", naming the method; not replayed`, async (t) => {
      const server = await startDialectServer();
      t.after(() => server.close());
      const recorder = recordEvents();
      const client = await connectClient(sdk, server.url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
      t.after(() => client.close());
      server.faults.endWithoutAnswer = true;
      const started = Date.now();
      await assert.rejects(client.callTool('increment', { key: 'ran' }), /stream ended without an answer to tools\/call/);
      assert.ok(Date.now() - started < 3_000, `answered after ${Date.now() - started} ms, not at the client's timeout`);
      assert.equal(server.counters.executionsByKey.get('ran'), 1, 'it ran once and was not sent again');
      assert.equal(recorder.of('stream-broken')[0]?.how, 'ended');
      server.faults.endWithoutAnswer = false;
      assert.equal(textOf(await client.callTool('increment', { key: 'next' })), '2');
    });
  }
});

/**
 * Opens GETs on `sessionId` back to back, as fast as the middleware lets them go, for `ms` or until
 * `limit` of them were sent. Resolves with how many were sent and how long it took.
 */
async function hammerGets(
  fetch: FetchLike,
  url: string,
  sessionId: string,
  ms: number,
  limit = Number.POSITIVE_INFINITY,
): Promise<{ sent: number; elapsedMs: number }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const started = Date.now();
  let sent = 0;
  try {
    for (; !controller.signal.aborted && sent < limit; sent++) {
      const response = await fetch(url, {
        method: 'GET',
        headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
        signal: controller.signal,
      }).catch(() => undefined);
      await response?.body?.cancel().catch(() => {});
    }
  } finally {
    clearTimeout(timer);
  }
  return { sent, elapsedMs: Date.now() - started };
}

describe('a GET stream that keeps failing is held back', () => {
  it('a server that refuses every GET (503): a handful of GETs, not hundreds; said once', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    server.faults.refuseGet = 503;
    // Control: without the middleware, the same loop sends 40 GETs in well under the 2 s below
    // (counted, not timed, so a busy machine only makes it slower, not wrong).
    const plainSession = await openRawSession(fetch, server.url);
    const control = await hammerGets(fetch, server.url, plainSession.sessionId, 10_000, 40);
    const plainGets = server.counters.httpRequests['GET'] ?? 0;
    assert.equal(plainGets, 40, 'control: the server took every GET');
    assert.ok(control.elapsedMs < 2_000, `control: 40 GETs took ${control.elapsedMs} ms without the middleware`);

    const recorder = recordEvents();
    const lifeline = withSessionRecovery({ onEvent: recorder.onEvent, streamBackoff: BACKOFF })(fetch);
    const session = await openRawSession(lifeline, server.url);
    await hammerGets(lifeline, server.url, session.sessionId, 2_000);
    const gets = (server.counters.httpRequests['GET'] ?? 0) - plainGets;
    // Held 100, 200, 400, 400… ms: at most 2 s / 400 ms + 3 at the start, plus one in flight.
    assert.ok(gets >= 3 && gets <= 10, `${gets} GETs in 2 s`);
    const reports = recorder.of('stream-backoff');
    assert.equal(reports.length, 1, 'reported once');
    assert.equal(reports[0]?.delayMs, 200);
    assert.match(reports[0]?.reason ?? '', /HTTP 503/);
    // POSTs are not held back.
    assert.ok((await session.request('tools/call', { name: 'increment', arguments: {} }))['result'] !== undefined);
  });

  it('a GET stream that always opens with a session error while the session lives: held back, POSTs unharmed', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    server.faults.getOpensWithSessionError = true;
    const gets = () => server.counters.httpRequests['GET'] ?? 0;
    // Waits `ms`, or (control) until `enough` GETs came, at most 10 s: counted, not timed, so a busy machine cannot fail it.
    const count = async (fetchFn: FetchLike, wait: { ms: number } | { enough: number }) => {
      const before = gets();
      const client = new Client({ name: 'fast-reconnect', version: '1' });
      // A client that re-opens its stream 10 ms after each end (each successful open resets its count of retries).
      const transport = new StreamableHTTPClientTransport(new URL(server.url), {
        fetch: fetchFn,
        reconnectionOptions: { initialReconnectionDelay: 10, maxReconnectionDelay: 10, reconnectionDelayGrowFactor: 1, maxRetries: 50 },
      });
      await client.connect(transport);
      const started = Date.now();
      if ('ms' in wait) await new Promise((resolve) => setTimeout(resolve, wait.ms));
      else while (gets() - before < wait.enough && Date.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 10));
      const ms = Date.now() - started;
      const result = await client.callTool({ name: 'increment', arguments: {} });
      await client.close();
      return { gets: gets() - before, ms, result };
    };
    const plain = await count(fetch, { enough: 16 });
    assert.ok(plain.gets >= 16, `control: ${plain.gets} GETs in ${plain.ms} ms without the middleware`);

    const recorder = recordEvents();
    const held = await count(withSessionRecovery({ onEvent: recorder.onEvent, streamBackoff: BACKOFF })(fetch), { ms: 2_000 });
    assert.ok(held.gets >= 3 && held.gets <= 10, `${held.gets} GETs in 2 s (the control made ${plain.gets} in ${plain.ms} ms)`);
    const result = held.result;
    assert.equal(textOf(result), '2', 'calls still work');
    assert.equal(recorder.count('stream-backoff'), 1);
    assert.equal(recorder.count('reinitialized'), 0, 'the session lives: never replaced');
    assert.ok(recorder.count('loss-not-confirmed') >= 1, 'each stream opening with a session error was checked with a ping');
    assert.equal(server.counters.initializations, 2, 'one session per client, none replaced');
  });
});
