// What README tells v2 SDK users: the SDK's own `versionNegotiation: { mode: 'auto' }` speaks to
// 2026-07-28 servers (Mcp-Param-* included), with withSessionRecovery in the fetch for 2025 ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectAnyEra } from '../examples/sdk-v2-any-era.js';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { startModernServer } from './fixtures/modern-server.js';

describe('v2 SDK client with versionNegotiation auto, through withSessionRecovery', () => {
  it('a 2026-only server: modern era, x-mcp-header tools work, nothing runs twice', async (t) => {
    const server = await startModernServer({ legacy: 'reject' });
    t.after(() => server.close());
    const client = await connectAnyEra(server.url);
    t.after(() => client.close());
    assert.equal(client.getProtocolEra(), 'modern');
    const result = await client.callTool({ name: 'regional', arguments: { region: 'eu-west-1', key: 'v2' } });
    assert.deepEqual(result.content, [{ type: 'text', text: 'ran in eu-west-1' }]);
    assert.equal(server.counters.runs.get('regional:v2'), 1);
  });

  it('a 2025 server that loses its session: legacy era, recovered by the middleware', async (t) => {
    const server = await startDialectServer({ dialect: 'text-400' });
    t.after(() => server.close());
    const client = await connectAnyEra(server.url);
    t.after(() => client.close());
    assert.equal(client.getProtocolEra(), 'legacy');
    await client.callTool({ name: 'increment', arguments: {} });
    server.dropSessions();
    const result = await client.callTool({ name: 'increment', arguments: {} });
    assert.deepEqual(result.content, [{ type: 'text', text: '2' }]);
    assert.equal(server.counters.executions, 2);
  });
});
