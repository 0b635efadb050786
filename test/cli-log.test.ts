// The CLI's log: each error said once, `--log-file` for hosts that hide stderr (the same scrubbed
// lines, appended, created 0600), and the warnings a header without its credential gets.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { canonicalServerUrl } from '../src/auth/canonical-server-url.js';
import { createOAuthStore } from '../src/auth/oauth-store.js';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { INITIALIZE, spawnCli } from './helpers/bridge.js';
import { startServe } from './helpers/gateway.js';
import { oauthSandbox } from './helpers/oauth.js';
import { freePort } from './helpers/processes.js';

/** Lines of a log, without their time stamps. */
function messages(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^\S+Z /, ''));
}

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
}

const call = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'increment', arguments: {} } });

describe('the log: once, and in a file', () => {
  it('bridge --log-file, server unreachable: the error once, the same lines as stderr, appended, mode 0600; exit 2', async (t) => {
    const sandbox = await oauthSandbox(t);
    const file = join(sandbox.dir, 'bridge.log');
    const port = await freePort();
    const cli = spawnCli([`http://127.0.0.1:${port}/mcp`, '--log-file', file, '--header', 'Authorization: Bearer ${API_TOKEN}'], {
      API_TOKEN: ' ',
    });
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    await cli.waitForMessage((message) => message['id'] === 1);
    cli.child.stdin?.end();
    assert.equal(await cli.exited, 2, cli.stderr());
    const log = readFileSync(file, 'utf8');
    assert.equal(count(log, /cannot reach http:\/\/127\.0\.0\.1:\d+\/mcp/), 1, log);
    assert.equal(count(cli.stderr(), /cannot reach/), 1, cli.stderr());
    assert.deepEqual(messages(log), messages(cli.stderr()));
    assert.match(
      log,
      /warn {2}--header "Authorization: …": the value ends in the scheme "Bearer" with no credential after it \(it held \$\{API_TOKEN\}\)/,
    );
    assert.equal(statSync(file).mode & 0o777, 0o600);

    // A second run appends.
    const again = spawnCli([`http://127.0.0.1:${port}/mcp`, '--log-file', file]);
    t.after(() => again.stop());
    again.send(INITIALIZE);
    await again.waitForMessage((message) => message['id'] === 1);
    again.child.stdin?.end();
    assert.equal(await again.exited, 2);
    assert.equal(count(readFileSync(file, 'utf8'), /cannot reach/), 2);
  });

  it('bridge --log-file at debug, through session losses: no token, no full session id, in the file or on stderr', async (t) => {
    const sent = new Set<string>();
    const server = await startDialectServer({
      dialect: 'jsonrpc-400',
      dropEvery: 2,
      onRequest: (req: IncomingMessage) => {
        const id = req.headers['mcp-session-id'];
        if (typeof id === 'string') sent.add(id);
      },
    });
    t.after(() => server.close());
    const sandbox = await oauthSandbox(t);
    const file = join(sandbox.dir, 'bridge.log');
    const token = 'tok-0123456789abcdef-secret';
    const cli = spawnCli([server.url, '--log-file', file, '--log-level', 'debug', '--header', 'Authorization: Bearer ${API_TOKEN}'], {
      API_TOKEN: token,
    });
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    await cli.waitForMessage((message) => message['id'] === 1);
    cli.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    for (let id = 2; id <= 6; id++) {
      cli.send(call(id));
      const answer = await cli.waitForMessage((message) => message['id'] === id);
      assert.ok(answer['result'], JSON.stringify(answer));
    }
    cli.child.stdin?.end();
    assert.equal(await cli.exited, 0);
    const log = readFileSync(file, 'utf8');
    assert.ok(count(log, /session recovered/) >= 2, log);
    assert.deepEqual(messages(log), messages(cli.stderr()));
    assert.ok(sent.size >= 3, `${sent.size} session ids`);
    for (const secret of [token, ...sent]) assert.ok(!log.includes(secret), `${secret.slice(0, 6)}… is in the log`);
  });

  it('bridge: a failed sign-in is logged once (it was three times), and the host gets it', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = createServer((req, res) => {
      req.resume();
      const { port } = server.address() as AddressInfo;
      res.writeHead(401, {
        'www-authenticate': `Bearer resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource"`,
      });
      res.end('no');
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => new Promise((resolve) => server.close(resolve)));
    const cli = spawnCli([`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`], sandbox.env());
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    const answer = await cli.waitForMessage((message) => message['id'] === 1);
    assert.match(String((answer['error'] as { message?: string } | undefined)?.message), /sign-in to .* failed/);
    cli.child.stdin?.end();
    assert.equal(await cli.exited, 2);
    assert.equal(count(cli.stderr(), /failed: /), 1, cli.stderr());
  });

  it('serve --log-file, an upstream that cannot be reached through the era adapters: said once, and appended', async (t) => {
    const sandbox = await oauthSandbox(t);
    const file = join(sandbox.dir, 'serve.log');
    writeFileSync(file, 'an earlier line\n');
    const serve = await startServe([
      `http://127.0.0.1:${await freePort()}/mcp`,
      '--protocol',
      'auto',
      '--timeout',
      '1',
      '--log-file',
      file,
    ]);
    t.after(() => serve.stop());
    const answer = await fetch(`${serve.origin}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: INITIALIZE,
    });
    assert.match(await answer.text(), /cannot reach/);
    await serve.stop();
    const log = readFileSync(file, 'utf8');
    assert.ok(log.startsWith('an earlier line\n'), 'appended');
    assert.match(log, /info {2}listening address=/);
    assert.equal(count(log, /cannot reach/), 1, log);
    assert.equal(count(serve.stderr(), /cannot reach/), 1, serve.stderr());
  });
});

describe('serve: a failed recovery is logged once (it was twice)', () => {
  it('the upstream forgets the session and then refuses initialize: one warning, and the client gets it', async (t) => {
    // A real server: one session, then 404 for it and 500 for every new initialize.
    const counters = { initializes: 0 };
    const upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        const message = (body === '' ? {} : JSON.parse(body)) as { id?: number; method?: string };
        if (message.method === 'initialize') {
          counters.initializes += 1;
          if (counters.initializes > 1) {
            res.writeHead(500, { 'content-type': 'text/plain' }).end('down for maintenance');
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'session-0123456789abcdef' });
          res.end(
            JSON.stringify({
              jsonrpc: '2.0',
              id: message.id,
              result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'once', version: '1' } },
            }),
          );
          return;
        }
        if (message.method === 'notifications/initialized' || req.method !== 'POST') {
          res.writeHead(req.method === 'POST' ? 202 : 405).end();
          return;
        }
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: message.id ?? null, error: { code: -32001, message: 'Session not found' } }));
      });
    }).listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    t.after(() => new Promise((resolve) => upstream.close(resolve)));
    const serve = await startServe([`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`]);
    t.after(() => serve.stop());
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const opened = await fetch(`${serve.origin}/mcp`, { method: 'POST', headers, body: INITIALIZE });
    assert.equal(opened.status, 200);
    await opened.text();
    const session = opened.headers.get('mcp-session-id') ?? '';
    const failed = await fetch(`${serve.origin}/mcp`, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': session },
      body: call(2),
    });
    assert.match(await failed.text(), /Re-initializing the session failed: initialize was answered with HTTP 500/);
    assert.equal(counters.initializes, 2);
    await serve.stop();
    assert.equal(count(serve.stderr(), /Re-initializing the session failed/), 1, serve.stderr());
  });
});

describe('serve --oauth: the serving line says what is true', () => {
  async function serveWith(t: TestContext, stored: boolean): Promise<string> {
    const sandbox = await oauthSandbox(t);
    const url = 'http://127.0.0.1:9/mcp';
    if (stored) {
      await createOAuthStore(join(sandbox.configDir, 'oauth', 'v1')).write({
        layout: 1,
        serverUrl: canonicalServerUrl(url),
        grants: {
          'http://127.0.0.1:9 http://127.0.0.1:9/mcp': {
            issuer: 'http://127.0.0.1:9',
            resource: 'http://127.0.0.1:9/mcp',
            tokens: { access_token: 'stored-token', token_type: 'Bearer', obtained_at: Date.now() },
          },
        },
      });
    }
    const serve = await startServe([url, '--oauth'], sandbox.env());
    t.after(() => serve.stop());
    return serve.stderr();
  }

  it('nothing stored: oauth="none stored", and a warning that says to run login', async (t) => {
    const stderr = await serveWith(t, false);
    assert.match(stderr, /serving upstream=127\.0\.0\.1 .* oauth="none stored"/);
    assert.match(
      stderr,
      /no sign-in is stored for http:\/\/127\.0\.0\.1:9\/mcp; its requests fail until you run: mcp-lifeline login http:\/\/127\.0\.0\.1:9\/mcp/,
    );
    assert.doesNotMatch(stderr, /stored sign-in/);
  });

  it('a sign-in stored: oauth="stored sign-in", no warning', async (t) => {
    const stderr = await serveWith(t, true);
    assert.match(stderr, /oauth="stored sign-in"/);
    assert.doesNotMatch(stderr, /no sign-in is stored/);
  });
});
