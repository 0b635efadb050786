// Issue 21, the middleware at the cost of a plain client: a successful answer reaches the client as
// the fetch gave it (the same Response, the same body stream), watched for a session error as the
// client reads it, however it reads it: the SDKs' pipeline (where the decoder stream is skipped),
// any other stream reader, text(), json(), clone(). Real fetch, real servers on loopback.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { type FetchLike, withSessionRecovery } from '../src/index.js';
import { startHostileServer } from './fixtures/hostile-server.js';
import { connectClient, SDKS, textOf } from './helpers/clients.js';
import { eventually } from './helpers/eventually.js';
import { openRawSession } from './helpers/raw-session.js';

/** Fetch through the middleware, keeping each Response the fetch under it gave. */
function recordedLifeline(): { fetch: FetchLike; given: Response[] } {
  const given: Response[] = [];
  const next: FetchLike = async (input, init) => {
    const response = await fetch(input, init);
    given.push(response);
    return response;
  };
  return { fetch: withSessionRecovery()(next), given };
}

const toolCall = (name: string, args: Record<string, unknown> = {}, id: number | string = 7) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

/** The SDKs' way to read an SSE answer: bytes → text → events. */
async function eventsOf(body: ReadableStream<Uint8Array>, decoder = new TextDecoderStream()): Promise<string[]> {
  const reader = body.pipeThrough(decoder).pipeThrough(new EventSourceParserStream()).getReader();
  const data: string[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return data;
    data.push(value.data);
  }
}

async function textOfStream(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

describe('SSE answers, through the real fetch', () => {
  it("the answer is the fetch's own Response, and the SDKs' pipeline reads every event of it", async (t) => {
    const server = await startHostileServer();
    t.after(() => server.close());
    const { fetch, given } = recordedLifeline();
    const session = await openRawSession(fetch, server.url);
    const response = await session.post({
      ...toolCall('progress', { count: 2, every: 5 }),
      params: { name: 'progress', arguments: { count: 2, every: 5 }, _meta: { progressToken: 'p' } },
    });
    assert.equal(response, given.at(-1), 'no Response of the middleware in between');
    const events = (await eventsOf(response.body as ReadableStream<Uint8Array>)).map((data) => JSON.parse(data));
    assert.deepEqual(
      events.map((event) => event.method ?? event.result.content[0].text),
      ['notifications/progress', 'notifications/progress', 'progress done'],
    );
  });

  for (const sdk of SDKS) {
    it(`${sdk}: a character split across two network reads arrives whole`, async (t) => {
      const server = await startHostileServer();
      t.after(() => server.close());
      const client = await connectClient(sdk, server.url, withSessionRecovery()(fetch));
      t.after(() => client.close());
      assert.equal(textOf(await client.callTool('split-bytes', { text: 'café ☕ 数' })), 'café ☕ 数');
    });
  }

  it('a decoder stream of its own kind decodes as it would: fatal refuses a byte that is not UTF-8, with the same error', async (t) => {
    const server = await startHostileServer();
    t.after(() => server.close());
    const outcomes: string[] = [];
    for (const fetchFn of [fetch, withSessionRecovery()(fetch)]) {
      const session = await openRawSession(fetchFn, server.url);
      const response = await session.post(toolCall('split-bytes', { invalid: true }));
      const error = await eventsOf(response.body as ReadableStream<Uint8Array>, new TextDecoderStream('utf-8', { fatal: true })).then(
        () => undefined,
        (reason: Error) => reason,
      );
      outcomes.push(`${error?.name}: ${error?.message}`);
    }
    assert.match(outcomes[0] as string, /^TypeError: /, 'control: without the middleware');
    assert.equal(outcomes[1], outcomes[0]);
  });

  it("the decoder stream's readable read with getReader (not piped on) still gets every chunk", async (t) => {
    const server = await startHostileServer();
    t.after(() => server.close());
    const session = await openRawSession(withSessionRecovery()(fetch), server.url);
    const response = await session.post(toolCall('split-bytes'));
    const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) text += read.value;
    assert.equal(
      text,
      `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'café ☕' }] } })}\n\n`,
    );
  });

  const readers: [string, (body: ReadableStream<Uint8Array>) => Promise<string>][] = [
    ['async iteration', (body) => textOfStream(body)],
    [
      'pipeTo',
      async (body) => {
        const chunks: Uint8Array[] = [];
        await body.pipeTo(new WritableStream({ write: (chunk) => void chunks.push(chunk) }));
        return textOfStream(
          (async function* () {
            yield* chunks;
          })(),
        );
      },
    ],
    ['tee', (body) => textOfStream(body.tee()[0])],
  ];
  for (const [name, read] of readers) {
    it(`${name}: a stream that ends without its answer gets one at once, as the SDKs' pipeline does`, async (t) => {
      const server = await startHostileServer();
      t.after(() => server.close());
      const session = await openRawSession(withSessionRecovery()(fetch), server.url);
      const response = await session.post(toolCall('sse-end-without-answer'));
      const text = await read(response.body as ReadableStream<Uint8Array>);
      assert.match(text, /"id":7,"error":\{"code":-32000,"message":"mcp-lifeline: stream ended without an answer to tools\/call/);
      assert.equal(server.counters.executions.get('sse-end-without-answer'), 1, 'not sent again');
    });
  }

  it("the SDKs' pipeline cancelled by its reader: the server sees the answer's connection close", async (t) => {
    const server = await startHostileServer();
    t.after(() => server.close());
    const session = await openRawSession(withSessionRecovery()(fetch), server.url);
    const response = await session.post(toolCall('never'));
    const reader = (response.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream())
      .getReader();
    await eventually(() => server.counters.running === 1);
    await reader.cancel('the client gave up');
    await eventually(() => server.counters.running === 0);
  });

  it('clone(): both copies read the stream as watched, the missing answer supplied in each', async (t) => {
    const server = await startHostileServer();
    t.after(() => server.close());
    const session = await openRawSession(withSessionRecovery()(fetch), server.url);
    const response = await session.post(toolCall('sse-end-without-answer'));
    const copy = response.clone();
    const [mine, theirs] = await Promise.all([response.text(), copy.text()]);
    assert.match(mine, /stream ended without an answer to tools\/call/);
    assert.equal(theirs, mine);
  });
});

describe('JSON answers, through the real fetch', () => {
  it("the answer is the fetch's own Response; json(), text(), arrayBuffer() and blob() read it as sent", async (t) => {
    const server = await startHostileServer();
    t.after(() => server.close());
    const { fetch, given } = recordedLifeline();
    const session = await openRawSession(fetch, server.url);
    const expected = { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'hé' }] } };
    const reads: [string, (response: Response) => Promise<unknown>][] = [
      ['json', (response) => response.json()],
      ['text', async (response) => JSON.parse(await response.text())],
      ['arrayBuffer', async (response) => JSON.parse(new TextDecoder().decode(await response.arrayBuffer()))],
      ['blob', async (response) => JSON.parse(await (await response.blob()).text())],
    ];
    for (const [name, read] of reads) {
      const response = await session.post(toolCall('echo', { text: 'hé' }));
      assert.equal(response, given.at(-1), `${name}: no Response of the middleware in between`);
      assert.deepEqual(await read(response), expected, name);
      assert.equal(response.bodyUsed, true, name);
    }
  });

  it('a 200 session error, cloned and read by an outer middleware too: both copies get the replay; it ran once, one re-initialization', async (t) => {
    const server = await startDialectServer({ dialect: 'jsonrpc-200', jsonResponse: true });
    t.after(() => server.close());
    let cached: string | undefined;
    const lifeline = withSessionRecovery()(fetch);
    // The SDK docs' caching middleware: it keeps a clone's text, the client reads the original.
    const caching: FetchLike = async (input, init) => {
      const response = await lifeline(input, init);
      cached = await response.clone().text();
      return response;
    };
    const session = await openRawSession(caching, server.url);
    server.dropSessions();
    const answer = (await (await session.post(toolCall('increment', { key: 'once' }, 'k1'))).json()) as { result: { content: unknown } };
    assert.deepEqual(answer.result.content, [{ type: 'text', text: '1' }]);
    assert.deepEqual(JSON.parse(cached as string), answer);
    assert.equal(server.counters.executionsByKey.get('once'), 1);
    assert.equal(server.counters.initializations, 2);
  });
});

describe("answers shown with the client's session id, after a recovery", () => {
  for (const jsonResponse of [true, false]) {
    it(`${jsonResponse ? 'JSON' : 'SSE'}: clone() reads the same text as the answer (it used to recurse without end)`, async (t) => {
      const server = await startDialectServer({ jsonResponse });
      t.after(() => server.close());
      const session = await openRawSession(withSessionRecovery()(fetch), server.url);
      server.dropSessions();
      await (await session.post(toolCall('increment', { key: 'a' }, 'a1'))).text();
      const response = await session.post(toolCall('increment', { key: 'b' }, 'b1'));
      assert.equal(response.headers.get('mcp-session-id'), session.sessionId, "the client's id, not the new session's");
      const copy = response.clone();
      const [mine, theirs] = await Promise.all([response.text(), copy.text()]);
      assert.match(mine, /\{"result":\{"content":\[\{"type":"text","text":"2"\}\]\},"jsonrpc":"2.0","id":"b1"\}/);
      assert.equal(theirs, mine);
      assert.equal(server.counters.executionsByKey.get('b'), 1);
    });
  }
});
