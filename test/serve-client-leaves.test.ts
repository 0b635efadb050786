// A client that leaves while its POST waits upstream: `serve` ends that upstream exchange, and
// only that one (the abort is scoped to the client's connection, one signal per connection rather
// than per request: issue 21). A real `serve` process against a loopback server that holds its
// tools/call requests open and records which of them it saw closed before it answered.
import assert from 'node:assert/strict';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { eventually } from './helpers/eventually.js';
import { startServe } from './helpers/gateway.js';
import { openRawSession } from './helpers/raw-session.js';

interface HeldCall {
  readonly id: unknown;
  readonly res: ServerResponse;
  closedBeforeAnswer: boolean;
}

/** A 2025 session server whose tools/call requests wait until released. */
async function startHoldingServer() {
  const held: HeldCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: unknown; method?: string };
      if (message.method === 'initialize') {
        const result = { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'holding', version: '1' } };
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'held-session' });
        return void res.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
      }
      if (message.id === undefined) return void res.writeHead(202).end();
      const call: HeldCall = { id: message.id, res, closedBeforeAnswer: false };
      res.on('close', () => {
        if (!res.writableFinished) call.closedBeforeAnswer = true;
      });
      held.push(call);
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    held,
    answer(call: HeldCall, text: string) {
      call.res.writeHead(200, { 'content-type': 'application/json' });
      call.res.end(JSON.stringify({ jsonrpc: '2.0', id: call.id, result: { content: [{ type: 'text', text }] } }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A tools/call POST on its own connection: the request (to destroy) and its answer's body. */
function heldPost(url: string, sessionId: string, id: number) {
  const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'wait', arguments: {} } });
  const req = request(url, {
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-06-18',
      'content-length': Buffer.byteLength(body),
    },
  });
  const answer = new Promise<string>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
  });
  req.end(body);
  return { req, answer };
}

describe('serve: a client that leaves', () => {
  it('ends the upstream exchange of the POST it left, and leaves the other clients’ exchanges running', async (t) => {
    const upstream = await startHoldingServer();
    t.after(() => upstream.close());
    const serve = await startServe([upstream.url]);
    t.after(() => serve.stop());
    const url = `${serve.origin}/mcp`;
    const session = await openRawSession(fetch, url);

    const leaving = heldPost(url, session.sessionId, 101);
    leaving.answer.catch(() => {});
    const staying = heldPost(url, session.sessionId, 102);
    await eventually(() => upstream.held.length === 2, 10_000);
    const [first, second] = upstream.held as [HeldCall, HeldCall];
    const leftCall = first.id === 101 ? first : second;
    const stayingCall = first.id === 101 ? second : first;

    leaving.req.destroy();
    await eventually(() => leftCall.closedBeforeAnswer, 5_000);
    assert.equal(stayingCall.closedBeforeAnswer, false, "another client's exchange was ended with it");

    // Later requests on other connections go on as before, and the waiting one gets its answer.
    upstream.answer(stayingCall, 'still here');
    const text = await staying.answer;
    assert.match(text, /"id":102/);
    assert.match(text, /still here/);
    assert.equal(stayingCall.closedBeforeAnswer, false);
  });
});
