// The bridge's HTTP client when the way out is plain (src/upstream/node-http-fetch.ts, issue 21):
// Node's own, under the same `Response` as the undici one it replaces there, against real servers
// on 127.0.0.1. What the bridge relies on: the answer as sent, bodies read straight (an SSE answer
// chunk by chunk, with no web stream), aborts with the caller's reason, failures that say whether
// the request reached the server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, Agent as HttpAgent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { undeliveredCause } from '../src/recovery/undelivered.js';
import { WatchedResponse } from '../src/recovery/watched-response.js';
import { createNodeHttpFetch } from '../src/upstream/node-http-fetch.js';
import { eventually } from './helpers/eventually.js';
import { freePort } from './helpers/processes.js';

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

/** A server on 127.0.0.1 that hands each request, read whole, to `handler`; stopped after the test. */
async function serve(t: TestContext, handler: Handler): Promise<{ url: string; server: Server; connections: () => number }> {
  let connections = 0;
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => handler(request, body, response));
  });
  server.on('connection', () => {
    connections += 1;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, server, connections: () => connections };
}

/** Counts the web streams built while `run` runs (a proxy: `instanceof ReadableStream` still holds). */
async function countingWebStreams<T>(run: () => Promise<T>): Promise<{ result: T; streams: number }> {
  const original = globalThis.ReadableStream;
  let streams = 0;
  globalThis.ReadableStream = new Proxy(original, {
    construct(target, args, newTarget) {
      streams += 1;
      return Reflect.construct(target, args, newTarget);
    },
  });
  try {
    return { result: await run(), streams };
  } finally {
    globalThis.ReadableStream = original;
  }
}

const BOM = '\uFEFF';

describe("the bridge's HTTP client on a plain way out (node:http)", () => {
  it('a JSON answer as sent: status, headers (repeated ones joined, set-cookie apart), text without a BOM; Host and the length sent', async (t) => {
    const seen: { headers?: IncomingMessage['headers']; body?: string } = {};
    const { url } = await serve(t, (request, body, response) => {
      seen.headers = request.headers;
      seen.body = body;
      response.writeHead(200, [
        ['content-type', 'application/json'],
        ['mcp-session-id', 'a'],
        ['mcp-session-id', 'b'],
        ['set-cookie', 'x=1'],
        ['set-cookie', 'y=2'],
      ]);
      response.end(`${BOM}{"jsonrpc":"2.0","id":1,"result":{"text":"déjà vu"}}`);
    });
    const fetch = createNodeHttpFetch();
    const sent = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"é"}}';
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body: sent });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('mcp-session-id'), 'a, b');
    assert.deepEqual(response.headers.getSetCookie(), ['x=1', 'y=2']);
    assert.equal(await response.text(), '{"jsonrpc":"2.0","id":1,"result":{"text":"déjà vu"}}');
    assert.equal(seen.body, sent);
    assert.equal(seen.headers?.host, new URL(url).host);
    assert.equal(seen.headers?.['content-length'], String(Buffer.byteLength(sent)));
    assert.equal(seen.headers?.['transfer-encoding'], undefined);
    assert.equal(seen.headers?.['x-api-key'], 'k');
  });

  it("an answer's headers read as fetch's own answer shows them: any case, repeats joined, listed sorted, read-only", async (t) => {
    const { url } = await serve(t, (_request, _body, response) => {
      // Raw, to send what a `ServerResponse` would tidy: padded values, mixed-case names, a repeat.
      response.socket?.write(
        'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id:   s-1\r\nX-Trace: a\r\nx-trace: b\r\n' +
          'Cache-Control: no-store\r\nContent-Length: 2\r\n\r\n{}',
      );
    });
    const ours = (await createNodeHttpFetch()(url, { method: 'POST', body: '{}' })).headers;
    const platform = (await fetch(url, { method: 'POST', body: '{}' })).headers;
    assert.equal(ours.get('mcp-session-id'), 's-1');
    assert.ok(ours instanceof Headers);
    for (const name of [
      'content-type',
      'Mcp-Session-Id',
      'X-TRACE',
      'x-missing',
      'constructor',
      'toString',
      '__proto__',
      undefined as unknown as string,
    ]) {
      assert.equal(ours.get(name), platform.get(name), String(name));
      assert.equal(ours.has(name), platform.has(name), String(name));
    }
    // (Written raw: no Date or Connection header that could differ between the two answers.)
    assert.deepEqual([...ours], [...platform]);
    assert.deepEqual([...ours.keys()], [...platform.keys()]);
    assert.deepEqual([...ours.values()], [...platform.values()]);
    const listed: string[] = [];
    ours.forEach((value, name, parent) => {
      assert.equal(parent, ours);
      listed.push(`${name}=${value}`);
    });
    assert.deepEqual(
      listed,
      [...platform].map(([name, value]) => `${name}=${value}`),
    );
    assert.deepEqual(ours.getSetCookie(), []);
    assert.deepEqual([...new Headers(ours)], [...platform], 'a copy');
    assert.throws(() => ours.get('bad name'), TypeError);
    assert.throws(() => platform.get('bad name'), TypeError);
    for (const change of [() => ours.set('x', '1'), () => ours.append('x', '1'), () => ours.delete('x-trace')]) {
      assert.throws(change, TypeError);
    }
    assert.equal(ours.get('x-trace'), 'a, b', 'unchanged');
  });

  for (const [what, cut] of [
    ['in the packet of its head', undefined],
    ['partly after its head', 12],
  ] as const) {
    it(`a JSON body that comes ${what} is read whole by text(), and the connection serves the next request`, async (t) => {
      const answerBody = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'whole' }] } });
      const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${answerBody.length}\r\n\r\n`;
      // Written on the socket itself, in the pieces chosen: all at once, or the body cut and its rest 20 ms later.
      const { url, connections } = await serve(t, (request) => {
        const socket = request.socket;
        if (cut === undefined) socket.write(head + answerBody);
        else {
          socket.write(head + answerBody.slice(0, cut));
          setTimeout(() => socket.write(answerBody.slice(cut)), 20);
        }
      });
      const fetch = createNodeHttpFetch();
      for (let i = 0; i < 3; i++) {
        const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        // Read some turns after it arrived, as the gateway and the bridge read it.
        await sleep(5);
        assert.equal(await answer.text(), answerBody);
        // The next request comes in a later turn of the event loop, as a client's does (one sent in
        // the same turn as the read may find the connection not handed back yet: a new one then).
        await new Promise(setImmediate);
      }
      assert.equal(connections(), 1);
    });
  }

  it('answers without a body (204, HEAD, Content-Length: 0) are null bodies; one connection serves every request', async (t) => {
    const { url, connections } = await serve(t, (request, _body, response) => {
      if (request.method === 'DELETE') response.writeHead(204).end();
      else response.writeHead(request.method === 'HEAD' ? 200 : 202, { 'content-length': '0' }).end();
    });
    const fetch = createNodeHttpFetch();
    for (const method of ['DELETE', 'HEAD', 'POST']) {
      const response = await fetch(url, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      assert.equal(response.body, null, method);
      assert.equal(await response.text(), '', method);
    }
    assert.equal(connections(), 1, 'kept alive');
  });

  it("a request to a known endpoint takes a free connection of the pool at once: Node's addRequest only for the first, and after a connection closed", async (t) => {
    const { url, server, connections } = await serve(t, (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    // (Not in Node's typings: Agent#addRequest, which every request of an agent goes through.)
    const prototype = HttpAgent.prototype as unknown as { addRequest: (...args: unknown[]) => void };
    const nodeAddRequest = prototype.addRequest;
    let nodeWay = 0;
    prototype.addRequest = function (this: HttpAgent, ...args: unknown[]) {
      nodeWay += 1;
      nodeAddRequest.apply(this, args);
    };
    t.after(() => {
      prototype.addRequest = nodeAddRequest;
    });
    const fetch = createNodeHttpFetch();
    const exchange = async () => assert.equal(await (await fetch(url, { method: 'POST', body: '{}' })).text(), '{}');
    for (let i = 0; i < 5; i++) {
      await exchange();
      await new Promise(setImmediate);
    }
    assert.deepEqual({ nodeWay, connections: connections() }, { nodeWay: 1, connections: 1 });
    // The server closes its idle connections: the next request finds none free, and Node's way opens one.
    server.closeIdleConnections();
    await sleep(20);
    await exchange();
    await new Promise(setImmediate);
    await exchange();
    assert.deepEqual({ nodeWay, connections: connections() }, { nodeWay: 2, connections: 2 });
  });

  it('an SSE answer is read chunk by chunk as it arrives, without a web stream; the body is then used up', async (t) => {
    let second: () => void = () => {};
    const secondAsked = new Promise<void>((resolve) => {
      second = resolve;
    });
    const { url } = await serve(t, (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: {"n":1}\n\n');
      void secondAsked.then(() => response.end('data: {"n":2}\n\n'));
    });
    const fetch = createNodeHttpFetch();
    const { result, streams } = await countingWebStreams(async () => {
      const response = await fetch(url, { method: 'POST', body: '{}' });
      const reader = WatchedResponse.readerOf(response);
      assert.ok(reader !== null);
      const decoder = new TextDecoder();
      const first = await reader.read();
      // The server sends the rest only once the first event was read: nothing waits for the end.
      second();
      let rest = '';
      for (let next = await reader.read(); !next.done; next = await reader.read()) rest += decoder.decode(next.value);
      return { response, first: first.done ? '' : decoder.decode(first.value), rest };
    });
    assert.equal(result.first, 'data: {"n":1}\n\n');
    assert.equal(result.rest, 'data: {"n":2}\n\n');
    assert.equal(streams, 0, 'no web stream was built');
    assert.equal(result.response.bodyUsed, true);
    assert.equal(result.response.body, null);
    await assert.rejects(result.response.text(), TypeError);
  });

  it('`body` is a web stream for readers that want one', async (t) => {
    const { url } = await serve(t, (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end('data: {"n":1}\n\ndata: {"n":2}\n\n');
    });
    const response = await createNodeHttpFetch()(url, { method: 'POST', body: '{}' });
    assert.ok(response.body instanceof ReadableStream);
    assert.equal(await new Response(response.body).text(), 'data: {"n":1}\n\ndata: {"n":2}\n\n');
  });

  it("an abort rejects with the signal's reason: while waiting for the answer, and while its body is read", async (t) => {
    const { url } = await serve(t, (request, _body, response) => {
      if (request.headers['x-part'] === 'head') return; // never answers
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"partial":');
    });
    const fetch = createNodeHttpFetch();
    await assert.rejects(fetch(url, { method: 'POST', headers: { 'x-part': 'head' }, body: '{}', signal: AbortSignal.timeout(200) }), {
      name: 'TimeoutError',
    });
    const controller = new AbortController();
    const response = await fetch(url, { method: 'POST', body: '{}', signal: controller.signal });
    const reading = response.text();
    const reason = new Error('the host cancelled');
    controller.abort(reason);
    await assert.rejects(reading, (error) => error === reason);
    const aborted = AbortSignal.abort(reason);
    await assert.rejects(fetch(url, { method: 'POST', body: '{}', signal: aborted }), (error) => error === reason);
  });

  it('one signal under many requests: those it finished are left alone, an abort ends every one in flight, even in the turn they were sent', async (t) => {
    let seen = 0;
    let cut = 0;
    const { url } = await serve(t, (request, _body, response) => {
      seen += 1;
      response.once('close', () => {
        if (!response.writableFinished) cut += 1;
      });
      if (request.headers['x-part'] === 'hang') return; // never answers
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });
    const fetch = createNodeHttpFetch();
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    t.after(() => process.off('uncaughtException', onUncaught));
    for (const when of ['once the server has them', 'in the turn they were sent'] as const) {
      const controller = new AbortController();
      const { signal } = controller;
      for (let i = 0; i < 3; i++) assert.equal(await (await fetch(url, { method: 'POST', body: '{}', signal })).text(), '{"ok":true}');
      const before = { seen, cut };
      const hanging = [1, 2, 3].map(() => fetch(url, { method: 'POST', headers: { 'x-part': 'hang' }, body: '{}', signal }));
      if (when === 'once the server has them') await eventually(() => seen === before.seen + 3);
      const reason = new Error(`the client left ${when}`);
      controller.abort(reason);
      for (const answer of hanging) await assert.rejects(answer, (error) => error === reason, when);
      if (when === 'once the server has them') await eventually(() => cut === before.cut + 3);
      // Node 20 destroys a connection handed to a request that was ended before it took it, with
      // the abort's reason and no listener: that must not reach the process.
      await sleep(50);
      assert.deepEqual(uncaught, [], when);
    }
    assert.equal(cut, 3, 'only the hanging requests the server had were cut, no finished one');
  });

  it('a server that hangs up mid-answer: reading fails with a network error, never hangs', async (t) => {
    const { url } = await serve(t, (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('{"cut":', () => response.socket?.destroy());
    });
    const fetch = createNodeHttpFetch();
    const json = await fetch(url, { method: 'POST', body: '{}' });
    await assert.rejects(json.text(), { code: 'ECONNRESET' });
    const events = await fetch(url, { method: 'POST', body: '{}' });
    const reader = WatchedResponse.readerOf(events);
    assert.ok(reader !== null);
    await assert.rejects(
      async () => {
        for (let next = await reader.read(); !next.done; next = await reader.read()) {
          // drain
        }
      },
      { code: 'ECONNRESET' },
    );
  });

  it('failures say whether the request reached the server: a refused connection did not, a reset after it was written may have run', async (t) => {
    const fetch = createNodeHttpFetch();
    const refused = await fetch(`http://127.0.0.1:${await freePort()}/mcp`, { method: 'POST', body: '{}' }).catch(
      (error: unknown) => error,
    );
    assert.equal(undeliveredCause(refused, true), 'ECONNREFUSED');
    const { url } = await serve(t, (request) => request.socket.destroy());
    const reset = await fetch(url, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"tools/call"}' }).catch(
      (error: unknown) => error,
    );
    assert.equal((reset as { code?: string }).code, 'ECONNRESET');
    assert.equal(undeliveredCause(reset, true), undefined, 'written before the reset: it may have run');
  });

  it('a header Node refuses and a body that is neither text nor bytes are rejected, never thrown', async (t) => {
    const { url } = await serve(t, (_request, _body, response) => response.end());
    const fetch = createNodeHttpFetch();
    await assert.rejects(fetch(url, { method: 'POST', headers: { 'x-bad': 'a\nb' }, body: '{}' }), { code: 'ERR_INVALID_CHAR' });
    await assert.rejects(fetch(url, { method: 'POST', body: new Blob(['{}']) }), /only string and byte bodies/);
    await assert.rejects(fetch('ftp://127.0.0.1/mcp'), /only http:\/\/ and https:\/\//);
  });
});
