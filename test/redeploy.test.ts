// Issue 18, a redeploy: the server's process is stopped (requests in flight finish) and a new one,
// with no sessions, starts on the same port a couple of seconds later. Calls made meanwhile wait for
// it (the restart window: a refused connection proves nothing was delivered), then meet the lost
// session, share one re-initialization and are replayed. Through the middleware (SDK v1 and v2),
// the bridge with an SDK host, and serve. Each server process reports what it executed: every
// call runs exactly once, on one of them. The time each call took to be answered is reported.
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import type { GatewayLog } from '../src/gateway/gateway-options.js';
import { type LifelineEvent, withSessionRecovery } from '../src/index.js';
import { connectThroughBridge } from './helpers/bridge.js';
import { connectClient, type Sdk, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';
import { gatewayFor } from './helpers/gateway.js';
import { type ProcessCounters, startServerProcess } from './helpers/server-process.js';

/** How long nothing listens on the port: a redeploy's gap, kept short. */
const GAP_MS = 2_000;
const KEYS = ['during-0', 'during-1', 'during-2', 'during-3'];

/** Whatever calls the server: an SDK client, a host through the bridge, a host through serve. */
interface Caller {
  call(tool: string, args: Record<string, unknown>): Promise<string>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A call's answer and how long it took to come, in ms. */
async function timed(call: () => Promise<string>): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  const text = await call();
  return { text, ms: Date.now() - started };
}

/**
 * The redeploy, driven through `connect`: one call before; a slow call in flight when the old
 * process is stopped; four calls made while nothing listens; the new process after GAP_MS.
 */
const OK_ANSWER = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}';

/** A raw TCP server on loopback that plays an HTTP server's part (`onSocket`), stopped with the test. */
async function rawServer(t: TestContext, onSocket: (socket: Socket) => void): Promise<{ url: string; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const tcp = createTcpServer((socket) => {
    sockets.add(socket);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        tcp.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(tcp.address() as { port: number }).port}/mcp`, sockets };
}

/** A `tools/list` POST to `url` through the middleware (its restart window on), and its events. */
function toolsListPoster(url: string) {
  const recorder = recordEvents();
  const fetchWithWindow = withSessionRecovery({ onEvent: recorder.onEvent })(fetch);
  const post = () =>
    fetchWithWindow(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
  return { recorder, post };
}

async function redeploy(t: TestContext, connect: (url: string) => Promise<Caller>) {
  const first = await startServerProcess(t);
  const caller = await connect(first.url);
  assert.equal(await caller.call('increment', { key: 'before' }), '1');

  const inFlight = timed(() => caller.call('slow', { ms: 400 }));
  await sleep(100);
  const before = await first.stop();
  assert.equal((await inFlight).text, 'done', 'the call in flight when the deploy began finished on the old process');

  const during = KEYS.map((key) => timed(() => caller.call('increment', { key })));
  await sleep(GAP_MS);
  const second = await startServerProcess(t, { port: first.port });
  const answers = await Promise.all(during);
  const after = await second.stop();

  for (const [index, answer] of answers.entries()) t.diagnostic(`${KEYS[index]} answered in ${answer.ms} ms`);
  assertRanOnce(before, after);
  for (const answer of answers) {
    assert.match(answer.text, /^\d+$/);
    assert.ok(answer.ms >= GAP_MS - 200, `a call made while nothing listened waited for the new process (${answer.ms} ms)`);
  }
  return { before, after, answers };
}

function assertRanOnce(before: ProcessCounters, after: ProcessCounters): void {
  assert.deepEqual(before.executionsByKey, { before: 1 }, 'the old process ran only the call made before the deploy');
  assert.deepEqual(
    after.executionsByKey,
    Object.fromEntries(KEYS.map((key) => [key, 1])),
    'each call made during it ran once, on the new one',
  );
  assert.equal(after.initializations, 1, 'one re-initialization for every call that met the lost session');
}

function sdkCaller(client: Awaited<ReturnType<typeof connectClient>>): Caller {
  return { call: async (tool, args) => textOf(await client.callTool(tool, args)) };
}

describe('a redeploy: the old process stops, a new one starts on the same port 2 s later', () => {
  for (const sdk of ['v1', 'v2'] as Sdk[]) {
    it(`SDK ${sdk} through the middleware: calls made meanwhile wait, then run once each`, async (t) => {
      const recorder = recordEvents();
      await redeploy(t, async (url) => {
        const client = await connectClient(sdk, url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
        t.after(() => client.close());
        return sdkCaller(client);
      });
      assert.equal(recorder.count('server-unreachable'), 1, 'one outage, reported once');
      assert.equal(recorder.count('server-reachable'), 1);
      const [down] = recorder.of('server-unreachable');
      assert.match(down?.reason ?? '', /connection refused.*ECONNREFUSED/);
      assert.equal(down?.windowMs, 30_000);
      const [back] = recorder.of('server-reachable');
      assert.ok((back?.downMs ?? 0) >= GAP_MS - 200 && (back?.downMs ?? 0) < 15_000, `down for ${back?.downMs} ms`);
      assert.equal(recorder.count('reinitialized'), 1);
      assert.equal(recorder.count('recovery-failed'), 0);
    });
  }

  it('the bridge with an SDK host: the host never sees the gap; one warning for the outage', async (t) => {
    let stderr = () => '';
    await redeploy(t, async (url) => {
      const host = await connectThroughBridge(url);
      t.after(() => host.client.close());
      stderr = host.stderr;
      return { call: async (name, args) => textOf(await host.client.callTool({ name, arguments: args })) };
    });
    const log = stderr();
    assert.equal(log.match(/warn .*cannot reach the server \(connection refused/g)?.length, 1, log);
    assert.match(log, /info .*the server answers again after \d+\.\d s/);
    assert.equal(log.match(/session recovered/g)?.length, 1, log);
  });

  it('serve: the gateway waits for its upstream; the host never sees the gap', async (t) => {
    const lines: string[] = [];
    const log: GatewayLog = {
      error: (message) => lines.push(`error ${message}`),
      warn: (message) => lines.push(`warn ${message}`),
      info: (message) => lines.push(`info ${message}`),
      debug: () => {},
    };
    await redeploy(t, async (url) => {
      const gateway = await gatewayFor(t, { upstreams: [{ name: 'redeployed', url: new URL(url) }], log });
      const client = await connectClient('v2', gateway.url);
      t.after(() => client.close());
      return sdkCaller(client);
    });
    assert.equal(lines.filter((line) => line.startsWith('warn upstream unreachable')).length, 1, lines.join('\n'));
    assert.equal(lines.filter((line) => line.startsWith('info upstream reachable again')).length, 1, lines.join('\n'));
  });
});

describe('the restart window’s bounds', () => {
  it('a server that does not come back: the call fails once the window closes, saying it never ran', async (t) => {
    const server = await startServerProcess(t);
    const recorder = recordEvents();
    const client = await connectClient('v2', server.url, withSessionRecovery({ onEvent: recorder.onEvent, restartWindow: 1_000 })(fetch));
    t.after(() => client.close());
    assert.equal(textOf(await client.callTool('increment', { key: 'before' })), '1');
    const counters = await server.stop();
    const started = Date.now();
    const error = await client.callTool('increment', { key: 'never' }).then(
      () => assert.fail('the call cannot succeed'),
      (reason: Error) => reason,
    );
    const waited = Date.now() - started;
    t.diagnostic(`answered with an error after ${waited} ms`);
    assert.match(error.message, /could not be delivered: connection refused.*It waited 1\.\d s for the server to come back/);
    assert.match(error.message, /it never reached the server, so it did not run/);
    assert.ok(waited >= 900 && waited < 8_000, `${waited} ms: the window (1 s), not the default 30 s`);
    assert.deepEqual(counters.executionsByKey, { before: 1 });
    assert.equal(recorder.count('server-unreachable'), 1);
  });

  it('a server never reached: a wrong URL fails at once, without waiting', async (t) => {
    const server = await startServerProcess(t);
    const { url } = server;
    await server.stop();
    const started = Date.now();
    await assert.rejects(connectClient('v1', url, withSessionRecovery()(fetch)), /ECONNREFUSED|fetch failed|connection refused/);
    assert.ok(Date.now() - started < 5_000, `${Date.now() - started} ms: no window for a server never reached`);
  });

  it('single flight: while the server is down one request at a time tries it; the others wait and go together', async (t) => {
    const server = await startServerProcess(t);
    let attempts = 0;
    const counting: typeof fetch = (input, init) => {
      attempts += 1;
      return fetch(input, init);
    };
    const events: LifelineEvent[] = [];
    const client = await connectClient('v2', server.url, withSessionRecovery({ onEvent: (event) => events.push(event) })(counting));
    t.after(() => client.close());
    assert.equal(textOf(await client.callTool('increment', { key: 'before' })), '1');
    await server.stop();
    const beforeOutage = attempts;
    const calls = Array.from({ length: 8 }, (_, index) =>
      timed(async () => textOf(await client.callTool('increment', { key: `k${index}` }))),
    );
    await sleep(GAP_MS);
    const tried = attempts - beforeOutage;
    const second = await startServerProcess(t, { port: server.port });
    const answers = await Promise.all(calls);
    const after = await second.stop();
    for (const [index, answer] of answers.entries()) t.diagnostic(`k${index} answered in ${answer.ms} ms`);
    // 8 calls (and the client's GET stream) fail once each; then one try at a time, backing off
    // from 250 ms: about 4 in 2 s. Without single flight, each of them would try as often.
    assert.ok(tried <= 9 + 6, `${tried} attempts while the server was down`);
    assert.deepEqual(Object.values(after.executionsByKey), Array(8).fill(1));
    assert.equal(events.filter((event) => event.type === 'server-unreachable').length, 1);
  });

  it('a connection reset after the request was written is never sent again: it may have run', async (t) => {
    // A raw HTTP server: answers the first request, then resets the connection of each later one
    // as soon as it has read it.
    const received: string[] = [];
    const { url } = await rawServer(t, (socket) => {
      socket.on('data', (data) => {
        const line = data.toString('latin1').split('\r\n', 1)[0] ?? '';
        received.push(line);
        if (received.length === 1) socket.write(OK_ANSWER);
        else socket.resetAndDestroy();
      });
    });
    const { recorder, post } = toolsListPoster(url);
    assert.equal((await post()).status, 200);
    const started = Date.now();
    await assert.rejects(post(), /fetch failed|other side closed|ECONNRESET/);
    assert.ok(Date.now() - started < 5_000, 'it failed at once, without the window');
    assert.equal(received.length, 2, 'sent once, not again');
    assert.equal(recorder.count('server-unreachable'), 0);
  });

  it('connections reset before a byte of the request was written (a proxy whose backend is restarting) wait too', async (t) => {
    // A raw HTTP server that, while "restarting", resets every connection as soon as it is accepted.
    const received: string[] = [];
    let resetting = false;
    const { url, sockets } = await rawServer(t, (socket) => {
      if (resetting) {
        socket.resetAndDestroy();
        return;
      }
      socket.on('data', (data) => {
        received.push(data.toString('latin1').split('\r\n', 1)[0] ?? '');
        socket.write(OK_ANSWER);
      });
    });
    const { recorder, post } = toolsListPoster(url);
    assert.equal((await post()).status, 200);
    resetting = true;
    for (const socket of sockets) socket.destroy();
    const started = Date.now();
    const answer = post();
    await sleep(1_000);
    resetting = false;
    assert.equal((await answer).status, 200);
    t.diagnostic(`answered in ${Date.now() - started} ms`);
    assert.equal(received.length, 2, 'delivered once, after the resets');
    assert.match(recorder.of('server-unreachable')[0]?.reason ?? '', /ECONNRESET/);
    assert.equal(recorder.count('server-reachable'), 1);
  });
});
