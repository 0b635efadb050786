// Issue 8 part 3: a keep-alive that learns the server's idle timeout. The fixture forgets a session
// after IDLE_MS without a request; after the first loss the middleware pings often enough that no
// idle gap longer than IDLE_MS loses the session again, and no more often than it must.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { withSessionRecovery } from '../src/index.js';
import { connectClient, SDKS, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';

const IDLE_MS = 1_000;
const FIRST_GAP_MS = 1_400;
const LATER_GAP_MS = 1_700;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('keepAlive: auto', { concurrency: true }, () => {
  for (const sdk of SDKS) {
    it(`${sdk}: learns the idle timeout from the first loss; no loss after it across gaps longer than the timeout`, async (t) => {
      const server = await startDialectServer({ idleTimeoutMs: IDLE_MS, noEventStream: true });
      t.after(() => server.close());
      const recorder = recordEvents();
      const fetchWithRecovery = withSessionRecovery({ onEvent: recorder.onEvent, keepAlive: { auto: true, minIntervalMs: 100 } })(fetch);
      const client = await connectClient(sdk, server.url, fetchWithRecovery);
      t.after(() => client.close());
      const pings = () => server.counters.rpcMethods['ping'] ?? 0;

      assert.equal(textOf(await client.callTool('increment')), '1');
      await sleep(FIRST_GAP_MS);
      assert.equal(pings(), 0, 'no ping before a loss was seen');
      assert.equal(textOf(await client.callTool('increment')), '2');
      assert.equal(server.counters.lostAnswers, 1, 'the first idle gap lost the session');
      const [learned] = recorder.of('keepalive');
      assert.equal(learned?.source, 'loss');
      // The bound is the idle time before the loss: at least the gap, and the interval a half of it.
      assert.ok((learned?.boundMs ?? 0) >= FIRST_GAP_MS - 50 && (learned?.boundMs ?? 0) < FIRST_GAP_MS + 500, String(learned?.boundMs));
      assert.equal(learned?.intervalMs, Math.floor((learned?.boundMs ?? 0) / 2));

      const pingsBefore = pings();
      for (const expected of ['3', '4']) {
        await sleep(LATER_GAP_MS);
        assert.equal(textOf(await client.callTool('increment')), expected);
      }
      assert.equal(server.counters.lostAnswers, 1, 'no further loss across gaps longer than the idle timeout');
      assert.equal(server.counters.initializations, 2);
      // At most one ping per interval of idleness, plus one in flight at each end.
      const sent = pings() - pingsBefore;
      const bound = Math.ceil((2 * LATER_GAP_MS) / (learned?.intervalMs ?? 1)) + 2;
      assert.ok(sent >= 2 && sent <= bound, `${sent} pings in ${2 * LATER_GAP_MS} ms of idleness (bound ${bound})`);
      assert.equal(server.counters.executions, 4);
    });
  }

  it('a bound given in advance (probe --idle) starts pinging before any loss; the floor holds', async (t) => {
    const server = await startDialectServer({ idleTimeoutMs: IDLE_MS, noEventStream: true });
    t.after(() => server.close());
    const recorder = recordEvents();
    const keepAlive = { auto: true, initialBoundMs: 900, minIntervalMs: 600 } as const;
    const client = await connectClient('v2', server.url, withSessionRecovery({ onEvent: recorder.onEvent, keepAlive })(fetch));
    t.after(() => client.close());
    await client.callTool('increment');
    await sleep(LATER_GAP_MS);
    await client.callTool('increment');
    assert.equal(server.counters.lostAnswers, 0);
    const [started] = recorder.of('keepalive');
    assert.deepEqual(
      [started?.source, started?.boundMs, started?.intervalMs],
      ['initial', 900, 600],
      'half of 900 is below the floor of 600',
    );
    const sent = server.counters.rpcMethods['ping'] ?? 0;
    assert.ok(sent >= 1 && sent <= Math.ceil(LATER_GAP_MS / 600) + 1, `${sent} pings`);
  });

  it('a fixed interval pings from the start; pings stop when the client closes', async (t) => {
    const server = await startDialectServer({ noEventStream: true });
    t.after(() => server.close());
    const recorder = recordEvents();
    const client = await connectClient('v1', server.url, withSessionRecovery({ onEvent: recorder.onEvent, keepAlive: 100 })(fetch));
    await client.callTool('increment');
    // Counted from here: connecting took a while on a busy machine, and the pings run from the start.
    const before = server.counters.rpcMethods['ping'] ?? 0;
    await sleep(450);
    const sent = (server.counters.rpcMethods['ping'] ?? 0) - before;
    assert.ok(sent >= 2 && sent <= 5, `${sent} pings in 450 ms`);
    assert.equal(recorder.of('keepalive')[0]?.source, 'fixed');
    await client.close();
    await sleep(250);
    const afterClose = server.counters.rpcMethods['ping'] ?? 0;
    await sleep(300);
    assert.equal(server.counters.rpcMethods['ping'] ?? 0, afterClose, 'no ping once the client closed');
  });
});
