// Servers that issue no session id (stateless 2025 servers, and the 2026-07-28 revision, which has
// no sessions) must pass through untouched: same arguments to fetch, same responses, no events.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { type FetchLike, withSessionRecovery } from '../src/index.js';
import { startMcpHandlerServer } from './fixtures/web-handler-server.js';
import { connectClient, SDKS, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';

/** Wraps fetch to check that the middleware handed each call over with the caller's own objects. */
function identitySpy() {
  const calls: { input: unknown; init: unknown }[] = [];
  const next: FetchLike = (input, init) => {
    calls.push({ input, init });
    return fetch(input, init);
  };
  return { calls, next };
}

function outerSpy(inner: FetchLike) {
  const calls: { input: unknown; init: unknown }[] = [];
  const fetchLike: FetchLike = (input, init) => {
    calls.push({ input, init });
    return inner(input, init);
  };
  return { calls, fetchLike };
}

describe('stateless servers pass through untouched', () => {
  for (const sdk of SDKS) {
    it(`fixture in stateless mode, SDK ${sdk}`, async (t) => {
      const server = await startDialectServer({ stateless: true });
      t.after(() => server.close());
      const recorder = recordEvents();
      const inner = identitySpy();
      const outer = outerSpy(withSessionRecovery({ onEvent: recorder.onEvent })(inner.next));
      const client = await connectClient(sdk, server.url, outer.fetchLike);
      t.after(() => client.close());
      assert.equal(client.sessionId, undefined);
      assert.equal(textOf(await client.callTool('increment')), '1');
      assert.equal(textOf(await client.callTool('increment')), '2');
      assert.deepEqual(recorder.events, []);
      assert.equal(inner.calls.length, outer.calls.length);
      inner.calls.forEach((call, index) => {
        assert.equal(call.input, outer.calls[index]?.input, 'same input object');
        assert.equal(call.init, outer.calls[index]?.init, 'same init object');
      });
    });

    it(`v2 SDK createMcpHandler (2026-07-28 server with legacy stateless fallback), SDK ${sdk} client`, async (t) => {
      const http = await startMcpHandlerServer();
      t.after(() => http.close());
      const recorder = recordEvents();
      const inner = identitySpy();
      const outer = outerSpy(withSessionRecovery({ onEvent: recorder.onEvent })(inner.next));
      const client = await connectClient(sdk, http.url, outer.fetchLike);
      t.after(() => client.close());
      assert.equal(textOf(await client.callTool('increment')), '1');
      assert.equal(textOf(await client.callTool('increment')), '2');
      assert.equal(http.executions(), 2);
      assert.deepEqual(recorder.events, []);
      inner.calls.forEach((call, index) => {
        assert.equal(call.init, outer.calls[index]?.init, 'same init object');
      });
    });
  }
});
