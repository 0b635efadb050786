// The plain-http guard: an http:// URL on another machine is refused at startup (exit 2, a message
// naming --allow-http) before anything is sent, by every command that sends requests; loopback
// needs nothing, --allow-http (serve: allowHttp) lets it through.
//
// "Another machine" that tests can reach on loopback: 0.0.0.0, which Linux and macOS route to this
// machine but which the guard, deciding by name before any lookup, does not count as loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parseCommand } from '../src/cli/args.js';
import { parseServeCommand } from '../src/cli/serve-args.js';
import { UsageError } from '../src/cli/usage-error.js';
import { startSdkSessionServer } from './fixtures/sdk-session-server.js';
import { CLI, spawnCli } from './helpers/bridge.js';
import { startServe, tempFile } from './helpers/gateway.js';

const REFUSED =
  /refusing plain http to http:\/\/mcp\.example\.com\/mcp: headers and tokens would cross the network unencrypted\. Use https, or pass --allow-http/;

describe('the plain-http guard, as the command line is read', () => {
  it('refuses http:// to a host that is not loopback, for the bridge, probe, login and logout', () => {
    for (const argv of [
      ['http://mcp.example.com/mcp'],
      ['probe', 'http://mcp.example.com/mcp'],
      ['login', 'http://mcp.example.com/mcp'],
      ['logout', 'http://mcp.example.com/mcp'],
    ]) {
      assert.throws(
        () => parseCommand(argv, {}),
        (error: unknown) => error instanceof UsageError && REFUSED.test(error.message),
        argv.join(' '),
      );
    }
    // The query, which may carry a key, is never repeated.
    assert.throws(
      () => parseCommand(['http://mcp.example.com/mcp?api_key=s3cret'], {}),
      (error: Error) => !error.message.includes('s3cret'),
    );
  });

  it('loopback by name needs nothing; https never; --allow-http lets any host through', () => {
    for (const url of [
      'http://127.0.0.1:9/mcp',
      'http://127.8.9.10/mcp',
      'http://localhost:9/mcp',
      'http://LOCALHOST/mcp',
      'http://[::1]:9/mcp',
    ]) {
      assert.equal(parseCommand([url], {}).kind, 'bridge', url);
    }
    assert.equal(parseCommand(['probe', 'https://mcp.example.com/mcp'], {}).kind, 'probe');
    for (const url of ['http://0.0.0.0:9/mcp', 'http://app.localhost/mcp', 'http://10.0.0.5/mcp', 'http://[fe80::1]/mcp']) {
      assert.throws(() => parseCommand([url], {}), /--allow-http/, url);
      assert.equal(parseCommand([url, '--allow-http'], {}).kind, 'bridge', url);
    }
    assert.equal(parseCommand(['logout', 'http://mcp.example.com/mcp', '--allow-http'], {}).kind, 'logout');
    // status sends nothing.
    assert.equal(parseCommand(['status', 'http://mcp.example.com/mcp'], {}).kind, 'status');
  });

  it('serve: --allow-http for every upstream, allowHttp in the config file for all or for one', () => {
    assert.throws(
      () => parseServeCommand(['http://mcp.example.com/mcp'], {}),
      /serve: upstream "mcp\.example\.com": refusing plain http.*pass --allow-http/,
    );
    assert.equal(parseServeCommand(['http://mcp.example.com/mcp', '--allow-http'], {}).upstreams.length, 1);
    const config = (content: object) => tempFile('gateway.json', JSON.stringify(content));
    const one = config({
      upstreams: [
        { name: 'inside', url: 'http://10.0.0.5/mcp', allowHttp: true },
        { name: 'other', url: 'http://10.0.0.6/mcp' },
      ],
    });
    assert.throws(
      () => parseServeCommand(['--config', one], {}),
      (error: Error) =>
        /upstream "other": refusing plain http to http:\/\/10\.0\.0\.6\/mcp/.test(error.message) &&
        error.message.includes(`set "allowHttp: true" on it in ${one}`),
    );
    const all = config({ allowHttp: true, upstreams: [{ url: 'http://10.0.0.5/mcp' }, { url: 'http://10.0.0.6/mcp' }] });
    assert.equal(parseServeCommand(['--config', all], {}).upstreams.length, 2);
    assert.throws(
      () => parseServeCommand(['--config', config({ allowHttp: 'yes', upstreams: [] })], {}),
      /"allowHttp" must be true or false/,
    );
  });
});

/** A TCP listener on 127.0.0.1 that counts the connections it gets (and answers none). */
async function connectionCounter(t: TestContext): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as { port: number }).port, connections: () => connections };
}

describe('the plain-http guard, as the commands run', () => {
  it('bridge, probe, login, logout and serve exit 2 naming --allow-http, and nothing reaches the server', async (t) => {
    const counter = await connectionCounter(t);
    const url = `http://0.0.0.0:${counter.port}/mcp`;
    const runs = [[url], ['probe', url], ['login', url], ['logout', url], ['serve', url, '--port', '0']].map(async (args) => {
      const cli = spawnCli(args);
      t.after(() => cli.stop());
      const code = await cli.exited;
      return { args, code, stderr: cli.stderr() };
    });
    for (const { args, code, stderr } of await Promise.all(runs)) {
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, new RegExp(`refusing plain http to http://0\\.0\\.0\\.0:${counter.port}/mcp: .*--allow-http`), args.join(' '));
    }
    assert.equal(counter.connections(), 0);
  });

  it('--allow-http: the bridge reaches a server on a host the guard does not count as loopback', async (t) => {
    const server = await startSdkSessionServer();
    t.after(() => server.close());
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, `http://0.0.0.0:${server.port}/mcp`, '--allow-http'],
      stderr: 'pipe',
    });
    const client = new Client({ name: 'plain-http-host', version: '1.0.0' });
    await client.connect(transport);
    t.after(() => client.close());
    assert.deepEqual(await client.callTool({ name: 'increment', arguments: {} }), { content: [{ type: 'text', text: '1' }] });
    assert.equal(server.counters.initializations, 1);
  });

  it('allowHttp on one upstream in the config file: serve starts and forwards to it', async (t) => {
    const server = await startSdkSessionServer();
    t.after(() => server.close());
    const config = tempFile(
      'gateway.yaml',
      `upstreams:\n  - name: inside\n    url: http://0.0.0.0:${server.port}/mcp\n    allowHttp: true\n`,
    );
    const serve = await startServe(['--config', config]);
    t.after(() => serve.stop());
    const client = new Client({ name: 'plain-http-client', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${serve.origin}/inside/mcp`)));
    t.after(() => client.close());
    await client.callTool({ name: 'increment', arguments: {} });
    assert.equal(server.counters.executions, 1);
  });
});
