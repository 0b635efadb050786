// `mcp-lifeline probe` against real servers on 127.0.0.1: server-everything, the SDK server
// transport, a stateless server, every fixture dialect, and one no rule knows.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { painter } from '../src/cli/paint.js';
import { renderText } from '../src/cli/probe/render-text.js';
import type { ProbeReport } from '../src/cli/probe/report.js';
import { startDialectServer } from '../src/demo/dialect-server.js';
import type { Dialect } from '../src/demo/dialects.js';
import { startSdkSessionServer } from './fixtures/sdk-session-server.js';
import { spawnCli } from './helpers/bridge.js';
import { probe } from './helpers/probe.js';
import { startEverything } from './helpers/server-everything.js';

describe('probe: real servers', () => {
  it('server-everything: 400 -32000, recognised (rule jsonrpc-400), exit 0', async (t) => {
    const server = await startEverything();
    t.after(() => server.stop());
    const { code, stdout } = await probe(server.url);
    assert.equal(code, 0);
    assert.match(stdout, /name \/ version\s+mcp-servers\/everything/);
    assert.match(stdout, /POST ping with a never-issued session id\n\s+HTTP 400 application\/json → lost session, rule jsonrpc-400/);
    assert.match(stdout, /Answers 400 instead of 404: hosts that recover only on 404 will break .* \(rule jsonrpc-400\)/);
    assert.match(stdout, /hosts that re-initialize on 404 \(opencode, mcp-remote, Codex\)\s+no/);
    assert.match(stdout, /any host through mcp-lifeline\s+yes/);
  });

  it('SDK server transport: never-issued id → 400 "Server not initialized", terminated session → 404 -32001', async (t) => {
    const server = await startSdkSessionServer();
    t.after(() => server.close());
    const { code, json } = await probe(server.url, ['--json']);
    assert.equal(code, 0);
    const checks = Object.fromEntries(
      ((json?.['checks'] ?? []) as { name: string; status: number; rule: string }[]).map((check) => [check.name, check]),
    );
    assert.equal(checks['unknown-session']?.rule, 'server-not-initialized-400');
    assert.equal(checks['terminated-session']?.status, 404);
    assert.equal(checks['terminated-session']?.rule, 'spec-404');
    assert.equal(json?.['verdict'].kind, 'recognised-non-404');
    // One tool, said in the singular.
    assert.equal(json?.['liveCheck'].excerpt, '1 tool');
  });
});

describe('probe: fixture servers', () => {
  const expected: [Dialect, string, string][] = [
    ['spec-404', 'spec-404', 'spec-404'],
    ['text-400', 'recognised-non-404', 'text-400'],
    ['jsonrpc-400', 'recognised-non-404', 'jsonrpc-400'],
    ['missing-session-id-400', 'recognised-non-404', 'missing-session-id-400'],
    ['jsonrpc-200', 'recognised-non-404', 'jsonrpc-200'],
    ['sse-200', 'recognised-non-404', 'sse-200'],
    ['session-401', 'recognised-non-404', 'session-401'],
  ];
  for (const [dialect, kind, rule] of expected) {
    it(`${dialect}: verdict ${kind}, rule ${rule}, no session left open`, async (t) => {
      const server = await startDialectServer({ dialect });
      t.after(() => server.close());
      const { code, json } = await probe(server.url, ['--json']);
      assert.equal(code, 0);
      assert.equal(json?.['verdict'].kind, kind);
      assert.equal(json?.['verdict'].rule, rule);
      assert.deepEqual(server.sessions(), [], 'the probe ended its own session');
      assert.equal(server.counters.deletes, 1);
    });
  }

  it('401 without a challenge to server/discover (issue 18): says what it saw, and that initialize decides', async (t) => {
    const server = await startDialectServer({ dialect: 'session-401' });
    t.after(() => server.close());
    const { code, json } = await probe(server.url, ['--json']);
    assert.equal(code, 0);
    assert.equal(json?.['eras'].modern.speaks, false);
    assert.match(
      json?.['eras'].modern.detail,
      /server\/discover answered HTTP 401 "unknown session" without a challenge, which does not show a 2026-07-28 server/,
    );
    assert.equal(json?.['eras'].streamableHttp.speaks, true);
    assert.match(json?.['eras'].auto, /2025 Streamable HTTP/);
  });

  it('spec-404: every 404-recovering host copes', async (t) => {
    const server = await startDialectServer({ dialect: 'spec-404' });
    t.after(() => server.close());
    const { stdout } = await probe(server.url);
    assert.match(stdout, /Spec-compliant: a lost session is answered with 404/);
    assert.match(stdout, /hosts that re-initialize on 404 \(opencode, mcp-remote, Codex\)\s+yes/);
    assert.match(stdout, /hosts that never re-initialize \(official TS and Python SDKs\)\s+no/);
  });

  it('stateless: says so, exit 0', async (t) => {
    const server = await startDialectServer({ stateless: true });
    t.after(() => server.close());
    const { code, json } = await probe(server.url, ['--json']);
    assert.equal(code, 0);
    assert.equal(json?.['server'].sessionIssued, false);
    assert.equal(json?.['verdict'].kind, 'stateless');
    assert.deepEqual(json?.['coping'], { hostsRecoveringOn404: true, hostsWithoutRecovery: true, mcpLifeline: true });
    assert.match((await probe(server.url)).stdout, /session id\s+none: a stateless server/);
  });

  it('a server that issues ids but accepts any: says it does not enforce sessions, exit 0', async (t) => {
    const { createMcpHandler, McpServer } = await import('@modelcontextprotocol/server');
    const { serveWebHandler } = await import('./fixtures/web-handler-server.js');
    const handler = createMcpHandler(() => new McpServer({ name: 'lenient', version: '1.0.0' }));
    // Hands out a session id at initialize, then never checks it (as some gateways do).
    const http = await serveWebHandler(async (request) => {
      const response = await handler.fetch(request);
      const headers = new Headers(response.headers);
      headers.set('mcp-session-id', 'issued-but-never-checked');
      return new Response(response.body, { status: response.status, headers });
    });
    t.after(async () => {
      await handler.close();
      await http.close();
    });
    const { code, json } = await probe(http.url, ['--json']);
    assert.equal(code, 0);
    assert.equal(json?.['verdict'].kind, 'accepts-unknown-session');
    assert.equal(json?.['coping'].hostsWithoutRecovery, true);
  });

  it('an answer no rule knows: exit 1, "not recognised", the evidence in the report', async (t) => {
    const server = await startDialectServer({ dialect: 'unrecognised' });
    t.after(() => server.close());
    const text = await probe(server.url);
    assert.equal(text.code, 1);
    assert.match(
      text.stdout,
      /Not recognised: .*Please report it at https:\/\/github\.com\/mcp-lifeline\/mcp-lifeline\/issues with the --json report, or this evidence: POST ping with a never-issued session id: 400 Bad Request/,
    );
    assert.match(text.stdout, /HTTP 400 text\/plain → not recognised as session loss/);
    const { code, json } = await probe(server.url, ['--json']);
    assert.equal(code, 1);
    assert.equal(json?.['verdict'].kind, 'not-recognised');
    assert.equal(json?.['checks'][0].excerpt, 'Bad Request');
    assert.equal(json?.['coping'].mcpLifeline, false);
  });

  it('--json: stable fields, absent values as null', async (t) => {
    const server = await startDialectServer({ dialect: 'text-400' });
    t.after(() => server.close());
    const { json } = await probe(server.url, ['--json']);
    assert.equal(json?.['schemaVersion'], 1);
    assert.equal(json?.['url'], server.url);
    assert.deepEqual(Object.keys(json ?? {}), [
      'schemaVersion',
      'url',
      'server',
      'liveCheck',
      'checks',
      'verdict',
      'coping',
      'idle',
      'eras',
    ]);
    assert.equal(json?.['idle'], null);
    assert.deepEqual(
      ((json?.['checks'] ?? []) as { name: string }[]).map((check) => check.name),
      ['unknown-session', 'no-session', 'get-unknown-session', 'delete-own-session', 'terminated-session'],
    );
    assert.deepEqual(Object.keys(json?.['checks'][0]), [
      'name',
      'request',
      'status',
      'contentType',
      'excerpt',
      'error',
      'lost',
      'rule',
      'note',
    ]);
    assert.match(json?.['server'].sessionId, /^.{4}…$/);
    assert.deepEqual(json?.['server'].capabilities, ['tools (listChanged)', 'resources (subscribe, listChanged)', 'logging']);
  });
});

describe('probe --idle', () => {
  it('finds the bracket of a 1.5 s idle timeout with a 0.5 s, 1 s, 2 s schedule', async (t) => {
    const server = await startDialectServer({ dialect: 'spec-404', idleTimeoutMs: 1500 });
    t.after(() => server.close());
    const { code, json } = await probe(server.url, ['--json', '--idle', '--idle-steps', '500ms,1s,2s']);
    assert.equal(code, 0);
    assert.deepEqual(json?.['idle'].stepsMs, [500, 1000, 2000]);
    assert.equal(json?.['idle'].survivedMs, 1000);
    assert.equal(json?.['idle'].diedAfterMs, 2000);
    assert.equal(json?.['idle'].rule, 'spec-404');
    assert.match(json?.['idle'].summary, /the idle timeout is between 1 s and 2 s/);
    // The bound it found, as the bridge's --keepalive takes it, in the JSON and on the terminal.
    assert.equal(json?.['idle'].keepalive, 'auto:2s');
    assert.match(
      renderText(json as ProbeReport, painter(false)),
      /keep sessions alive from the start: mcp-lifeline http:\/\/127\.0\.0\.1:\d+\/mcp --keepalive auto:2s/,
    );
    assert.deepEqual(server.sessions(), []);
  });

  it('survives every step: says so, and ends its measuring session', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const { stdout } = await probe(server.url, ['--idle=1s', '--idle-steps', '200ms,400ms']);
    assert.match(stdout, /Idle timeout\n\s+tried 0.2 s, 0.4 s\n\s+The session survived 0.4 s idle/);
    assert.doesNotMatch(stdout, /--keepalive/, 'no timeout found: nothing to suggest');
    assert.deepEqual(server.sessions(), []);
  });

  it('Ctrl-C stops the wait at once and still prints the report', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 300);
    const started = Date.now();
    const { code, stdout } = await probe(server.url, ['--idle', '--idle-steps', '30s'], interrupt.signal);
    assert.ok(Date.now() - started < 5000, 'did not wait out the 30 s step');
    assert.equal(code, 0);
    assert.match(stdout, /Interrupted before the first check/);
    assert.match(stdout, /Verdict\n\s+Spec-compliant/);
    assert.deepEqual(server.sessions(), []);
  });
});

describe('probe: connection problems exit 2 with a clear message', () => {
  it('nothing listening', async () => {
    const server = await startDialectServer();
    const url = server.url;
    await server.close();
    const { code, stderr, json } = await probe(url, ['--json']);
    assert.equal(code, 2);
    assert.match(stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+\/mcp: connection refused/);
    assert.match(json?.['error'], /connection refused/);
  });

  it('401: hints at --header', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    server.faults.initializeStatus = 401;
    const { code, stderr } = await probe(server.url);
    assert.equal(code, 2);
    assert.match(stderr, /refused the request: HTTP 401.*--header/);
  });

  it('an HTML page: not an MCP endpoint', async (t) => {
    const html = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'));
    await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => html.close(resolve)));
    const { code, stderr } = await probe(`http://127.0.0.1:${(html.address() as AddressInfo).port}/`);
    assert.equal(code, 2);
    assert.match(stderr, /is not an MCP endpoint: it answered initialize with text\/html/);
  });
});

describe('probe through the built CLI', () => {
  it('prints the report and exits 0 for a recognised dialect', async (t) => {
    const server = await startDialectServer({ dialect: 'missing-session-id-400' });
    t.after(() => server.close());
    const cli = spawnCli(['probe', server.url, '--no-color']);
    assert.equal(await cli.exited, 0, cli.stderr());
    assert.match(cli.stdoutLines().join('\n'), /mcp-lifeline recognises it \(rule missing-session-id-400\)/);
  });

  it('Ctrl-C (SIGINT) during --idle: prints what it found and exits', async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const cli = spawnCli(['probe', server.url, '--no-color', '--idle', '--idle-steps', '60s']);
    t.after(() => cli.stop());
    await new Promise((resolve) => setTimeout(resolve, 1500));
    cli.child.kill('SIGINT');
    assert.equal(await cli.exited, 0);
    assert.match(cli.stdoutLines().join('\n'), /Interrupted before the first check/);
    assert.deepEqual(server.sessions(), []);
  });
});
