// The middleware's `sharing` option: two middlewares stand for two processes (two `serve`
// replicas) that share their sessions through a store (src/gateway/store-session-sharing.ts over
// the memory store), against the dialect server over loopback. The server counts what it executes.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { type DialectServer, startDialectServer } from '../src/demo/dialect-server.js';
import { createMemoryStore } from '../src/gateway/memory-store.js';
import type { SessionStore } from '../src/gateway/session-store.js';
import { createStoreSessionSharing } from '../src/gateway/store-session-sharing.js';
import { type FetchLike, type LifelineEvent, type SessionSharing, withSessionRecovery } from '../src/index.js';
import { answerOf, openRawSession } from './helpers/raw-session.js';

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
const PARAMS = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'shared', version: '1' } };

interface Shared {
  readonly server: DialectServer;
  readonly store: SessionStore;
  /** One middleware per "process", each with its own session table and events. */
  readonly processes: { readonly fetch: FetchLike; readonly events: LifelineEvent[] }[];
}

async function setUp(t: TestContext, count: number): Promise<Shared> {
  const server = await startDialectServer();
  t.after(() => server.close());
  const store = createMemoryStore({ idleTtlMs: 60_000, maxRecords: 100 });
  const processes = Array.from({ length: count }, () => {
    const events: LifelineEvent[] = [];
    const sharing = createStoreSessionSharing({ store, keyOf: (alias) => alias, fallback: () => undefined, recoveryTimeoutMs: 10_000 });
    return { fetch: withSessionRecovery({ sharing, onEvent: (event) => events.push(event) })(fetch), events };
  });
  return { server, store, processes };
}

/** Opens an upstream session with plain fetch and records it in the store under `alias`, as the gateway does. */
async function openShared(shared: Shared, alias: string): Promise<string> {
  const session = await openRawSession(fetch, shared.server.url);
  await shared.store.put(alias, {
    caller: 'test',
    initializeParams: PARAMS,
    serverId: session.sessionId,
    protocolVersion: undefined,
    logLevel: undefined,
    subscriptions: [],
    createdAt: Date.now(),
  });
  return session.sessionId;
}

let nextId = 1;
function call(fetchFn: FetchLike, url: string, alias: string, method: string, params: unknown): Promise<Record<string, unknown>> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params });
  return fetchFn(url, { method: 'POST', headers: { ...HEADERS, 'mcp-session-id': alias }, body }).then(answerOf);
}

const increment = (fetchFn: FetchLike, shared: Shared, key: string) =>
  call(fetchFn, shared.server.url, 'client-1', 'tools/call', { name: 'increment', arguments: { key } });

describe('withSessionRecovery({ sharing })', () => {
  it('a session opened elsewhere is carried on by every process, on the one upstream session', async (t) => {
    const shared = await setUp(t, 2);
    await openShared(shared, 'client-1');
    for (const [index, key] of ['a', 'b', 'c', 'd'].entries()) {
      const answer = await increment(shared.processes[index % 2]?.fetch as FetchLike, shared, key);
      assert.equal((answer['result'] as { isError?: boolean }).isError, undefined, JSON.stringify(answer));
    }
    assert.equal(shared.server.counters.initializations, 1);
    assert.deepEqual(Object.fromEntries(shared.server.counters.executionsByKey), { a: 1, b: 1, c: 1, d: 1 });
  });

  it('the upstream loses the session under concurrent calls in three processes: one re-initialization, restoring what each process set; the others adopt it', async (t) => {
    const shared = await setUp(t, 3);
    const [a, b, c] = shared.processes.map((process) => process.fetch) as [FetchLike, FetchLike, FetchLike];
    const lost = await openShared(shared, 'client-1');
    // State set through different processes: the one that recovers restores both.
    await call(a, shared.server.url, 'client-1', 'logging/setLevel', { level: 'warning' });
    await call(b, shared.server.url, 'client-1', 'resources/subscribe', { uri: 'lifeline://counter' });
    await increment(c, shared, 'warm');
    shared.server.dropSessions();

    const keys = Array.from({ length: 9 }, (_, index) => `after-${index}`);
    await Promise.all(keys.map((key, index) => increment([a, b, c][index % 3] as FetchLike, shared, key)));
    for (const key of keys) assert.equal(shared.server.counters.executionsByKey.get(key), 1, key);
    assert.equal(shared.server.counters.initializations, 2, 'one re-initialization for the three processes');
    const kinds = shared.processes.map((process) =>
      process.events.filter((event) => event.type === 'reinitialized' || event.type === 'session-adopted').map((event) => event.type),
    );
    assert.deepEqual(kinds.flat().sort(), ['reinitialized', 'session-adopted', 'session-adopted'], JSON.stringify(kinds));
    const [live] = shared.server.sessions();
    assert.notEqual(live?.id, lost);
    assert.equal(live?.logLevel, 'warning');
    assert.deepEqual(live?.subscriptions, ['lifeline://counter']);
    assert.equal((await shared.store.get('client-1'))?.serverId, live?.id);
  });

  it('a record without an upstream session (the store was emptied and rebuilt) re-initializes before its first request is sent', async (t) => {
    const shared = await setUp(t, 1);
    await shared.store.put('client-1', {
      caller: 'test',
      initializeParams: PARAMS,
      serverId: undefined,
      protocolVersion: undefined,
      logLevel: undefined,
      subscriptions: [],
      createdAt: Date.now(),
    });
    const answer = await increment(shared.processes[0]?.fetch as FetchLike, shared, 'first');
    assert.equal(shared.server.counters.executionsByKey.get('first'), 1, JSON.stringify(answer));
    assert.equal(shared.server.counters.initializations, 1);
    assert.equal(shared.server.counters.rpcMethods['tools/call'], 1, 'sent once, to the new session');
    assert.equal((await shared.store.get('client-1'))?.serverId, shared.server.sessions()[0]?.id);
  });

  it('DELETE ends the session in the store: another process no longer takes it up', async (t) => {
    const shared = await setUp(t, 2);
    const [a, b] = shared.processes.map((process) => process.fetch) as [FetchLike, FetchLike];
    await openShared(shared, 'client-1');
    await increment(a, shared, 'before');
    const ended = await a(shared.server.url, { method: 'DELETE', headers: { ...HEADERS, 'mcp-session-id': 'client-1' } });
    assert.equal(ended.status, 200);
    assert.equal(shared.server.counters.deletes, 1);
    assert.equal(await shared.store.isEnded('client-1'), true);
    // Unknown everywhere: passed through untouched, and the server does not know it either.
    const after = await b(shared.server.url, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-session-id': 'client-1' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    assert.equal(after.status, 404);
    assert.equal(shared.server.counters.initializations, 1);
  });

  it('rejects a sharing object without the four methods, naming the missing ones', () => {
    const partial = { load: async () => undefined, changed: () => {} } as unknown as SessionSharing;
    assert.throws(() => withSessionRecovery({ sharing: partial }), {
      name: 'TypeError',
      message: /"sharing" must be an object with the methods load, recover, changed, ended; missing: recover, ended/,
    });
  });
});
