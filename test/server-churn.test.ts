// Issue 9, session churn: a server that opens sessions and then rejects everything on them (a load
// balancer without sticky sessions) costs a bounded number of recovery attempts; sessions the
// middleware gives up are ended (DELETE); a circuit stops re-initializing until the server answers.
// Issue 18: a call whose new session is rejected again is recovered again (up to maxRecoveries), and
// the circuit still bounds what the server costs in all.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { isLifelineError, SessionRecoveryError, withSessionRecovery } from '../src/index.js';
import { connectClient, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';
import { openRawSession } from './helpers/raw-session.js';

const CALLS = 20;

async function twentyCalls(mode: 'all' | 'requests') {
  const server = await startDialectServer();
  const recorder = recordEvents();
  const fetchWithRecovery = withSessionRecovery({ onEvent: recorder.onEvent, circuit: { initialDelayMs: 300 } })(fetch);
  const session = await openRawSession(fetchWithRecovery, server.url);
  server.faults.rejectSessions = mode;
  const codes: string[] = [];
  for (let call = 0; call < CALLS; call++) {
    try {
      await session.request('tools/call', { name: 'increment', arguments: { key: `call-${call}` } });
      codes.push('ok');
    } catch (error) {
      codes.push(isLifelineError(error) ? error.code : String(error));
    }
  }
  return { server, recorder, session, fetchWithRecovery, codes };
}

/** Waits until `condition` holds, polling; fails after `ms`. */
async function until(condition: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a server that rejects every session it opens', () => {
  it('20 calls, initialized rejected too: 3 new sessions, each ended with DELETE, then the circuit answers at once', async (t) => {
    const { server, recorder, codes } = await twentyCalls('all');
    t.after(() => server.close());
    // The client's own session, plus one recovery attempt for each of the first 3 calls.
    assert.equal(server.counters.initializations, 4, 'server sessions created');
    assert.deepEqual(codes, [...Array(3).fill('REINITIALIZE_FAILED'), ...Array(CALLS - 3).fill('CIRCUIT_OPEN')]);
    await until(() => server.counters.deletes === 3);
    assert.equal(server.counters.httpRequests['DELETE'], 3, 'DELETEs received: one per abandoned session');
    assert.equal(server.sessions().length, 1, 'only the client’s own session is left');
    assert.equal(server.counters.rpcMethods['tools/call'], 1, 'only the first call was ever sent');
    assert.equal(server.counters.executions, 0);
    assert.equal(recorder.count('session-abandoned'), 3);
    assert.equal(recorder.count('circuit-open'), 1);
  });

  it('20 calls, notifications accepted: each new session rejected at once, ended; the first call gets 3, then the circuit', async (t) => {
    const { server, recorder, session, fetchWithRecovery, codes } = await twentyCalls('requests');
    t.after(() => server.close());
    assert.equal(server.counters.initializations, 4);
    // Call 1 is recovered again after each rejection, 3 times (maxRecoveries), which opens the circuit.
    assert.deepEqual(codes, ['SESSION_LOST_AGAIN', ...Array(CALLS - 1).fill('CIRCUIT_OPEN')]);
    await until(() => server.counters.deletes === 3);
    assert.equal(server.counters.httpRequests['DELETE'], 3);
    // Call 1 went to the client's session, then to each new one; the others were never sent.
    assert.equal(server.counters.rpcMethods['tools/call'], 4);
    assert.equal(server.counters.executions, 0);
    assert.deepEqual(
      recorder.of('session-abandoned').map((event) => event.reason),
      ['rejected-at-once', 'rejected-at-once', 'rejected-at-once'],
    );

    // The circuit's error names the cause and when it tries again; nothing was sent.
    const before = server.counters.httpRequests['POST'] ?? 0;
    const error = await session.request('tools/call', { name: 'increment', arguments: {} }).then(
      () => assert.fail('expected CIRCUIT_OPEN'),
      (reason: unknown) => reason,
    );
    assert.ok(error instanceof SessionRecoveryError);
    assert.equal(error.code, 'CIRCUIT_OPEN');
    assert.match(error.message, /the last 3 attempts to re-initialize failed \(a new session was rejected at once: HTTP 404/);
    assert.match(error.message, /the next one may start in \d+ s, at \d{4}-\d\d-\d\dT/);
    assert.ok((error.retryAt ?? 0) > Date.now());
    assert.equal(server.counters.httpRequests['POST'] ?? 0, before, 'nothing sent while the circuit is open');

    // The server recovers: after the circuit's delay, one call tries again and closes it.
    server.faults.rejectSessions = undefined;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (error.retryAt ?? 0) - Date.now()) + 20));
    const answer = await session.request('tools/call', { name: 'increment', arguments: { key: 'back' } });
    assert.ok(answer['result'] !== undefined, JSON.stringify(answer));
    assert.equal(server.counters.executionsByKey.get('back'), 1);
    assert.equal(recorder.count('circuit-closed'), 1);
    void fetchWithRecovery;
  });

  it('SDK client: the same churn costs at most 3 new sessions, every one ended', async (t) => {
    const server = await startDialectServer({ noEventStream: true });
    t.after(() => server.close());
    const recorder = recordEvents();
    const client = await connectClient('v2', server.url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
    t.after(() => client.close());
    assert.equal(textOf(await client.callTool('increment')), '1');
    server.faults.rejectSessions = 'requests';
    const outcomes = await Promise.allSettled(Array.from({ length: CALLS }, () => client.callTool('increment')));
    assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 0);
    assert.ok(server.counters.initializations <= 4, `${server.counters.initializations} sessions`);
    await until(() => server.counters.deletes === server.counters.initializations - 1);
    assert.equal(server.counters.executions, 1);
  });
});
