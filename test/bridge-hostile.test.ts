// The bridge against hostile servers and careless hosts (issue 9): the built CLI as a child process,
// raw JSON-RPC lines on its stdin, hand-written misbehaving servers on 127.0.0.1 that count what
// they were sent and what they ran.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import { type HostileServer, type HostileServerOptions, startHostileServer } from './fixtures/hostile-server.js';
import { INITIALIZE, type RawCli, spawnCli } from './helpers/bridge.js';

const INITIALIZED = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });
const SECRET = 'sk-live-4f9a8b7c6d5e';
const KEY = 'key-0123456789abcdef';

async function hostile(t: TestContext, options: HostileServerOptions = {}): Promise<HostileServer> {
  const server = await startHostileServer(options);
  t.after(() => server.close());
  return server;
}

/** A bridge to `url` that has done the handshake. */
async function bridge(t: TestContext, url: string, flags: readonly string[] = [], env: Record<string, string> = {}): Promise<RawCli> {
  const cli = spawnCli([url, ...flags], env);
  t.after(() => cli.stop());
  cli.send(INITIALIZE);
  await cli.waitForMessage((message) => message['id'] === 1);
  cli.send(INITIALIZED);
  return cli;
}

function callLine(id: unknown, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } });
}

async function call(cli: RawCli, id: unknown, name: string, args: Record<string, unknown> = {}, timeoutMs = 10_000) {
  cli.send(callLine(id, name, args));
  return cli.waitForMessage((message) => message['id'] === id, timeoutMs);
}

function errorText(answer: Record<string, unknown>): string {
  const error = answer['error'] as { message?: string } | undefined;
  assert.ok(error !== undefined, `expected an error, got ${JSON.stringify(answer)}`);
  return error.message ?? '';
}

function secretForms(secret: string): string[] {
  return [secret, Buffer.from(secret).toString('base64'), encodeURIComponent(secret)];
}

function assertNoSecret(text: string, secret: string, where: string): void {
  for (const form of secretForms(secret)) assert.ok(!text.includes(form), `${where} contains the secret (${form.slice(0, 6)}…)`);
}

/** The bridge process's peak resident memory, in MiB (Linux). */
function peakRssMiB(cli: RawCli): number {
  const status = readFileSync(`/proc/${cli.child.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

describe('hostile servers: secrets never echoed', () => {
  it('header values quoted back in 500, 400 and JSON-RPC errors reach neither stderr (debug, json) nor the host', async (t) => {
    const server = await hostile(t);
    const cli = await bridge(
      t,
      server.url,
      ['--header', 'Authorization: Bearer ${TOKEN}', '--header', `X-Api-Key: ${KEY}`, '--log-level', 'debug', '--log-format', 'json'],
      { TOKEN: SECRET },
    );
    const answers = [
      await call(cli, 2, 'quote-headers', { status: 500 }),
      await call(cli, 3, 'quote-headers', { status: 400 }),
      await call(cli, 4, 'quote-headers-jsonrpc'),
    ];
    assert.match(errorText(answers[0] as Record<string, unknown>), /HTTP 500/);
    assert.match(errorText(answers[1] as Record<string, unknown>), /HTTP 400/);
    assert.match(errorText(answers[2] as Record<string, unknown>), /failed for \[redacted\]/);
    // The server did receive the secrets: the test would pass vacuously otherwise.
    assert.equal(server.counters.requests.at(-1)?.headers['authorization'], `Bearer ${SECRET}`);
    for (const [text, where] of [
      [cli.stderr(), 'stderr'],
      [cli.stdoutLines().join('\n'), 'stdout'],
    ] as const) {
      assertNoSecret(text, SECRET, where);
      assertNoSecret(text, KEY, where);
    }
  });

  it('a 401 at initialize and a failed re-initialization that quote the headers: the errors name the status, not the token', async (t) => {
    const server = await hostile(t, {
      initialize(res: ServerResponse, request, count) {
        if (count === 1) return false;
        res.writeHead(count === 2 ? 500 : 401, { 'content-type': 'text/plain' }).end(`no: ${JSON.stringify(request.headers)}`);
        return true;
      },
    });
    const cli = await bridge(t, server.url, ['--header', `Authorization: Bearer ${SECRET}`, '--log-level', 'debug']);
    assert.equal((await call(cli, 2, 'echo', { text: 'before' }))['result'] !== undefined, true);
    server.dropSessions();
    const failed = await call(cli, 3, 'echo', { text: 'after' });
    assert.match(errorText(failed), /initialize was answered with HTTP 500/);
    const again = await call(cli, 4, 'echo', { text: 'again' });
    assert.match(JSON.stringify(again), /401/);
    assertNoSecret(cli.stderr(), SECRET, 'stderr');
    assertNoSecret(cli.stdoutLines().join('\n'), SECRET, 'stdout');
    assert.equal(server.counters.executions.get('echo'), 1, 'the calls after the loss never ran');
  });
});

describe('careless input: values the user meant to keep are never printed', () => {
  it('a --header without a colon is named by its position, not echoed', async () => {
    const cli = spawnCli(['http://127.0.0.1:9/mcp', '--header', `Bearer ${SECRET}`]);
    assert.equal(await cli.exited, 2);
    assert.match(cli.stderr(), /--header #1: expected "Name: value"/);
    assertNoSecret(cli.stderr(), SECRET, 'stderr');
  });

  it('a URL with user:password@ is refused without echoing it', async () => {
    const cli = spawnCli([`http://user:${SECRET}@127.0.0.1:9/mcp`]);
    assert.equal(await cli.exited, 2);
    assert.match(cli.stderr(), /user name or password; pass credentials with --header/);
    assertNoSecret(cli.stderr(), SECRET, 'stderr');
  });

  it('a secret in the query never appears in network errors', async (t) => {
    const server = await startHostileServer();
    const url = `${server.url}?api_key=${SECRET}`;
    await server.close();
    const cli = spawnCli([url, '--log-level', 'debug']);
    t.after(() => cli.stop());
    cli.send(INITIALIZE);
    const answer = await cli.waitForMessage((message) => message['id'] === 1);
    assert.match(errorText(answer), /connection refused/);
    assertNoSecret(JSON.stringify(answer), SECRET, 'the answer');
    assertNoSecret(cli.stderr(), SECRET, 'stderr');
  });

  it('a header value outside Latin-1 is a usage error at startup, naming the header', async () => {
    const cli = spawnCli(['http://127.0.0.1:9/mcp', '--header', 'X-Team: Zürich→Genève']);
    assert.equal(await cli.exited, 2);
    assert.match(cli.stderr(), /--header "X-Team: …": the value contains characters outside Latin-1/);
  });
});

describe('hostile servers: redirects', () => {
  it('a redirect to another origin is refused: the other origin receives nothing, the host hears why', async (t) => {
    const elsewhere = await hostile(t);
    const server = await hostile(t);
    const cli = await bridge(t, server.url, ['--header', `X-Api-Key: ${KEY}`]);
    const answer = await call(cli, 2, 'redirect', { to: elsewhere.url });
    assert.match(
      errorText(answer),
      /http:\/\/127\.0\.0\.1:\d+\/mcp redirected \(HTTP 307\) to another origin, http:\/\/127\.0\.0\.1:\d+\/mcp; mcp-lifeline does not follow it, so no credentials leave/,
    );
    assert.equal(elsewhere.counters.requests.length, 0);
  });

  it('a same-origin 307 is followed with the same body', async (t) => {
    const server = await hostile(t);
    const cli = await bridge(t, server.url);
    const answer = await call(cli, 2, 'redirect', { to: `${server.url}?redirected=1` });
    assert.match(JSON.stringify(answer['result']), /arrived after the redirect/);
  });
});

describe('hostile servers: every host request gets one answer within a bound', () => {
  for (const [tool, args, expected] of [
    ['sse-end-without-answer', {}, /ended the response stream without answering it/],
    ['sse-invalid-json', {}, /1 event\(s\) in it were not valid JSON/],
    ['sse-wrong-id', {}, /ended the response stream without answering it/],
    ['json-wrong-id', {}, /answered HTTP 200 without an answer to it/],
  ] as const) {
    it(`${tool}: answered at once with an error that names what happened`, async (t) => {
      const server = await hostile(t);
      // The bound is far away: an answer within the test's wait proves it did not wait for it.
      const cli = await bridge(t, server.url, ['--request-timeout', '600']);
      const answer = await call(cli, 2, tool, args, 5_000);
      assert.match(errorText(answer), expected);
      assert.match(errorText(answer), /it may or may not have run, so it was not sent again/);
      assert.ok(!cli.stdoutLines().some((line) => line.includes('for someone else')), 'an answer with another id never reaches the host');
      assert.equal(server.counters.executions.get(tool), 1);
    });
  }

  it('a server that never answers: --request-timeout answers the host and cancels the request upstream', async (t) => {
    const server = await hostile(t);
    const cli = await bridge(t, server.url, ['--request-timeout', '1']);
    const answer = await call(cli, 2, 'never');
    assert.equal((answer['error'] as { code?: number }).code, -32001);
    assert.match(errorText(answer), /no answer from http:\/\/127\.0\.0\.1:\d+\/mcp to tools\/call within 1 s \(--request-timeout\)/);
    await waitFor(() => server.counters.requests.some((request) => request.body.includes('notifications/cancelled')));
    const cancel = server.counters.requests.find((request) => request.body.includes('notifications/cancelled'));
    assert.match(cancel?.body ?? '', /"requestId":2/);
  });

  it("progress notifications reset the request's bound", async (t) => {
    const server = await hostile(t);
    const cli = await bridge(t, server.url, ['--request-timeout', '1']);
    cli.send(callLine(2, 'progress', { every: 400, count: 5 }, { progressToken: 'p2' }));
    const answer = await cli.waitForMessage((message) => message['id'] === 2);
    assert.match(JSON.stringify(answer['result']), /progress done/);
    assert.equal(cli.stdoutLines().filter((line) => line.includes('notifications/progress')).length, 5);
  });

  it("keep-alive pings are bounded and never pile up; a host id that looks like the bridge's own still gets its answer", async (t) => {
    // Pings that are never answered: each must end at the bridge's bound before the next is sent.
    const server = await hostile(t, { ping: (res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders() });
    const cli = await bridge(t, server.url, ['--keepalive', '0.2', '--timeout', '0.5']);
    // Each unanswered ping ends at --timeout (500 ms) before the next goes out: three in a row, never
    // two at once. Told by when they arrive (a ping sent while one is pending would come 200 ms after
    // it); the server's own count of open pings would depend on how soon it notices an abort.
    await waitFor(() => server.counters.pings >= 3, 15_000);
    const arrivals = server.counters.pingArrivals;
    const gaps = arrivals.slice(1).map((at, index) => at - (arrivals[index] as number));
    assert.ok(gaps.length >= 2 && gaps.every((gap) => gap >= 480), `gaps between pings: ${gaps.map(Math.round).join(', ')} ms`);
    for (const id of ['mcp-lifeline-keepalive-1', 'mcp-lifeline-ping-1']) {
      const answer = await call(cli, id, 'echo', { text: id });
      assert.match(JSON.stringify(answer['result']), new RegExp(id));
    }
  });
});

describe('careless hosts: nothing lost', () => {
  it('stdin EOF with work in flight: every piped request is answered, the session ends, exit 0', async (t) => {
    const server = await hostile(t);
    const cli = spawnCli([server.url]);
    t.after(() => cli.stop());
    cli.child.stdin?.end([INITIALIZE, INITIALIZED, callLine(2, 'slow', { ms: 500 }), ''].join('\n'));
    assert.equal(await cli.exited, 0);
    const ids = cli.stdoutLines().map((line) => (JSON.parse(line) as { id?: unknown }).id);
    assert.deepEqual(ids, [1, 2]);
    assert.match(cli.stdoutLines()[1] ?? '', /slow done/);
    assert.equal(server.counters.executions.get('slow'), 1);
    assert.equal(server.counters.deletes, 1);
  });

  for (const stream of [false, true]) {
    it(`a line over --max-message-size gets an error naming the limit, and the bridge keeps serving (${stream ? 'with' : 'without'} a server stream)`, async (t) => {
      const server = await hostile(
        t,
        stream ? { get: (res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders() } : {},
      );
      const cli = await bridge(t, server.url, ['--max-message-size', '64KiB']);
      const answer = await call(cli, 5, 'echo', { text: 'x'.repeat(100_000) });
      assert.equal((answer['error'] as { code?: number }).code, -32600);
      assert.match(errorText(answer), /the host's request is 1000\d\d bytes, over the 65536-byte limit \(--max-message-size\)/);
      assert.match(JSON.stringify((await call(cli, 6, 'echo', { text: 'small' }))['result']), /small/);
      assert.equal(server.counters.executions.get('echo'), 1, 'only the small call reached the server');
    });
  }

  it('two in-flight requests with one id: the second is refused, the tool runs once', async (t) => {
    const server = await hostile(t);
    const cli = await bridge(t, server.url);
    cli.send(callLine(7, 'slow', { ms: 300 }));
    cli.send(callLine(7, 'slow', { ms: 300 }));
    await waitFor(() => cli.stdoutLines().filter((line) => line.includes('"id":7')).length === 2);
    const answers = cli.stdoutLines().filter((line) => line.includes('"id":7'));
    assert.match(answers.join('\n'), /already in flight/);
    assert.match(answers.join('\n'), /slow done/);
    assert.equal(server.counters.executions.get('slow'), 1);
  });
});

describe('bounded memory and CPU', () => {
  it('60,000 notifications to a host that stops reading: all delivered in order, the next ping is answered, memory stays bounded', async (t) => {
    const server = await hostile(t);
    const cli = await bridge(t, server.url);
    let lines = 0;
    let flooded = false;
    let pinged = false;
    let buffer = '';
    cli.child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines += 1;
        if (line.includes('flooded 60000')) flooded = true;
        if (line.includes('"id":9')) pinged = true;
      }
    });
    cli.send(callLine(8, 'flood', { count: 60_000 }));
    // The host stops reading for a while: stdout fills and the bridge must wait, not pile up.
    cli.child.stdout?.pause();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    cli.child.stdout?.resume();
    await waitFor(() => flooded, 60_000);
    cli.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }));
    await waitFor(() => pinged, 20_000);
    assert.ok(lines >= 60_002, `lines: ${lines}`);
    const peak = peakRssMiB(cli);
    assert.ok(peak < 250, `bridge peak RSS ${peak.toFixed(0)} MiB`);
  });

  for (const format of ['json', 'sse'] as const) {
    it(`a 200 MB ${format} answer over --max-message-size: a clear error, memory that does not grow with the answer, the bridge goes on`, async (t) => {
      const server = await hostile(t);
      const cli = await bridge(t, server.url, ['--max-message-size', '1MiB']);
      assert.match(JSON.stringify((await call(cli, 2, 'echo', { text: 'warm' }))['result']), /warm/);
      const before = peakRssMiB(cli);
      const answer = await call(cli, 3, 'huge', { bytes: 200 * 1024 * 1024, format }, 60_000);
      assert.match(errorText(answer), /larger than the 1048576-byte message limit|exceeded the 1048576-byte limit/);
      assert.match(JSON.stringify((await call(cli, 4, 'echo', { text: 'still here' }))['result']), /still here/);
      // Skipped as it arrives: what it costs is the garbage of a few chunks before a collection,
      // not the answer's 200 MB.
      const grown = peakRssMiB(cli) - before;
      assert.ok(grown < 100, `bridge peak RSS grew ${grown.toFixed(0)} MiB for a 200 MB answer`);
    });
  }

  it('a burst of 400 requests: at most --max-in-flight reach the server at once, all 400 answered', async (t) => {
    const server = await hostile(t);
    const cli = await bridge(t, server.url, ['--max-in-flight', '4']);
    const burst = Array.from({ length: 400 }, (_, index) => callLine(100 + index, 'slow', { ms: 20, key: `k${index}` }));
    cli.child.stdin?.write(`${burst.join('\n')}\n`);
    await waitFor(() => cli.stdoutLines().filter((line) => line.includes('slow done')).length === 400, 60_000);
    assert.ok(server.counters.maxConcurrent <= 4, `max concurrent at the server: ${server.counters.maxConcurrent}`);
    assert.equal(
      [...server.counters.executions.values()].reduce((sum, count) => sum + count, 0),
      400,
    );
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
