// `mcp-lifeline <url> --keepalive auto`: the bridge learns the server's idle timeout from a session
// it lost after an idle gap, and says at info what the keep-alive became.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { INITIALIZE, spawnCli } from './helpers/bridge.js';

const call = (id: number) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'increment', arguments: { key: `k${id}` } } });

describe('bridge: --keepalive auto', () => {
  it('a session lost after an idle gap teaches a bound, logged at info; the call after it runs once', async (t) => {
    const server = await startDialectServer({ idleTimeoutMs: 800 });
    t.after(() => server.close());
    const cli = spawnCli([server.url, '--keepalive', 'auto']);
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    await cli.waitForMessage((message) => message['id'] === 1);
    cli.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    cli.send(call(2));
    await cli.waitForMessage((message) => message['id'] === 2);
    // Idle past the server's timeout: no keep-alive yet (none before a loss), so the session goes.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    cli.send(call(3));
    const answer = await cli.waitForMessage((message) => message['id'] === 3);
    assert.ok(answer['result'] !== undefined, JSON.stringify(answer));
    assert.equal(server.counters.executionsByKey.get('k3'), 1);
    assert.equal(server.counters.initializations, 2);
    assert.match(cli.stderr(), /info {2}the server forgot an idle session after at most \d+\.\d s: keep-alive pings after 30 s idle/);
    assert.match(cli.stderr(), /info {2}session recovered/);
  });
});
