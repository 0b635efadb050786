// Several `mcp-lifeline serve` processes on one real redis-server (loopback), the client's requests
// spread across them request by request with no affinity (a round-robin fetch, as a load balancer
// without sticky sessions would do). The upstream counts what it executes.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { type DialectServer, startDialectServer } from '../src/demo/dialect-server.js';
import type { FetchLike } from '../src/index.js';
import { connectClient, type Sdk, textOf } from './helpers/clients.js';
import { newKey, type ServeProcess, startServe, tempFile } from './helpers/gateway.js';
import { type RedisServer, redisMissing, startRedis } from './helpers/redis.js';

const skip = redisMissing();

interface Replicas {
  readonly redis: RedisServer;
  readonly upstream: DialectServer;
  readonly replicas: ServeProcess[];
  /** A fetch that sends each request to the next live replica. */
  readonly fetch: FetchLike;
  /** Requests each replica received through `fetch`. */
  readonly counts: number[];
  /** POSTs that failed on each replica after they were sent (not refused connections); GET streams are not counted. */
  readonly lost: number[];
}

async function startReplicas(t: TestContext, count: number): Promise<Replicas> {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const upstream = await startDialectServer();
  t.after(() => upstream.close());
  const keyFile = tempFile('keys', `${newKey()}\n`);
  const replicas = await Promise.all(
    Array.from({ length: count }, () => startServe([upstream.url, '--store', redis.url, '--key-file', keyFile, '--log-level', 'debug'])),
  );
  t.after(() => Promise.all(replicas.map((replica) => replica.stop())));
  const counts = replicas.map(() => 0);
  const lost = replicas.map(() => 0);
  let next = 0;
  // Replicas that refused a connection: out of the rotation, as a load balancer's health check does.
  const down = new Set<number>();
  const fetchAny: FetchLike = async (input, init) => {
    const path = new URL(input.toString()).pathname;
    const post = init?.method === 'POST';
    const loseOn = (index: number) => {
      if (post) lost[index] = (lost[index] ?? 0) + 1;
    };
    for (;;) {
      const alive = replicas.map((_, index) => index).filter((index) => !down.has(index));
      const index = alive[next++ % alive.length];
      if (index === undefined) throw new Error('every replica is down');
      try {
        const response = await fetch(`${(replicas[index] as ServeProcess).origin}${path}`, init);
        counts[index] = (counts[index] ?? 0) + 1;
        // An answer may also break mid-body when its replica dies: count that as lost there too.
        return watchBody(response, () => loseOn(index));
      } catch (error) {
        // Nothing was sent to a replica that refused the connection: a load balancer tries the next.
        if (!/ECONNREFUSED/.test(String((error as Error).cause ?? error))) {
          loseOn(index);
          throw error;
        }
        down.add(index);
      }
    }
  };
  return { redis, upstream, replicas, fetch: fetchAny, counts, lost };
}

async function hostVia(t: TestContext, cluster: Replicas, sdk: Sdk) {
  const host = await connectClient(sdk, `${cluster.replicas[0]?.origin}/mcp`, cluster.fetch);
  t.after(() => host.close());
  return host;
}

describe('serve replicas on Redis', { skip }, () => {
  it('initialize on one replica, call on the others: every call answered, each ran once', async (t) => {
    const cluster = await startReplicas(t, 2);
    for (const sdk of ['v1', 'v2'] as const) {
      const host = await hostVia(t, cluster, sdk);
      for (const key of ['a', 'b', 'c', 'd']) assert.match(textOf(await host.callTool('increment', { key: `${sdk}-${key}` })), /^\d+$/);
    }
    assert.ok(
      cluster.counts.every((count) => count >= 4),
      `requests spread over both replicas: ${cluster.counts.join(', ')}`,
    );
    for (const [key, runs] of cluster.upstream.counters.executionsByKey) assert.equal(runs, 1, key);
    assert.equal(cluster.upstream.counters.executionsByKey.size, 8);
  });

  it('no replica opens an upstream session of its own for a session another replica opened', async (t) => {
    const cluster = await startReplicas(t, 3);
    const host = await hostVia(t, cluster, 'v2');
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) await host.callTool('increment', { key });
    assert.ok(
      cluster.counts.every((count) => count >= 2),
      `requests spread over the three replicas: ${cluster.counts.join(', ')}`,
    );
    assert.equal(cluster.upstream.counters.initializations, 1, 'one upstream session, opened by the replica that took the initialize');
    assert.equal(cluster.upstream.counters.executionsByKey.size, 6);
    for (const [key, runs] of cluster.upstream.counters.executionsByKey) assert.equal(runs, 1, key);
  });

  it('upstream restart with concurrent calls on all replicas: every call answered once; exactly one re-initialization', async (t) => {
    const cluster = await startReplicas(t, 3);
    const host = await hostVia(t, cluster, 'v1');
    await Promise.all(['w1', 'w2', 'w3'].map((key) => host.callTool('increment', { key })));
    const before = cluster.upstream.counters.initializations;
    cluster.upstream.dropSessions();
    const keys = Array.from({ length: 12 }, (_, index) => `after-${index}`);
    const answers = await Promise.all(keys.map((key) => host.callTool('increment', { key })));
    assert.equal(answers.length, 12);
    for (const key of keys) assert.equal(cluster.upstream.counters.executionsByKey.get(key), 1, key);
    assert.equal(cluster.upstream.counters.initializations - before, 1, 'exactly one upstream re-initialization across the replicas');
    // The gateway's own count agrees: one recovery, summed over the replicas' /metrics.
    const recoveries = await Promise.all(
      cluster.replicas.map(async (replica) => {
        const text = await (await fetch(`${replica.origin}/metrics`)).text();
        return Number(/^mcp_lifeline_recoveries_total\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
      }),
    );
    assert.equal(
      recoveries.reduce((sum, count) => sum + count, 0),
      1,
      `recoveries by replica: ${recoveries.join(', ')}`,
    );
  });

  it('a replica killed mid-run: no request lost outside its own in-flight ones', async (t) => {
    const cluster = await startReplicas(t, 3);
    const host = await hostVia(t, cluster, 'v2');
    const outcomes: { key: string; ok: boolean; error?: string }[] = [];
    let killed = false;
    const calls = Array.from({ length: 30 }, async (_, index) => {
      await new Promise((resolve) => setTimeout(resolve, index * 15));
      if (index === 10 && !killed) {
        killed = true;
        cluster.replicas[1]?.process.kill('SIGKILL');
      }
      const key = `k${index}`;
      try {
        await host.callTool('increment', { key });
        outcomes.push({ key, ok: true });
      } catch (error) {
        outcomes.push({ key, ok: false, error: String(error) });
      }
    });
    await Promise.all(calls);
    const failed = outcomes.filter((outcome) => !outcome.ok);
    // The calls that failed are exactly those whose request died with the killed replica (in flight
    // there, or sent on a connection it had not yet been seen to close); none failed elsewhere.
    assert.deepEqual(
      cluster.lost,
      [0, failed.length, 0],
      `failed: ${failed.map((outcome) => `${outcome.key} (${outcome.error})`).join(', ')}`,
    );
    assert.ok(failed.length < 30 / 3, `${failed.length} calls failed`);
    for (const outcome of outcomes) {
      const runs = cluster.upstream.counters.executionsByKey.get(outcome.key) ?? 0;
      // A failed call may or may not have run (its answer died with the replica); none ran twice.
      if (outcome.ok) assert.equal(runs, 1, outcome.key);
      else assert.ok(runs <= 1, outcome.key);
    }
  });

  it('the store flushed mid-session: the session continues', async (t) => {
    const cluster = await startReplicas(t, 2);
    const host = await hostVia(t, cluster, 'v1');
    await host.callTool('increment', { key: 'before' });
    assert.equal(cluster.redis.cli('FLUSHALL'), 'OK');
    assert.equal(cluster.redis.cli('DBSIZE'), '0');
    for (const key of ['after-1', 'after-2', 'after-3']) await host.callTool('increment', { key });
    assert.deepEqual([...cluster.upstream.counters.executionsByKey.values()], [1, 1, 1, 1]);
    // A replica that still knows the upstream session goes on with it; one that does not rebuilds it once.
    assert.ok(cluster.upstream.counters.initializations <= 2, `initializations: ${cluster.upstream.counters.initializations}`);
  });
});

/** The same response, calling `onBreak` if its body errors before it ends. */
function watchBody(response: Response, onBreak: () => void): Response {
  if (response.body === null) return response;
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        onBreak();
        controller.error(error);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
