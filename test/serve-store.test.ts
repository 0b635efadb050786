// The gateway's session stores (memory, and a real redis-server on loopback) against one contract,
// and cross-replica recovery through the session-sharing hook: several processes' worth of
// sharing objects over one store re-initialize a lost session exactly once.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createMemoryStore } from '../src/gateway/memory-store.js';
import { createRedisStore } from '../src/gateway/redis-store.js';
import type { SessionStore, StoredSession } from '../src/gateway/session-store.js';
import { createStoreSessionSharing } from '../src/gateway/store-session-sharing.js';
import { redisMissing, startRedis } from './helpers/redis.js';

const SESSION: StoredSession = {
  caller: 'alice',
  initializeParams: { protocolVersion: '2025-06-18', clientInfo: { name: 'host', version: '1' }, capabilities: {} },
  serverId: 'upstream-1',
  protocolVersion: undefined,
  logLevel: undefined,
  subscriptions: [],
  createdAt: 1,
};

type StoreFactory = (t: TestContext, idleTtlMs?: number) => Promise<SessionStore>;

const memory: StoreFactory = async (_t, idleTtlMs = 60_000) => createMemoryStore({ idleTtlMs, maxRecords: 100 });
const redis: StoreFactory = async (t, idleTtlMs = 60_000) => {
  const server = await startRedis();
  t.after(() => server.stop());
  const store = await createRedisStore({ url: server.url, idleTtlMs, prefix: 'test:' });
  t.after(() => store.close());
  return store;
};

const skipRedis = redisMissing();
for (const [kind, factory, skip] of [
  ['memory', memory, undefined],
  ['redis', redis, skipRedis],
] as const) {
  describe(`${kind} store`, { skip }, () => {
    it('keeps records, applies concurrent changes, forgets ended sessions and remembers that they ended', async (t) => {
      const store = await factory(t);
      await store.put('u/a', SESSION);
      assert.deepEqual(await store.get('u/a'), SESSION);
      await Promise.all([
        store.update('u/a', { kind: 'subscribe', uri: 'res://1' }),
        store.update('u/a', { kind: 'subscribe', uri: 'res://2' }),
        store.update('u/a', { kind: 'log-level', level: 'debug' }),
        store.update('u/a', { kind: 'server-session', serverId: 'upstream-2', protocolVersion: '2025-11-25' }),
      ]);
      await store.update('u/a', { kind: 'unsubscribe', uri: 'res://1' });
      const changed = await store.get('u/a');
      assert.deepEqual(
        { ...changed, subscriptions: [...(changed?.subscriptions ?? [])].sort() },
        {
          ...SESSION,
          serverId: 'upstream-2',
          protocolVersion: '2025-11-25',
          logLevel: 'debug',
          subscriptions: ['res://2'],
        },
      );
      await store.update('u/missing', { kind: 'log-level', level: 'info' });
      assert.equal(await store.get('u/missing'), undefined);
      assert.equal(await store.isEnded('u/a'), false);
      await store.end('u/a', 60_000);
      assert.equal(await store.get('u/a'), undefined);
      assert.equal(await store.isEnded('u/a'), true);
      await store.ping();
    });

    it('expires records idle longer than the TTL; touch slides it', async (t) => {
      const store = await factory(t, 300);
      await store.put('u/kept', SESSION);
      await store.put('u/idle', SESSION);
      for (let step = 0; step < 4; step++) {
        await new Promise((resolve) => setTimeout(resolve, 120));
        await store.touch('u/kept');
      }
      assert.notEqual(await store.get('u/kept'), undefined);
      assert.equal(await store.get('u/idle'), undefined);
    });

    it('admits at most the limit of sessions per caller; a lock has one holder at a time', async (t) => {
      const store = await factory(t);
      for (const key of ['u/1', 'u/2']) {
        await store.put(key, SESSION);
        assert.equal(await store.admit('alice', key, 2), true);
      }
      assert.equal(await store.admit('alice', 'u/3', 2), false);
      assert.equal(await store.admit('bob', 'u/4', 2), true);
      await store.end('u/1', 1000);
      await store.put('u/3', SESSION);
      assert.equal(await store.admit('alice', 'u/3', 2), true, 'ending a session frees its place');

      const lock = await store.lock('u/2', 5000);
      assert.notEqual(lock, undefined);
      assert.equal(await store.lock('u/2', 5000), undefined);
      assert.equal(await store.isLocked('u/2'), true);
      await lock?.release();
      assert.equal(await store.isLocked('u/2'), false);
      const expiring = await store.lock('u/2', 50);
      assert.notEqual(expiring, undefined);
      await new Promise((resolve) => setTimeout(resolve, 120));
      assert.notEqual(await store.lock('u/2', 5000), undefined, "a dead holder's lock expires");
    });

    it('release frees an admitted place; the least recently used session of a caller is found', async (t) => {
      const store = await factory(t);
      assert.equal(await store.admit('carol', 'u/1', 2), true);
      assert.equal(await store.admit('carol', 'u/2', 2), true);
      assert.equal(await store.admit('carol', 'u/3', 2), false);
      await store.release?.('carol', 'u/2');
      assert.equal(await store.admit('carol', 'u/3', 2), true, 'a released place is free again');
      for (const key of ['u/1', 'u/3']) await store.put(key, { ...SESSION, caller: 'carol' });
      await new Promise((resolve) => setTimeout(resolve, 5));
      await store.touch('u/1');
      assert.equal(await store.leastRecentlyUsed?.('carol'), 'u/3');
      assert.equal(await store.leastRecentlyUsed?.('nobody'), undefined);
    });

    it('shared recovery: three replicas meet the same lost session at once; exactly one re-initializes, the others adopt its session', async (t) => {
      const store = await factory(t);
      await store.put('u/s', SESSION);
      let reinitializations = 0;
      const replicas = [1, 2, 3].map(() =>
        createStoreSessionSharing({ store, keyOf: (alias) => `u/${alias}`, fallback: () => undefined, recoveryTimeoutMs: 5000, pollMs: 5 }),
      );
      replicas[1]?.changed('s', { kind: 'log-level', level: 'warning' });
      replicas[2]?.changed('s', { kind: 'subscribe', uri: 'res://x' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const outcomes = await Promise.all(
        replicas.map((sharing) =>
          sharing.recover('s', 'upstream-1', async (latest) => {
            reinitializations += 1;
            // The winner restores what every replica recorded.
            assert.equal(latest.logLevel, 'warning');
            assert.deepEqual(latest.subscriptions, ['res://x']);
            await new Promise((resolve) => setTimeout(resolve, 60));
            return { sessionId: 'upstream-2', protocolVersion: undefined };
          }),
        ),
      );
      assert.equal(reinitializations, 1);
      assert.deepEqual(outcomes.map((outcome) => outcome.kind).sort(), ['adopted', 'adopted', 'reinitialized']);
      for (const outcome of outcomes) {
        if (outcome.kind === 'adopted') assert.equal(outcome.state.serverId, 'upstream-2');
      }
      assert.equal((await store.get('u/s'))?.serverId, 'upstream-2');
      // A late loss of the old session adopts the new one without re-initializing.
      const late = await replicas[0]?.recover('s', 'upstream-1', async () => {
        throw new Error('must not run');
      });
      assert.equal(late?.kind, 'adopted');
    });

    it('shared recovery after the store was emptied: rebuilt from the fallback (the client session id), once', async (t) => {
      const store = await factory(t);
      const fallback = () => ({ caller: 'alice', initializeParams: SESSION.initializeParams, createdAt: 5 });
      const sharing = createStoreSessionSharing({ store, keyOf: (alias) => `u/${alias}`, fallback, recoveryTimeoutMs: 5000 });
      const loaded = await sharing.load('gone', 'http://127.0.0.1:9/mcp');
      assert.equal(loaded?.serverId, undefined, 'no live upstream session known: re-initialize before sending');
      const outcome = await sharing.recover('gone', undefined, async (latest) => {
        assert.deepEqual(latest.initializeParams, SESSION.initializeParams);
        return { sessionId: 'fresh', protocolVersion: undefined };
      });
      assert.equal(outcome.kind, 'reinitialized');
      assert.equal((await store.get('u/gone'))?.serverId, 'fresh');
      sharing.ended('gone');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await sharing.load('gone', 'http://127.0.0.1:9/mcp'), undefined, 'an ended session is not loaded');
    });
  });
}

describe('redis store: ended sessions are published to every replica', { skip: skipRedis }, () => {
  it('a replica hears an end another made, and hears when it cannot hear any more, and when it can again', async (t) => {
    let server = await startRedis();
    t.after(() => server.stop());
    const [mine, theirs] = await Promise.all(
      [0, 1].map(() => createRedisStore({ url: server.url, idleTtlMs: 60_000, prefix: 'test:', heartbeatMs: 100, commandTimeoutMs: 300 })),
    );
    t.after(() => Promise.all([mine?.close(), theirs?.close()]));
    const heard: string[] = [];
    const listening: boolean[] = [];
    mine?.watch?.({ ended: (key) => heard.push(key), listening: (up) => listening.push(up) });
    const until = async (check: () => boolean, what: string) => {
      const deadline = Date.now() + 5000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`not within 5 s: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await until(() => listening.at(-1) === true, 'listening');
    await theirs?.put('u/x', SESSION);
    await theirs?.end('u/x', 60_000);
    await until(() => heard.includes('u/x'), 'the end was heard');
    await server.stop();
    await until(() => listening.at(-1) === false, 'deaf once the store is gone');
    server = await startRedis(server.port);
    await until(() => listening.at(-1) === true, 'listening again once it is back');
    assert.deepEqual(listening, [true, false, true]);
  });
});

describe('memory store: tombstones stay within the cap', () => {
  it('past maxRecords the expired tombstones go, then the oldest; the newest still say their session ended', async () => {
    let clock = 1_000;
    const store = createMemoryStore({ idleTtlMs: 60_000, maxRecords: 3, now: () => clock });
    const ended = (keys: string[]) => Promise.all(keys.map((key) => store.isEnded(key)));
    await store.end('short-lived', 10);
    for (const key of ['a', 'b']) await store.end(key, 60_000);
    clock += 100;
    // Over the cap by one: the expired tombstone goes, and nothing else.
    await store.end('c', 60_000);
    assert.deepEqual(await ended(['short-lived', 'a', 'b', 'c']), [false, true, true, true]);
    // Over it again, nothing expired: the oldest goes.
    await store.end('d', 60_000);
    assert.deepEqual(await ended(['a', 'b', 'c', 'd']), [false, true, true, true]);
    // Ending a session again makes its tombstone the newest: the next to go is the one after it.
    await store.end('b', 60_000);
    await store.end('e', 60_000);
    assert.deepEqual(await ended(['b', 'c', 'd', 'e']), [true, false, true, true]);
  });
});
