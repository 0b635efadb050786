// `serve` in front of upstreams of other eras, through the era adapters (src/upstream): a
// 2024-11-05 HTTP+SSE server and a 2026-07-28 server, used by 2025-era SDK hosts over Streamable
// HTTP exactly as a 2025 upstream would be. Server-side counters prove nothing ran twice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startModernServer } from './fixtures/modern-server.js';
import { startSseServer } from './fixtures/sse-server.js';
import { connectClient, SDKS, textOf } from './helpers/clients.js';
import { gatewayFor } from './helpers/gateway.js';

describe('serve: upstreams of other eras', () => {
  for (const sdk of SDKS) {
    it(`a 2024-11-05 HTTP+SSE server (--transport sse), SDK ${sdk} host; a server restart is survived`, async (t) => {
      const server = await startSseServer();
      t.after(() => server.close());
      const gateway = await gatewayFor(t, {
        upstreams: [{ name: 'legacy', url: new URL(server.url), era: { protocol: 'auto', transport: 'sse' } }],
      });
      const host = await connectClient(sdk, gateway.url);
      t.after(() => host.close());
      assert.ok(host.sessionId, 'the host holds a session id of the gateway');
      assert.equal(textOf(await host.callTool('increment', { key: 'a' })), '1');
      await server.restart();
      assert.equal(textOf(await host.callTool('increment', { key: 'b' })), '2');
      assert.deepEqual(Object.fromEntries(server.counters.executionsByKey), { a: 1, b: 1 });
    });
  }

  it('a 2026-07-28 server (--protocol 2026): requests and the answer to the host initialize come through the stateless adapter', async (t) => {
    const server = await startModernServer({ legacy: 'reject' });
    t.after(() => server.close());
    const gateway = await gatewayFor(t, {
      upstreams: [{ name: 'modern', url: new URL(server.url), era: { protocol: '2026', transport: 'auto' } }],
    });
    const host = await connectClient('v1', gateway.url);
    t.after(() => host.close());
    assert.equal(textOf(await host.callTool('increment', { key: 'x' })), '1');
    assert.equal(textOf(await host.callTool('increment', { key: 'y' })), '1');
    assert.equal(server.counters.runs.get('increment:x'), 1);
    assert.equal(server.counters.runs.get('increment:y'), 1);
  });

  it('auto: one probe at the host initialize decides, per session (here: HTTP+SSE)', async (t) => {
    const server = await startSseServer();
    t.after(() => server.close());
    const gateway = await gatewayFor(t, {
      upstreams: [{ name: 'found-out', url: new URL(server.url), era: { protocol: 'auto', transport: 'auto' } }],
    });
    const host = await connectClient('v2', gateway.url);
    t.after(() => host.close());
    assert.equal(textOf(await host.callTool('increment', { key: 'z' })), '1');
    assert.equal(server.counters.executionsByKey.get('z'), 1);
  });
});
