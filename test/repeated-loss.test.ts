// Issue 18, repeated proven losses: when a container is recreated, the first re-initialization may
// land on the old instance just before it goes away, and the replay meets a lost session again.
// The new session never answered the call, so it did not run: it is recovered once more (up to
// maxRecoveries), and runs exactly once. Through the middleware (SDK v1 and v2), the bridge with
// an SDK host, and serve; server-side counters are the proof. The time each call took is reported.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { withSessionRecovery } from '../src/index.js';
import { connectThroughBridge } from './helpers/bridge.js';
import { connectClient, type Sdk, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';
import { gatewayFor } from './helpers/gateway.js';

type Call = (key: string) => Promise<string>;

/** One call before; every session lost, and the first new one lost too; three calls after. */
async function loseTwice(t: TestContext, connect: (url: string) => Promise<Call>) {
  const server = await startDialectServer();
  t.after(() => server.close());
  const call = await connect(server.url);
  assert.equal(await call('before'), '1');
  server.dropSessions();
  server.faults.loseNewSessions = 1;
  const keys = ['after-0', 'after-1', 'after-2'];
  const answers = await Promise.all(
    keys.map(async (key) => {
      const started = Date.now();
      const text = await call(key);
      return { key, text, ms: Date.now() - started };
    }),
  );
  for (const answer of answers) t.diagnostic(`${answer.key} answered in ${answer.ms} ms`);
  assert.deepEqual(Object.fromEntries(server.counters.executionsByKey), { before: 1, 'after-0': 1, 'after-1': 1, 'after-2': 1 });
  assert.equal(server.counters.initializations, 3, 'the client’s session, the lost new one, the one that answered');
  assert.equal(server.faults.loseNewSessions, 0);
  return server;
}

describe('the first re-initialized session is lost too: recovered again, each call runs once', () => {
  for (const sdk of ['v1', 'v2'] as Sdk[]) {
    it(`SDK ${sdk} through the middleware`, async (t) => {
      const recorder = recordEvents();
      await loseTwice(t, async (url) => {
        const client = await connectClient(sdk, url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
        t.after(() => client.close());
        return async (key) => textOf(await client.callTool('increment', { key }));
      });
      assert.equal(recorder.count('reinitialized'), 2);
      assert.equal(recorder.count('recovery-failed'), 0);
      assert.deepEqual(
        recorder.of('session-abandoned').map((event) => event.reason),
        ['rejected-at-once'],
        'the new session that never answered was ended',
      );
    });
  }

  it('the bridge with an SDK host', async (t) => {
    let stderr = () => '';
    await loseTwice(t, async (url) => {
      const host = await connectThroughBridge(url);
      t.after(() => host.client.close());
      stderr = host.stderr;
      return async (key) => textOf(await host.client.callTool({ name: 'increment', arguments: { key } }));
    });
    assert.equal(stderr().match(/session recovered/g)?.length, 2, stderr());
  });

  it('serve', async (t) => {
    await loseTwice(t, async (url) => {
      const gateway = await gatewayFor(t, { upstreams: [{ name: 'lost-twice', url: new URL(url) }] });
      const client = await connectClient('v1', gateway.url);
      t.after(() => client.close());
      return async (key) => textOf(await client.callTool('increment', { key }));
    });
  });
});

describe('a server that loses every new session: bounded, and the circuit still protects it', () => {
  it('3 recoveries for the call (maxRecoveries), then SESSION_LOST_AGAIN saying what happened; the next call meets the circuit', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const recorder = recordEvents();
    const client = await connectClient('v2', server.url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
    t.after(() => client.close());
    assert.equal(textOf(await client.callTool('increment', { key: 'before' })), '1');
    server.dropSessions();
    server.faults.loseNewSessions = 100;
    const started = Date.now();
    const error = await client.callTool('increment', { key: 'never' }).then(
      () => assert.fail('no session keeps the call'),
      (reason: Error) => reason,
    );
    t.diagnostic(`answered with an error after ${Date.now() - started} ms`);
    assert.match(error.message, /3 new sessions in a row rejected it before answering it, the last: HTTP 404 \(rule spec-404\)/);
    assert.match(error.message, /it never ran/);
    assert.equal(server.counters.executions, 1);
    assert.equal(server.counters.initializations, 4, 'the client’s own session and three new ones');
    assert.equal(recorder.count('circuit-open'), 1);
    await assert.rejects(client.callTool('increment', { key: 'circuit' }), /CIRCUIT_OPEN|Not re-initializing/);
    assert.equal(server.counters.initializations, 4, 'the circuit sent nothing');
  });
});
