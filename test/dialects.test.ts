// Every dialect the real servers here do not speak, served by our fixture (built on the SDK's
// server transport), with both official clients and both response modes (SSE and JSON).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import type { Dialect } from '../src/demo/dialects.js';
import { SESSION_LOSS_RULES, withSessionRecovery } from '../src/index.js';
import { connectClient, SDKS, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';

const LOSS_DIALECTS: readonly Dialect[] = [
  'spec-404',
  'text-400',
  'jsonrpc-400',
  'missing-session-id-400',
  'jsonrpc-200',
  'sse-200',
  'json-200',
  'sse-json-200',
  'sse-json-end',
  'session-401',
  'worded-401',
  'json-401',
];

/** The rule that recognises a dialect (named after it, but for two variants). */
const RULE_OF: Partial<Record<Dialect, string>> = { 'sse-json-end': 'sse-json-200', 'json-401': 'worded-401' };

describe('fixture dialects: the call after loss succeeds and runs exactly once', () => {
  for (const dialect of LOSS_DIALECTS) {
    for (const jsonResponse of [false, true]) {
      for (const sdk of SDKS) {
        const mode = jsonResponse ? 'JSON' : 'SSE';
        it(`${dialect}, ${mode} answers, SDK ${sdk}`, async (t) => {
          const server = await startDialectServer({ dialect, jsonResponse });
          t.after(() => server.close());
          const recorder = recordEvents();
          const client = await connectClient(sdk, server.url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
          t.after(() => client.close());
          assert.equal(textOf(await client.callTool('increment', { key: 'first' })), '1');

          server.dropSessions();
          assert.equal(textOf(await client.callTool('increment', { key: 'second' })), '2');

          assert.equal(server.counters.executions, 2, 'server-side executions');
          assert.deepEqual([...server.counters.executionsByKey.values()], [1, 1], 'no call ran twice');
          // A 200 only suggests the loss: a ping confirms it, and meets the lost session too.
          const rule = RULE_OF[dialect] ?? dialect;
          const confirmedByPing = SESSION_LOSS_RULES.find((item) => item.name === rule)?.evidence === 'suspicion';
          assert.equal(server.counters.lostAnswers, confirmedByPing ? 2 : 1);
          assert.equal(server.counters.initializations, 2);
          assert.equal(recorder.of('session-lost')[0]?.rule, rule);
          assert.equal(recorder.of('session-lost')[0]?.knownBy, confirmedByPing ? 'ping' : 'answer');
          assert.equal(recorder.count('reinitialized'), 1);
          assert.equal(recorder.count('replayed'), 1);
        });
      }
    }
  }

  for (const dialect of LOSS_DIALECTS) {
    it(`${dialect} without mcp-lifeline: the call fails or hangs (the dialect is real)`, async (t) => {
      const server = await startDialectServer({ dialect });
      t.after(() => server.close());
      const client = await connectClient('v1', server.url);
      t.after(() => client.close());
      await client.callTool('increment');
      server.dropSessions();
      // The plain-JSON event dialects leave the SDK waiting for its own 60 s timeout (issue 8).
      const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 1_500).unref());
      const outcome = await Promise.race([
        client.callTool('increment').then(
          () => 'succeeded',
          () => 'failed',
        ),
        hung,
      ]);
      assert.notEqual(outcome, 'succeeded');
      assert.equal(server.counters.executions, 1);
    });
  }
});

describe('concurrency', () => {
  for (const sdk of SDKS) {
    it(`${sdk}: 20 concurrent calls on a lost session share one re-initialization`, async (t) => {
      const server = await startDialectServer({ dialect: 'text-400' });
      t.after(() => server.close());
      const recorder = recordEvents();
      const client = await connectClient(sdk, server.url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
      t.after(() => client.close());
      await client.callTool('echo', { text: 'warm-up' });
      server.dropSessions();

      const keys = Array.from({ length: 20 }, (_, index) => `call-${index}`);
      const results = await Promise.all(keys.map((key) => client.callTool('increment', { key })));

      assert.equal(results.length, 20);
      assert.equal(server.counters.initializations, 2, 'exactly one re-initialization server-side');
      assert.equal(recorder.count('reinitialized'), 1);
      assert.equal(server.counters.executions, 20);
      assert.deepEqual(
        keys.map((key) => server.counters.executionsByKey.get(key)),
        keys.map(() => 1),
      );
      assert.deepEqual(
        results.map((result) => Number(textOf(result))).sort((a, b) => a - b),
        keys.map((_, index) => index + 1),
      );
    });
  }
});

describe('session state is restored on the new session', () => {
  for (const sdk of SDKS) {
    it(`${sdk}: log level and subscriptions come back; unsubscribed ones do not`, async (t) => {
      const server = await startDialectServer({ dialect: 'jsonrpc-400' });
      t.after(() => server.close());
      const recorder = recordEvents();
      const client = await connectClient(sdk, server.url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
      t.after(() => client.close());
      await client.setLoggingLevel('warning');
      await client.subscribeResource('lifeline://counter');
      await client.subscribeResource('lifeline://gone');
      await client.unsubscribeResource('lifeline://gone');
      const [before] = server.sessions();
      assert.deepEqual(before?.subscriptions, ['lifeline://counter']);

      server.dropSessions();
      await client.callTool('echo', { text: 'after' });

      const [after] = server.sessions();
      assert.notEqual(after?.id, before?.id);
      assert.equal(after?.logLevel, 'warning');
      assert.deepEqual(after?.subscriptions, ['lifeline://counter']);
      const [restored] = recorder.of('state-restored');
      assert.equal(restored?.logLevel, 'warning');
      assert.equal(restored?.subscriptions, 1);
      assert.deepEqual(restored?.failures, []);
    });
  }
});
