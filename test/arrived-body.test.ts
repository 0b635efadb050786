// A request body taken at once when it has all arrived (src/shared/arrived-body.ts, issue 21):
// the gateway's readBody on real sockets on 127.0.0.1, the bytes written in the pieces a network
// might cut them into: whole, the body after its head, the body in pieces, chunked. (The upstream's
// answers, read the same way by the CLI's HTTP client: node-http-fetch.test.ts.)
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readBody } from '../src/gateway/http-exchange.js';

const BODY = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'increment', arguments: {} } });

/** A server on 127.0.0.1 that answers each request with what `readBody` read of it; stopped after the test. */
async function echoServer(t: TestContext): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    readBody(req, 1 << 20, 2_000).then(
      // The request stream still ends (what listens for its end hears it), however its body was read.
      async (body) => {
        if (!req.readableEnded) await once(req, 'end');
        res.end(`read ${body.length}: ${body.toString('utf8')}`);
      },
      (error: Error) => res.writeHead(400).end(error.message),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, server };
}

/** Writes `pieces` on one connection, a few ms apart, and resolves with all it received once `answers` answers came. */
async function exchange(t: TestContext, port: number, pieces: readonly string[], answers: number): Promise<string> {
  const socket: Socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.setNoDelay(true);
  let received = '';
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (received.split('HTTP/1.1 200').length - 1 === answers && received.endsWith(BODY)) resolve();
    });
  });
  for (const piece of pieces) {
    socket.write(piece);
    await sleep(15);
  }
  await Promise.race([done, sleep(3_000).then(() => assert.fail(`no ${answers} answers; received: ${received}`))]);
  return received;
}

const head = (length: number) =>
  `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;

describe('a request body read whole (readBody)', () => {
  it('comes with its head: read, and the connection goes on to the next request', async (t) => {
    const { port } = await echoServer(t);
    const request = head(BODY.length) + BODY;
    const received = await exchange(t, port, [request, request], 2);
    assert.equal(received.split(`read ${BODY.length}: ${BODY}`).length - 1, 2, received);
  });

  it('comes after its head, in pieces: read whole, not the first piece alone', async (t) => {
    const { port } = await echoServer(t);
    const received = await exchange(t, port, [head(BODY.length), BODY.slice(0, 10), BODY.slice(10), head(BODY.length) + BODY], 2);
    assert.equal(received.split(`read ${BODY.length}: ${BODY}`).length - 1, 2, received);
  });

  it('comes chunked: read whole', async (t) => {
    const { port } = await echoServer(t);
    const chunked = `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n\r\n${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`;
    const received = await exchange(t, port, [chunked], 1);
    assert.match(received, new RegExp(`read ${BODY.length}: `));
  });
});
