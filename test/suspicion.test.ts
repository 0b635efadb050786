// Issue 8 part 1: replay only on proof. A tool that ran and failed with its own error that mentions a
// session is delivered as the server sent it, and runs exactly once (the server counts); only a loss
// the session confirms (a ping meets it too) is recovered and replayed. Both official SDK clients.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DialectServerOptions, startDialectServer } from '../src/demo/dialect-server.js';
import { withSessionRecovery } from '../src/index.js';
import { connectClient, SDKS, type Sdk, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';

async function setup(t: { after: (fn: () => unknown) => void }, sdk: Sdk, options: DialectServerOptions = {}) {
  const server = await startDialectServer(options);
  t.after(() => server.close());
  const recorder = recordEvents();
  const client = await connectClient(sdk, server.url, withSessionRecovery({ onEvent: recorder.onEvent, timeout: 3_000 })(fetch));
  t.after(() => client.close());
  return { server, recorder, client };
}

/** The call's outcome as text: the result's text, or the error's message. Bounded: a hang fails the test. */
async function outcomeOf(call: Promise<unknown>): Promise<{ ok: boolean; text: string; ms: number }> {
  const started = Date.now();
  const bound = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 8 s')), 8_000).unref());
  try {
    const result = await Promise.race([call, bound]);
    return { ok: true, text: textOf(result), ms: Date.now() - started };
  } catch (error) {
    return { ok: false, text: error instanceof Error ? error.message : String(error), ms: Date.now() - started };
  }
}

const HOSTILE: { name: string; jsonResponse: boolean; args: Record<string, unknown>; rule: string; says: RegExp; ended?: true }[] = [
  {
    name: '200 JSON, JSON-RPC -32603 "WebDriverError: invalid session id"',
    jsonResponse: true,
    args: { code: -32603, message: 'WebDriverError: invalid session id' },
    rule: 'jsonrpc-200',
    says: /WebDriverError: invalid session id/,
  },
  {
    name: '200 SSE, JSON-RPC -32603 "WebDriverError: invalid session id"',
    jsonResponse: false,
    args: { code: -32603, message: 'WebDriverError: invalid session id' },
    rule: 'sse-200',
    says: /WebDriverError: invalid session id/,
  },
  {
    name: 'SSE error -32000 "Database error: session expired"',
    jsonResponse: false,
    args: { code: -32000, message: 'Database error: session expired' },
    rule: 'sse-200',
    says: /Database error: session expired/,
  },
  {
    name: '422 {"detail": "Upstream login session expired"}',
    jsonResponse: false,
    args: { status: 422, message: 'Upstream login session expired' },
    rule: 'worded-4xx',
    says: /\{"detail":"Upstream login session expired"\}/,
  },
  {
    name: '200 plain JSON {"detail": "Session expired"}',
    jsonResponse: true,
    args: { status: 200, message: 'Session expired' },
    rule: 'json-200',
    says: /./,
  },
  {
    name: '200 SSE whose only event is {"detail": "Session expired"}, then the end',
    jsonResponse: false,
    args: { status: 200, sse: true, message: 'Session expired' },
    rule: 'sse-json-200',
    says: /stream ended without an answer to tools\/call: .*; it sent "Session expired" instead/,
    ended: true,
  },
];

describe('a tool that ran and failed with its own "session" error: delivered as sent, run once', () => {
  for (const sdk of SDKS) {
    for (const hostile of HOSTILE) {
      it(`${sdk}: ${hostile.name}`, async (t) => {
        const { server, recorder, client } = await setup(t, sdk, { jsonResponse: hostile.jsonResponse });
        const outcome = await outcomeOf(client.callTool('fail', { key: 'k', ...hostile.args }));

        assert.equal(outcome.ok, false, 'the tool failed, and the client is told so');
        assert.match(outcome.text, hostile.says);
        assert.equal(server.counters.executionsByKey.get('k'), 1, 'the tool ran exactly once');
        assert.equal(server.counters.initializations, 1, 'no re-initialization');
        assert.equal(server.counters.rpcMethods['ping'], 1, 'one ping asked the session');
        // The stream that ended without the answer is answered at once, and said so.
        assert.deepEqual(
          recorder.events.map((event) => event.type),
          hostile.ended ? ['loss-not-confirmed', 'stream-broken'] : ['loss-not-confirmed'],
        );
        const [cleared] = recorder.of('loss-not-confirmed');
        assert.equal(cleared?.rule, hostile.rule);
        assert.equal(cleared?.outcome, 'session-alive');
        // The session is still the same, and still works.
        assert.equal(textOf(await client.callTool('increment', { key: 'after' })), '2');
        assert.equal(server.counters.executionsByKey.get('after'), 1);
      });
    }

    it(`${sdk}: results that quote a session error (isError content, success text) are never classified`, async (t) => {
      const { server, recorder, client } = await setup(t, sdk);
      const failed = await client.callTool('fail', { key: 'r', asResult: true, message: 'WebDriverError: invalid session id' });
      assert.equal(failed.isError, true);
      assert.equal(textOf(failed), 'WebDriverError: invalid session id');
      assert.equal(textOf(await client.callTool('echo', { text: 'Session not found' })), 'Session not found');
      assert.equal(server.counters.executionsByKey.get('r'), 1);
      assert.equal(server.counters.rpcMethods['ping'], undefined, 'no ping: a result is not an error');
      assert.deepEqual(recorder.events, []);
    });

    it(`${sdk}: a loss the ping cannot confirm (ping answered 503) is delivered as sent, never replayed`, async (t) => {
      const { server, recorder, client } = await setup(t, sdk, { dialect: 'jsonrpc-200', jsonResponse: true });
      server.dropSessions();
      server.faults.failPing = 503;
      const outcome = await outcomeOf(client.callTool('increment', { key: 'unconfirmed' }));
      assert.equal(outcome.ok, false);
      assert.match(outcome.text, /Session not found/);
      assert.equal(server.counters.executions, 0);
      assert.equal(server.counters.initializations, 1, 'not re-initialized on a guess');
      const [unconfirmed] = recorder.of('loss-not-confirmed');
      assert.equal(unconfirmed?.outcome, 'unconfirmed');
      assert.match(unconfirmed?.reason ?? '', /HTTP 503/);

      // Once the session can be asked, the loss is confirmed and recovered as usual.
      server.faults.failPing = undefined;
      assert.equal(textOf(await client.callTool('increment', { key: 'confirmed' })), '1');
      assert.equal(server.counters.initializations, 2);
      assert.equal(recorder.of('session-lost')[0]?.knownBy, 'ping');
      assert.equal(server.counters.executionsByKey.get('confirmed'), 1);
    });
  }
});

describe('proof needs no ping', () => {
  for (const dialect of ['spec-404', 'text-400', 'jsonrpc-400', 'missing-session-id-400'] as const) {
    it(`${dialect}: recovered at once, no ping`, async (t) => {
      const { server, recorder, client } = await setup(t, 'v1', { dialect });
      server.dropSessions();
      assert.equal(textOf(await client.callTool('increment', { key: 'k' })), '1');
      assert.equal(server.counters.rpcMethods['ping'], undefined);
      assert.equal(recorder.of('session-lost')[0]?.knownBy, 'answer');
    });
  }
});
