// `mcp-lifeline serve` as users run it: the built CLI as a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { CLI } from './helpers/bridge.js';
import { textOf } from './helpers/clients.js';
import { newKey, startServe, tempFile } from './helpers/gateway.js';
import { oauthSandbox, servers } from './helpers/oauth.js';
import { answerOf, openRawSession } from './helpers/raw-session.js';

describe('serve CLI', () => {
  it('SIGTERM drains: a call in flight gets its answer, then the upstream session is ended and the process exits 0', async (t) => {
    const upstream = await startDialectServer();
    t.after(() => upstream.close());
    const serve = await startServe([upstream.url]);
    t.after(() => serve.stop());
    const session = await openRawSession(fetch, `${serve.origin}/mcp`);
    const slow = session.post({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'slow', arguments: { ms: 500 } } });
    while (upstream.counters.toolCalls === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const exited = once(serve.process, 'exit');
    serve.process.kill('SIGTERM');
    const answer = await slow;
    assert.equal(answer.status, 200);
    assert.equal(textOf((await answerOf(answer))['result']), 'done');
    const [code] = await exited;
    assert.equal(code, 0);
    assert.equal(upstream.counters.deletes, 1);
    assert.match(serve.stderr(), /shutting down reason=SIGTERM/);
    assert.match(serve.stderr(), /upstream sessions ended count=1/);
  });

  it('a config file with two upstreams and ${VAR} headers; logs name endpoints, never header values', async (t) => {
    const seen: string[] = [];
    const upstream = await startDialectServer({ onRequest: (req: IncomingMessage) => seen.push(String(req.headers['x-api-key'])) });
    t.after(() => upstream.close());
    const config = tempFile(
      'gateway.yaml',
      `upstreams:\n  - name: alpha\n    url: ${upstream.url}\n    headers: { X-Api-Key: "\${ALPHA_KEY}" }\n  - name: beta\n    url: ${upstream.url}\n`,
    );
    const serve = await startServe(['--config', config], { ALPHA_KEY: 'alpha-secret-value' });
    t.after(() => serve.stop());
    const alpha = await openRawSession(fetch, `${serve.origin}/alpha/mcp`);
    assert.equal(textOf((await alpha.request('tools/call', { name: 'echo', arguments: { text: 'a' } }))['result']), 'a');
    const beta = await openRawSession(fetch, `${serve.origin}/beta/mcp`);
    assert.equal(textOf((await beta.request('tools/call', { name: 'echo', arguments: { text: 'b' } }))['result']), 'b');
    assert.deepEqual([...new Set(seen)].sort(), ['alpha-secret-value', 'undefined']);
    assert.match(serve.stderr(), /serving upstream=alpha endpoint=http:\/\/127\.0\.0\.1:\d+\/alpha\/mcp/);
    assert.equal((await fetch(`${serve.origin}/mcp`)).status, 404, 'two upstreams: no /mcp shortcut');
    assert.ok(!serve.stderr().includes('alpha-secret-value'));
  });

  it('SIGHUP re-reads the key and token files: rotation without a restart; a retired key ends its sessions, a revoked token is refused', async (t) => {
    const upstream = await startDialectServer();
    t.after(() => upstream.close());
    const [oldKey, newKey_] = [newKey(), newKey()];
    const keyFile = tempFile('keys', `${oldKey}\n`);
    const tokenFile = tempFile('tokens', 'alice alice-token-0123456789\nbob bob-token-0123456789\n');
    const serve = await startServe([upstream.url, '--key-file', keyFile, '--token-file', tokenFile]);
    t.after(() => serve.stop());
    const url = `${serve.origin}/mcp`;
    const alice = { authorization: 'Bearer alice-token-0123456789' };
    const before = await openRawSession(fetch, url, alice);
    // Rewrites both files, sends SIGHUP, and waits (bounded) for the log line that says how it went.
    const hup = async (keys: string, tokens: string, outcome = /credentials reloaded/g) => {
      writeFileSync(keyFile, keys);
      writeFileSync(tokenFile, tokens);
      const seen = () => (serve.stderr().match(outcome) ?? []).length;
      const before = seen();
      serve.process.kill('SIGHUP');
      const deadline = Date.now() + 5000;
      while (seen() === before) {
        assert.ok(Date.now() < deadline, `no ${outcome} after SIGHUP: ${serve.stderr().slice(-500)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const ping = async (session: { post(message: unknown): Promise<Response> }) =>
      (await session.post({ jsonrpc: '2.0', id: 9, method: 'ping' })).status;

    // Step 1 and 2 of a rotation: the new key first; sessions sealed with the old one carry on.
    await hup(`${newKey_}\n${oldKey}\n`, 'alice alice-token-0123456789\n');
    assert.equal(await ping(before), 200);
    const after = await openRawSession(fetch, url, alice);
    assert.equal(await ping(after), 200);
    const bob = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer bob-token-0123456789' }, body: '{}' });
    assert.equal(bob.status, 401, "bob's token was revoked");
    // Retire the old key: its sessions end (404, the host re-initializes); the new ones live on.
    await hup(`${newKey_}\n`, 'alice alice-token-0123456789\n');
    assert.equal(await ping(before), 404);
    assert.equal(await ping(after), 200);
    // A broken file is refused; the credentials in force stay.
    await hup(
      'not a key\n',
      'alice alice-token-0123456789\n',
      /reload refused, the previous credentials stay in force: .*--key-file .*line 1/g,
    );
    assert.equal(await ping(after), 200);
  });

  it('an OAuth upstream: the gateway signs in as itself (client credentials) and recovers the session; hosts bring no credential', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t, { machineClient: { id: 'gateway', secret: 'gateway-secret-0123' } });
    const env = sandbox.env({ MCP_LIFELINE_CLIENT_ID: 'gateway', MCP_LIFELINE_CLIENT_SECRET: 'gateway-secret-0123' });
    const serve = await startServe([server.url, '--oauth-client-credentials'], env);
    t.after(() => serve.stop());
    const host = await openRawSession(fetch, `${serve.origin}/mcp`);
    assert.equal(textOf((await host.request('tools/call', { name: 'increment', arguments: {} }))['result']), '1');
    await server.expireSessions();
    assert.equal(textOf((await host.request('tools/call', { name: 'increment', arguments: {} }))['result']), '2');
    assert.equal(server.counters.executions, 2);
    assert.equal(server.authorizationServer.counters.tokens['client_credentials'], 1);
    assert.equal((await sandbox.browserRuns()).length, 0);
    assert.match(serve.stderr(), /oauth="client credentials"/);
    assert.ok(!serve.stderr().includes('gateway-secret-0123'));
  });

  it('an OAuth upstream nobody signed in to: the host gets an error that says to run mcp-lifeline login, and no browser opens', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const serve = await startServe([server.url, '--oauth'], sandbox.env());
    t.after(() => serve.stop());
    const answer = await fetch(`${serve.origin}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'h', version: '1' } },
      }),
    });
    const text = await answer.text();
    assert.match(text, /mcp-lifeline login/);
    assert.equal((await sandbox.browserRuns()).length, 0);
  });

  for (const [what, args, message] of [
    [
      'a non-loopback address without a credential',
      ['http://127.0.0.1:9/mcp', '--host', '0.0.0.0'],
      /refusing to listen on 0\.0\.0\.0 without a client credential/,
    ],
    [
      'Redis without shared keys',
      ['http://127.0.0.1:9/mcp', '--store', 'redis://127.0.0.1:9'],
      /must share the session keys too: give --key-file/,
    ],
    ['an unknown store', ['http://127.0.0.1:9/mcp', '--store', 'etcd://x'], /--store must be "memory" or a redis:\/\//],
    [
      'a missing token file',
      ['http://127.0.0.1:9/mcp', '--token-file', '/nonexistent/tokens'],
      /--token-file \/nonexistent\/tokens: cannot read it \(ENOENT\)/,
    ],
  ] as const) {
    it(`refuses ${what}: exit 2 with the reason`, () => {
      const run = spawnSync(process.execPath, [CLI, 'serve', ...args, '--port', '0'], { encoding: 'utf8', timeout: 15_000 });
      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, message);
      // One line: nothing is contacted (no "store not reachable yet") before a refusal.
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    });
  }

  it('serve --help documents every flag', () => {
    const run = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
    assert.equal(run.status, 0);
    for (const flag of [
      '--name',
      '--config',
      '--host',
      '--port',
      '--token-file',
      '--store',
      '--key-file',
      '--session-ttl',
      '--allowed-host',
      '--max-body',
    ]) {
      assert.ok(run.stdout.includes(flag), flag);
    }
  });
});
