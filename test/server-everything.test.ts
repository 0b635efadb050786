// Against the official reference server, which answers 400 -32000 "Bad Request: No valid session
// ID provided" for a session it does not know. Session loss is produced the way users meet it:
// the server process is killed and started again on the same port.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withSessionRecovery } from '../src/index.js';
import { connectClient, SDKS, textOf } from './helpers/clients.js';
import { recordEvents } from './helpers/events.js';
import { restartEverything, startEverything } from './helpers/server-everything.js';

describe('server-everything restarted mid-session', () => {
  for (const sdk of SDKS) {
    it(`${sdk} client without mcp-lifeline fails after the restart (the scenario is real)`, async (t) => {
      const server = { current: await startEverything() };
      t.after(() => server.current.stop());
      const client = await connectClient(sdk, server.current.url);
      t.after(() => client.close());
      assert.equal(textOf(await client.callTool('echo', { message: 'before' })), 'Echo: before');

      server.current = await restartEverything(server.current);
      await assert.rejects(client.callTool('echo', { message: 'after' }), /No valid session ID provided/);
      await assert.rejects(client.callTool('echo', { message: 'again' }), /No valid session ID provided/);
    });

    it(`${sdk} client with mcp-lifeline: the call after the restart succeeds, one re-initialization`, async (t) => {
      const server = { current: await startEverything() };
      t.after(() => server.current.stop());
      const recorder = recordEvents();
      const client = await connectClient(sdk, server.current.url, withSessionRecovery({ onEvent: recorder.onEvent })(fetch));
      t.after(() => client.close());
      const sessionBefore = client.sessionId;
      assert.equal(textOf(await client.callTool('echo', { message: 'before' })), 'Echo: before');

      server.current = await restartEverything(server.current);
      assert.equal(textOf(await client.callTool('echo', { message: 'after' })), 'Echo: after');
      assert.equal(textOf(await client.callTool('echo', { message: 'again' })), 'Echo: again');
      assert.equal(
        (await client.listTools()).tools.some((tool) => tool.name === 'echo'),
        true,
      );

      // The client's GET stream, re-opened while the server restarted, waits for it (the restart
      // window) and may meet the loss too: it joins the same re-initialization.
      const lost = recorder.of('session-lost').find((event) => event.rpcMethod === 'tools/call');
      assert.equal(lost?.rule, 'jsonrpc-400');
      assert.equal(lost?.status, 400);
      assert.equal(recorder.count('reinitialized'), 1);
      assert.equal(recorder.of('replayed').filter((event) => event.rpcMethod === 'tools/call').length, 1);
      assert.equal(recorder.count('recovery-failed'), 0);
      // The client keeps the id it got at initialize; the middleware maps it to the new one.
      assert.equal(client.sessionId, sessionBefore);
      // Events never carry a full session id.
      for (const event of recorder.events) {
        if ('sessionId' in event) assert.ok(!sessionBefore || !event.sessionId.includes(sessionBefore), 'session id leaked');
        assert.match(JSON.stringify(event), /"sessionId":"[^"]{0,5}"|^(?!.*sessionId)/);
      }
    });
  }
});
