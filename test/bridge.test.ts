// The stdio bridge end to end: the built CLI as a child process, driven by the official SDK client
// over StdioClientTransport (an MCP host), against real servers on 127.0.0.1.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startDialectServer } from '../src/demo/dialect-server.js';
import type { Dialect } from '../src/demo/dialects.js';
import { connectThroughBridge, INITIALIZE, spawnCli } from './helpers/bridge.js';
import { textOf } from './helpers/clients.js';
import { restartEverything, startEverything } from './helpers/server-everything.js';

describe('bridge: server-everything restarted mid-session (its 400 dialect)', () => {
  it('the call after the restart succeeds, and sampling requests still reach the host', async (t) => {
    const server = { current: await startEverything() };
    t.after(() => server.current.stop());
    const host = await connectThroughBridge(server.current.url);
    t.after(() => host.client.close());
    const echo = await host.client.callTool({ name: 'echo', arguments: { message: 'before' } });
    assert.equal(textOf(echo), 'Echo: before');

    server.current = await restartEverything(server.current);

    const after = await host.client.callTool({ name: 'echo', arguments: { message: 'after' } });
    assert.equal(textOf(after), 'Echo: after');
    // server-everything registers its sampling tool only for clients that declared sampling: the
    // re-initialization replayed the host's own capabilities.
    const sampled = await host.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 5 } });
    assert.match(textOf(sampled), /sampled by the host/);
    assert.equal(host.samplingRequests.length, 1);
    assert.match(host.stderr(), /session recovered rule=jsonrpc-400 status=400 request=tools\/call ms=\d+/);
  });
});

describe('bridge: fixture dialects', () => {
  const dialects: Dialect[] = ['spec-404', 'text-400', 'jsonrpc-400', 'missing-session-id-400', 'jsonrpc-200', 'sse-200'];
  for (const dialect of dialects) {
    it(`${dialect}: the call after loss succeeds, ran once, and the host hears list_changed`, async (t) => {
      const server = await startDialectServer({ dialect });
      t.after(() => server.close());
      const host = await connectThroughBridge(server.url);
      t.after(() => host.client.close());
      let listChanged = 0;
      host.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        listChanged += 1;
      });
      assert.equal(textOf(await host.client.callTool({ name: 'increment', arguments: { key: 'a' } })), '1');

      server.dropSessions();
      assert.equal(textOf(await host.client.callTool({ name: 'increment', arguments: { key: 'b' } })), '2');

      assert.deepEqual(
        [...server.counters.executionsByKey.entries()],
        [
          ['a', 1],
          ['b', 1],
        ],
      );
      assert.equal(server.counters.initializations, 2);
      await waitFor(() => listChanged === 1);
    });
  }

  it('EOF on stdin terminates the upstream session (DELETE) and exits 0', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const host = await connectThroughBridge(server.url);
    await host.client.callTool({ name: 'echo', arguments: { text: 'x' } });
    const exited = new Promise<number | null>((resolve) => (host.transport.onclose = () => resolve(null)));
    const child = (host.transport as unknown as { _process?: import('node:child_process').ChildProcess })._process;
    const exitCode = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    await host.transport.close();
    await exited;
    assert.equal(await exitCode, 0);
    assert.equal(server.counters.deletes, 1);
    assert.deepEqual(server.sessions(), []);
    assert.match(host.stderr(), /shutting down: stdin closed/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: terminates the upstream session and exits 0`, async (t) => {
      const server = await startDialectServer();
      t.after(() => server.close());
      const cli = spawnCli([server.url]);
      t.after(() => cli.stop());
      cli.send(INITIALIZE);
      await cli.waitForMessage((message) => message['id'] === 1);
      cli.child.kill(signal);
      assert.equal(await cli.exited, 0);
      assert.equal(server.counters.deletes, 1);
      assert.match(cli.stderr(), new RegExp(`shutting down: ${signal}`));
    });
  }

  it('--keepalive pings an idle server; the host never sees the pings', async (t) => {
    const pings: string[] = [];
    const server = await startDialectServer({
      onRequest: (_req: IncomingMessage, body: unknown) => {
        if ((body as { method?: string } | undefined)?.method === 'ping') pings.push(String((body as { id?: unknown }).id));
      },
    });
    t.after(() => server.close());
    const cli = spawnCli([server.url, '--keepalive', '0.3', '--log-level', 'debug']);
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    await cli.waitForMessage((message) => message['id'] === 1);
    cli.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    await waitFor(() => pings.length >= 2, 5_000);
    assert.match(pings[0] ?? '', /^mcp-lifeline-/);
    assert.equal(cli.stdoutLines().length, 1, 'only the initialize answer reached the host');
  });
});

describe('bridge: bad input gets a clear error, never a hang or a crash', () => {
  it('an invalid URL: exit 2 before reading stdin', async () => {
    const cli = spawnCli(['not a url']);
    assert.equal(await cli.exited, 2);
    assert.match(cli.stderr(), /<url> is not a valid URL/);
    assert.doesNotMatch(cli.stderr(), /not a url/);
    assert.deepEqual(cli.stdoutLines(), []);
  });

  it('a non-http URL, a malformed header, an unset variable, an unknown flag: exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['ftp://127.0.0.1/mcp'], /only http and https URLs are supported/],
      [['http://127.0.0.1:9/mcp', '--header', 'NoColonHere'], /expected "Name: value"/],
      [['http://127.0.0.1:9/mcp', '--header', 'Bad Name: x'], /not a valid header name/],
      [
        ['http://127.0.0.1:9/mcp', '--header', 'Authorization: Token ${LIFELINE_TEST_UNSET}'],
        /environment variable LIFELINE_TEST_UNSET is not set/,
      ],
      [['http://127.0.0.1:9/mcp', '--header-file', '/nonexistent/headers'], /cannot read it \(ENOENT\)/],
      [['http://127.0.0.1:9/mcp', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['http://127.0.0.1:9/mcp', '--log-level', 'loud'], /--log-level must be one of error, warn, info, debug/],
    ];
    for (const [args, message] of cases) {
      const cli = spawnCli(args);
      assert.equal(await cli.exited, 2, args.join(' '));
      assert.match(cli.stderr(), message);
    }
  });

  it('header values and ${VAR} secrets never appear in logs', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const cli = spawnCli([server.url, '--header', 'Authorization: Bearer ${LIFELINE_TEST_TOKEN}', '--log-level', 'debug'], {
      LIFELINE_TEST_TOKEN: 'super-secret-value',
    });
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    await cli.waitForMessage((message) => message['id'] === 1);
    server.dropSessions();
    cli.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }));
    await cli.waitForMessage((message) => message['id'] === 2);
    assert.doesNotMatch(cli.stderr() + cli.stdoutLines().join('\n'), /super-secret-value/);
    const sessionId = server.sessions()[0]?.id ?? 'none';
    assert.doesNotMatch(cli.stderr(), new RegExp(sessionId));
  });

  it('an unreachable server: the host request gets a JSON-RPC error saying so; the bridge keeps running', async () => {
    const closed = await startDialectServer();
    const url = closed.url;
    await closed.close();
    const cli = spawnCli([url]);
    try {
      cli.send(INITIALIZE);
      const answer = await cli.waitForMessage((message) => message['id'] === 1);
      assert.match(JSON.stringify(answer['error']), /cannot reach http:\/\/127\.0\.0\.1:\d+\/mcp for initialize: connection refused/);
      assert.match(cli.stderr(), /connection refused/);
      cli.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }));
      await cli.waitForMessage((message) => message['id'] === 2);
      cli.child.stdin?.end();
      // The host never got a session: exit 2 (docs/reference/cli.md#exit-codes).
      assert.equal(await cli.exited, 2);
    } finally {
      await cli.stop();
    }
  });

  it('401 at initialize: says so and points at --header', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    server.faults.initializeStatus = 401;
    const cli = spawnCli([server.url]);
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    const answer = await cli.waitForMessage((message) => message['id'] === 1);
    const text = JSON.stringify(answer['error']);
    assert.match(text, /refused the request: HTTP 401/);
    assert.match(text, /--header/);
  });

  it('not an MCP server: an HTML page, and 405 on POST', async (t) => {
    const { createServer } = await import('node:http');
    const html = createServer((req, res) => {
      if (req.url === '/page') res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome</body></html>');
      else res.writeHead(405, { allow: 'GET' }).end();
    });
    await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => html.close(resolve)));
    const port = (html.address() as { port: number }).port;
    for (const [path, message] of [
      ['/page', /content type text\/html, not MCP/],
      ['/post-not-allowed', /does not accept POST \(HTTP 405\)/],
    ] as const) {
      const cli = spawnCli([`http://127.0.0.1:${port}${path}`]);
      try {
        cli.send(INITIALIZE);
        const answer = await cli.waitForMessage((m) => m['id'] === 1);
        assert.match(JSON.stringify(answer['error']), message);
      } finally {
        await cli.stop();
      }
    }
  });

  it('a TLS error (self-signed certificate) is named as such, with its host and --ca-file', async (t) => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createServer } = await import('node:https');
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const https = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) =>
      res.end('{}'),
    );
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => https.close(resolve)));
    const port = (https.address() as { port: number }).port;
    const cli = spawnCli([`https://127.0.0.1:${port}/mcp`]);
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    const answer = await cli.waitForMessage((message) => message['id'] === 1);
    // Named with its host and what fixes it (issue 19), never "turn verification off".
    assert.match(
      JSON.stringify(answer['error']),
      new RegExp(
        `TLS error: the certificate of 127\\.0\\.0\\.1:${port} is not signed by a CA this machine trusts \\(DEPTH_ZERO_SELF_SIGNED_CERT: .*--ca-file PATH`,
      ),
    );
  });

  it('a malformed line on stdin: JSON-RPC parse error back, and the bridge keeps going', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const cli = spawnCli([server.url]);
    t.after(() => cli.stop());
    cli.send('{this is not json');
    const parseError = await cli.waitForMessage((message) => (message['error'] as { code?: number } | undefined)?.code === -32700);
    assert.equal(parseError['id'], null);
    cli.send('{"jsonrpc":"2.0","what":"no method"}');
    await cli.waitForMessage((message) => (message['error'] as { code?: number } | undefined)?.code === -32600);
    cli.send(INITIALIZE);
    const answer = await cli.waitForMessage((message) => message['id'] === 1);
    assert.equal((answer['result'] as { serverInfo?: { name?: string } }).serverInfo?.name, 'mcp-lifeline-dialect-server');
    // stdout carried JSON-RPC only.
    for (const line of cli.stdoutLines()) assert.equal((JSON.parse(line) as { jsonrpc?: string }).jsonrpc, '2.0');
  });

  it('--version and --help exit 0 on stdout', async () => {
    const version = spawnCli(['--version']);
    assert.equal(await version.exited, 0);
    assert.match(version.stdoutLines()[0] ?? '', /^\d+\.\d+\.\d+/);
    const help = spawnCli(['--help']);
    assert.equal(await help.exited, 0);
    assert.match(help.stdoutLines().join('\n'), /Examples:/);
  });
});

describe('demo', () => {
  it('short mode: every call succeeds, nothing runs twice, exit 0', async () => {
    const cli = spawnCli(['demo', '--duration', '2', '--interval', '20', '--drop-every', '3']);
    assert.equal(await cli.exited, 0, cli.stderr());
    const output = cli.stdoutLines().join('\n');
    const number = (label: string) => Number(new RegExp(`${label}\\s+(\\d+)`).exec(output)?.[1]);
    assert.ok(number('calls made') >= 10, output);
    assert.equal(number('succeeded'), number('calls made'));
    assert.equal(number('failed'), 0);
    assert.ok(number('recoveries') >= 3);
    assert.equal(number('duplicated executions'), 0);
    assert.match(output, /PASS: every call succeeded and nothing ran twice/);
    for (const rule of ['text-400', 'jsonrpc-400']) assert.match(output, new RegExp(`rule ${rule}`));
  });

  it('--without-lifeline: calls fail after the first drop, exit 1', async () => {
    const cli = spawnCli(['demo', '--duration', '1', '--interval', '20', '--without-lifeline']);
    assert.equal(await cli.exited, 1);
    const output = cli.stdoutLines().join('\n');
    assert.match(output, /failed\s+[1-9]/);
    assert.match(output, /FAIL:/);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
