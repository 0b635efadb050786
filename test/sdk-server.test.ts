// Against the official SDK's own server transport (v1 StreamableHTTPServerTransport, one per
// session): a session closed server-side is answered by the SDK with 404 -32001 "Session not
// found"; after a process restart, an unknown id reaches an uninitialized transport, which the SDK
// answers with 400 -32000 "Bad Request: Server not initialized".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withSessionRecovery } from '../src/index.js';
import { startSdkSessionServer } from './fixtures/sdk-session-server.js';
import { connectClient, SDKS, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';
import { builtPath, startNode } from './helpers/processes.js';

const serverScript = builtPath('./fixtures/sdk-session-server.js', import.meta.url);

describe('SDK server transport, session closed in-process (404 -32001)', () => {
  for (const sdk of SDKS) {
    it(`${sdk} client without mcp-lifeline fails with 404`, async (t) => {
      const server = await startSdkSessionServer();
      t.after(() => server.close());
      const client = await connectClient(sdk, server.url);
      t.after(() => client.close());
      await client.callTool('increment');
      await server.expire(client.sessionId as string);
      await assert.rejects(client.callTool('increment'), /Session not found/);
      assert.equal(server.counters.executions, 1);
    });

    it(`${sdk} client with mcp-lifeline recovers; the tool ran exactly once more`, async (t) => {
      const server = await startSdkSessionServer();
      t.after(() => server.close());
      const recorder = recordEvents();
      const client = await connectClient(sdk, server.url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
      t.after(() => client.close());
      assert.equal(textOf(await client.callTool('increment')), '1');
      await server.expire(client.sessionId as string);

      assert.equal(textOf(await client.callTool('increment')), '2');
      assert.equal(server.counters.executions, 2);
      assert.equal(server.counters.initializations, 2);
      assert.equal(recorder.of('session-lost')[0]?.rule, 'spec-404');
      assert.equal(recorder.count('reinitialized'), 1);
    });
  }
});

describe('SDK server restarted (400 "Server not initialized")', () => {
  for (const sdk of SDKS) {
    it(`${sdk} client: without mcp-lifeline fails, with it recovers`, async (t) => {
      const start = (port: number) => startNode([serverScript, String(port)], { ready: /LISTENING (\d+)/ });
      let server = await start(0);
      const port = Number(server.match[1]);
      t.after(() => server.stop());
      const url = `http://127.0.0.1:${port}/mcp`;
      const recorder = recordEvents();
      const plain = await connectClient(sdk, url);
      t.after(() => plain.close());
      const recovering = await connectClient(sdk, url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
      t.after(() => recovering.close());
      assert.equal(textOf(await recovering.callTool('increment')), '1');

      await server.stop();
      server = await start(port);

      await assert.rejects(plain.callTool('increment'), /Server not initialized/);
      assert.equal(textOf(await recovering.callTool('increment')), '1', 'a fresh process counts from zero: ran once');
      assert.equal(recorder.of('session-lost')[0]?.rule, 'server-not-initialized-400');
      assert.equal(recorder.count('reinitialized'), 1);
    });
  }
});
