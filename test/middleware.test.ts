// The middleware against a scripted `next` (as the MCP SDK tests its middlewares): exact control
// over timing and answers, for the cases a real server cannot be made to produce on cue.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FetchLike, withSessionRecovery } from '../src/index.js';
import { recordEvents } from './helpers/events.js';

const URL_ = 'http://127.0.0.1:9/mcp';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly body: string;
  readonly rpc: { method?: string; id?: unknown } | undefined;
}

/** A scripted MCP server: issues ids s1, s2… at initialize; `answer` decides everything else. */
function scripted(answer: (seen: Seen, live: Set<string>) => Response | undefined | Promise<Response | undefined>) {
  const seen: Seen[] = [];
  const live = new Set<string>();
  let sessions = 0;
  const next: FetchLike = async (input, init) => {
    const request = new Request(input, init);
    const body = request.method === 'POST' ? await request.text() : '';
    let rpc: Seen['rpc'];
    try {
      rpc = body === '' ? undefined : JSON.parse(body);
    } catch {
      rpc = undefined;
    }
    const entry: Seen = { method: request.method, url: request.url, headers: request.headers, body, rpc };
    seen.push(entry);
    const custom = await answer(entry, live);
    if (custom !== undefined) return custom;
    if (rpc?.method === 'initialize') {
      const id = `s${++sessions}-0123456789`;
      live.add(id);
      return json(
        {
          jsonrpc: '2.0',
          id: rpc.id,
          result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 'fake', version: '1' } },
        },
        { 'mcp-session-id': id },
      );
    }
    const sid = request.headers.get('mcp-session-id');
    if (sid === null || !live.has(sid))
      return json({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }, {}, 404);
    if (rpc === undefined)
      return new Response(request.method === 'GET' ? 'event: ping\ndata: {}\n\n' : null, {
        status: request.method === 'GET' ? 200 : 202,
        headers: { 'content-type': 'text/event-stream' },
      });
    if (rpc.id === undefined) return new Response(null, { status: 202 });
    return json({ jsonrpc: '2.0', id: rpc.id, result: { ok: true, session: sid } }, { 'mcp-session-id': sid });
  };
  return { next, seen, live, initializes: () => seen.filter((entry) => entry.rpc?.method === 'initialize').length };
}

function json(body: unknown, headers: Record<string, string> = {}, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function initialize(fetch: FetchLike, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await fetch(URL_, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' }, ...extra },
    }),
  });
  await response.text();
  return response.headers.get('mcp-session-id') as string;
}

function call(fetch: FetchLike, sessionId: string, id: number, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(URL_, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25', ...extra },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'x' } }),
  });
}

describe('options', () => {
  it('rejects bad options when the factory is called, naming the option', () => {
    assert.throws(() => withSessionRecovery({ timeout: -1 }), /"timeout" must be a positive number of milliseconds, got -1/);
    assert.throws(() => withSessionRecovery({ timeout: Number.NaN }), /"timeout"/);
    assert.throws(() => withSessionRecovery({ peekBytes: 10 }), /"peekBytes" must be an integer of at least 64/);
    assert.throws(() => withSessionRecovery({ maxSessions: 0 }), /"maxSessions"/);
    assert.throws(() => withSessionRecovery({ onEvent: 5 as never }), /"onEvent" must be a function/);
    assert.throws(() => withSessionRecovery({ rules: 'x' as never }), /"rules" must be an array/);
    assert.throws(() => withSessionRecovery()(undefined as never), /next must be a fetch function/);
  });
});

describe('pass-through', () => {
  it('requests without a session id reach next untouched: same input, same init, same response', async () => {
    const input = new URL(URL_);
    const init = { method: 'POST', headers: HEADERS, body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' };
    const answer = new Response('{}');
    let received: unknown[] = [];
    const fetch = withSessionRecovery()(async (...args) => {
      received = args;
      return answer;
    });
    assert.equal(await fetch(input, init), answer);
    assert.equal(received[0], input);
    assert.equal(received[1], init);
  });

  it('an initialize answered without a session id (a stateless server) leaves nothing behind', async () => {
    const recorder = recordEvents();
    const server = scripted((seen) =>
      seen.rpc?.method === 'initialize'
        ? json({ jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-11-25', capabilities: {} } })
        : json({}, {}, 404),
    );
    const fetch = withSessionRecovery({ onEvent: recorder.onEvent })(server.next);
    await initialize(fetch);
    const answer = await fetch(URL_, { method: 'POST', headers: HEADERS, body: '{"jsonrpc":"2.0","id":1,"method":"x"}' });
    assert.equal(answer.status, 404);
    assert.deepEqual(recorder.events, []);
  });

  it('unknown session ids and other URLs (OAuth metadata, token endpoint) are untouched', async () => {
    const recorder = recordEvents();
    const server = scripted(() => undefined);
    const fetch = withSessionRecovery({ onEvent: recorder.onEvent })(server.next);
    const sid = await initialize(fetch);
    server.live.clear();
    const unknown = await call(fetch, 'never-issued-session', 1);
    assert.equal(unknown.status, 404);
    const elsewhere = await fetch('http://127.0.0.1:9/.well-known/oauth-protected-resource', { headers: { 'mcp-session-id': sid } });
    assert.equal(elsewhere.status, 404);
    assert.equal(server.initializes(), 1);
    assert.deepEqual(recorder.events, []);
  });
});

describe('recovery details', () => {
  it('the client keeps its session id; requests are rewritten to the new one, bodies byte-identical', async () => {
    const server = scripted(() => undefined);
    const fetch = withSessionRecovery()(server.next);
    const alias = await initialize(fetch);
    server.live.clear();
    const response = await call(fetch, alias, 7);
    assert.equal(response.headers.get('mcp-session-id'), alias, 'client shown its original id');
    assert.equal(((await response.json()) as { result: { session: string } }).result.session, 's2-0123456789');
    const [rejected, , , replayed] = server.seen.slice(1);
    assert.equal(replayed?.headers.get('mcp-session-id'), 's2-0123456789');
    assert.equal(replayed?.body, rejected?.body);
    // Later requests carry the alias and go to the new session without another loss.
    assert.equal((await call(fetch, alias, 8)).status, 200);
    assert.equal(server.initializes(), 2);
  });

  it('a late answer from the lost session neither re-initializes again nor overwrites the new session', async () => {
    let releaseLate: () => void = () => {};
    const lateGate = new Promise<void>((resolve) => {
      releaseLate = resolve;
    });
    const server = scripted(async (seen, live) => {
      if (seen.rpc?.id === 2 && !live.has(seen.headers.get('mcp-session-id') ?? '')) {
        await lateGate; // answered only after the recovery triggered by request 1
        return json({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }, {}, 404);
      }
      return undefined;
    });
    const recorder = recordEvents();
    const fetch = withSessionRecovery({ onEvent: recorder.onEvent })(server.next);
    const alias = await initialize(fetch);
    server.live.clear();
    const late = call(fetch, alias, 2);
    const first = await call(fetch, alias, 1);
    assert.equal(first.status, 200);
    releaseLate();
    const lateAnswer = await late;
    assert.equal(lateAnswer.status, 200);
    assert.equal(server.initializes(), 2, 'one re-initialization');
    assert.equal(recorder.count('replayed'), 2);
    assert.equal(((await lateAnswer.json()) as { result: { session: string } }).result.session, 's2-0123456789');
  });

  for (const [maxRecoveries, sessions] of [
    [undefined, 3],
    [1, 1],
  ] as const) {
    it(`replay rejected again and again: ${sessions} new session(s) (maxRecoveries ${maxRecoveries ?? 'default'}), then SESSION_LOST_AGAIN; the next request tries afresh`, async () => {
      let refuse = true;
      const server = scripted((seen) =>
        refuse && seen.rpc?.method === 'tools/call' ? json({ error: 'Session not found' }, {}, 404) : undefined,
      );
      // A lenient circuit: the bound on recoveries is what is tested here (server-churn.test.ts has the circuit).
      const fetch = withSessionRecovery({ circuit: { failures: 10 }, ...(maxRecoveries === undefined ? {} : { maxRecoveries }) })(
        server.next,
      );
      const alias = await initialize(fetch);
      await assert.rejects(call(fetch, alias, 1), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'SESSION_LOST_AGAIN');
        assert.match(error.message, /rejected the request on it too/);
        assert.match(
          error.message,
          sessions === 1 ? /the new session rejected it before answering it/ : /3 new sessions in a row rejected it/,
        );
        assert.match(error.message, /it never ran/);
        return true;
      });
      assert.equal(server.initializes(), 1 + sessions, 'one re-initialization per recovery, no loop');
      assert.equal(server.seen.filter((entry) => entry.rpc?.method === 'tools/call').length, 1 + sessions);
      refuse = false;
      assert.equal((await call(fetch, alias, 2)).status, 200);
      assert.equal(server.initializes(), 2 + sessions, 'the dead session was re-initialized before sending');
    });
  }

  it('a replay whose stream opens with the session error again and again: SESSION_LOST_AGAIN, in the stream', async () => {
    const sseError = (id: unknown) =>
      new Response(
        `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32001, message: 'Session not found' } })}\n\n`,
        {
          headers: { 'content-type': 'text/event-stream' },
        },
      );
    // The server forgets every session as it answers a call with the error, so the ping confirms it.
    const server = scripted((seen, live) => {
      if (seen.rpc?.method !== 'tools/call') return undefined;
      live.delete(seen.headers.get('mcp-session-id') ?? '');
      return sseError(seen.rpc.id);
    });
    const fetch = withSessionRecovery()(server.next);
    const alias = await initialize(fetch);
    const text = await (await call(fetch, alias, 3)).text();
    assert.match(text, /"id":3,"error":\{"code":-32000,"message":"MCP session expired: .*rejected the request on it too/);
    assert.equal(server.initializes(), 4, 'three re-initializations (maxRecoveries), no loop');
    assert.equal(server.seen.filter((entry) => entry.rpc?.method === 'tools/call').length, 4, 'sent, then replayed three times');
    assert.equal(server.seen.filter((entry) => entry.rpc?.method === 'ping').length, 4, 'each 200 error confirmed with a ping');
  });

  it('a replay that meets a lost session once more is recovered again and runs once (the first new session was lost too)', async () => {
    let losses = 2;
    const server = scripted((seen, live) => {
      if (seen.rpc?.method !== 'tools/call' || losses === 0) return undefined;
      losses -= 1;
      live.delete(seen.headers.get('mcp-session-id') ?? '');
      return json({ jsonrpc: '2.0', id: seen.rpc.id, error: { code: -32001, message: 'Session not found' } }, {}, 404);
    });
    const fetch = withSessionRecovery()(server.next);
    const alias = await initialize(fetch);
    const answer = await call(fetch, alias, 4);
    assert.equal(answer.status, 200);
    assert.equal(server.initializes(), 3, 'two recoveries');
    assert.equal(server.seen.filter((entry) => entry.rpc?.method === 'tools/call').length, 3, 'rejected twice, then answered');
  });

  it('GET: re-opens the stream on the new session without the stale Last-Event-ID', async () => {
    const server = scripted(() => undefined);
    const fetch = withSessionRecovery()(server.next);
    const alias = await initialize(fetch);
    server.live.clear();
    const stream = await fetch(URL_, {
      method: 'GET',
      headers: { accept: 'text/event-stream', 'mcp-session-id': alias, 'last-event-id': 'old-7' },
    });
    assert.equal(stream.status, 200);
    const reopened = server.seen.at(-1);
    assert.equal(reopened?.method, 'GET');
    assert.equal(reopened?.headers.get('mcp-session-id'), 's2-0123456789');
    assert.equal(reopened?.headers.get('last-event-id'), null);
    assert.equal(
      server.seen.some((entry) => entry.rpc?.method === 'ping'),
      false,
      'a JSON-RPC 404 body needs no liveness check',
    );
  });

  it('GET answered 404 "Cannot GET" while the session is alive: reported as 405, session kept', async () => {
    const server = scripted((seen) =>
      seen.method === 'GET' ? new Response('Cannot GET /mcp', { status: 404, headers: { 'content-type': 'text/html' } }) : undefined,
    );
    const recorder = recordEvents();
    const fetch = withSessionRecovery({ onEvent: recorder.onEvent })(server.next);
    const alias = await initialize(fetch);
    const get = () => fetch(URL_, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': alias } });
    assert.equal((await get()).status, 405);
    assert.equal(server.initializes(), 1, 'no re-initialization');
    const requestsBefore = server.seen.length;
    assert.equal((await get()).status, 405);
    assert.equal(server.seen.length, requestsBefore, 'remembered: the second GET never left');
    assert.equal((await call(fetch, alias, 3)).status, 200);
  });

  it('a 200 stream whose first event is the session error is swapped for the replay (JSON re-framed as SSE)', async () => {
    let lost = true;
    const server = scripted((seen, live) => {
      if (lost && seen.rpc?.method === 'tools/call') {
        lost = false;
        live.clear();
        const error = JSON.stringify({ jsonrpc: '2.0', id: seen.rpc.id, error: { code: -32001, message: 'Session not found' } });
        return new Response(`id: 1\ndata: \n\nevent: message\ndata: ${error}\n\n`, { headers: { 'content-type': 'text/event-stream' } });
      }
      return undefined;
    });
    const recorder = recordEvents();
    const fetch = withSessionRecovery({ onEvent: recorder.onEvent })(server.next);
    const alias = await initialize(fetch);
    const response = await call(fetch, alias, 5);
    const text = await response.text();
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    assert.doesNotMatch(text, /Session not found/);
    assert.match(text, /^event: message\ndata: \{"jsonrpc":"2.0","id":5,"result":\{"ok":true/);
    assert.equal(recorder.of('session-lost')[0]?.rule, 'sse-200');
  });

  it('a large 200 JSON answer is passed through as is, never read', async () => {
    const big = new Response(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { text: 'x'.repeat(100_000) } }), {
      headers: { 'content-type': 'application/json', 'content-length': '100035' },
    });
    const server = scripted((seen) => (seen.rpc?.method === 'tools/call' ? big : undefined));
    const fetch = withSessionRecovery()(server.next);
    const alias = await initialize(fetch);
    const response = await call(fetch, alias, 1);
    assert.equal(response, big);
    assert.equal(response.bodyUsed, false);
  });

  it('the negotiated protocol version of the new session replaces the old header; ids stop when the server stops issuing them', async () => {
    const server = scripted((seen) => {
      if (seen.rpc?.method === 'initialize' && server.initializes() === 2) {
        return json({ jsonrpc: '2.0', id: seen.rpc.id, result: { protocolVersion: '2025-06-18', capabilities: {} } });
      }
      if (server.initializes() === 2 && seen.rpc?.method === 'notifications/initialized') return new Response(null, { status: 202 });
      if (server.initializes() === 2 && seen.rpc?.method === 'tools/call') return json({ jsonrpc: '2.0', id: seen.rpc.id, result: {} });
      return undefined;
    });
    const fetch = withSessionRecovery()(server.next);
    const alias = await initialize(fetch);
    server.live.clear();
    assert.equal((await call(fetch, alias, 1)).status, 200);
    const replay = server.seen.at(-1);
    assert.equal(replay?.headers.get('mcp-protocol-version'), '2025-06-18');
    assert.equal(replay?.headers.get('mcp-session-id'), null);
  });

  it('shouldRecover() === false leaves the original answer intact', async () => {
    const server = scripted(() => undefined);
    const fetch = withSessionRecovery({ shouldRecover: (verdict) => verdict.rule !== 'spec-404' })(server.next);
    const alias = await initialize(fetch);
    server.live.clear();
    const response = await call(fetch, alias, 1);
    assert.equal(response.status, 404);
    assert.match(await response.text(), /Session not found/);
    assert.equal(server.initializes(), 1);
  });

  it('an onEvent listener that throws does not fail the request', async () => {
    const server = scripted(() => undefined);
    const fetch = withSessionRecovery({
      onEvent: () => {
        throw new Error('listener bug');
      },
    })(server.next);
    const alias = await initialize(fetch);
    server.live.clear();
    assert.equal((await call(fetch, alias, 1)).status, 200);
  });

  it('a server message that quotes the lost session id is redacted in events and errors', async () => {
    const recorder = recordEvents();
    const server = scripted((seen) =>
      seen.rpc?.method === 'tools/call'
        ? json({ error: `Session ${seen.headers.get('mcp-session-id')} not found` }, {}, 404)
        : seen.rpc?.method === 'initialize' && server.initializes() > 1
          ? new Response('down', { status: 503 })
          : undefined,
    );
    const fetch = withSessionRecovery({ onEvent: recorder.onEvent })(server.next);
    const alias = await initialize(fetch);
    const error = await call(fetch, alias, 1).then(
      () => assert.fail('expected the recovery to fail'),
      (reason: Error) => reason,
    );
    assert.match(error.message, /Session s1-0… not found/);
    assert.doesNotMatch(error.message + JSON.stringify(recorder.events), /s1-0123456789/);
  });

  it('events carry redacted session ids and the URL without its query string', async () => {
    const recorder = recordEvents();
    const server = scripted(() => undefined);
    const fetch = withSessionRecovery({ onEvent: recorder.onEvent })(server.next);
    const alias = await initialize(fetch);
    server.live.clear();
    await call(fetch, alias, 1);
    for (const event of recorder.events) {
      assert.equal(event.url, URL_);
      if ('sessionId' in event) assert.ok(event.sessionId.length <= 5, event.sessionId);
      assert.doesNotMatch(JSON.stringify(event), /0123456789/);
    }
    assert.deepEqual(
      recorder.events.map((event) => event.type),
      ['session-lost', 'reinitialized', 'replayed'],
    );
  });
});

describe('SSE answers, event by event', () => {
  /** A response whose body arrives in the given pieces. */
  const streamOf = (pieces: readonly string[], headers: Record<string, string> = {}) => {
    const encoder = new TextEncoder();
    return new Response(
      new ReadableStream({
        start(controller) {
          for (const piece of pieces) controller.enqueue(encoder.encode(piece));
          controller.close();
        },
      }),
      { headers: { 'content-type': 'text/event-stream', ...headers } },
    );
  };
  const answer = (id: unknown) => JSON.stringify({ result: { content: [] }, jsonrpc: '2.0', id });
  const note = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } });

  async function readWith(pieces: (id: unknown) => readonly string[], read: (response: Response) => Promise<string>) {
    const server = scripted((seen) => (seen.rpc?.method === 'tools/call' ? streamOf(pieces(seen.rpc.id)) : undefined));
    const recorder = recordEvents();
    const fetch = withSessionRecovery({ onEvent: recorder.onEvent })(server.next);
    const alias = await initialize(fetch);
    return { text: await read(await call(fetch, alias, 9)), recorder };
  }
  const viaPipeThrough = async (response: Response) => {
    let text = '';
    const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text;
      text += value;
    }
  };
  const readers: [string, (response: Response) => Promise<string>][] = [
    ['pipeThrough', viaPipeThrough],
    ['text()', (response) => response.text()],
    ['getReader()', readThroughReader],
  ];

  for (const [name, read] of readers) {
    it(`${name}: an answer split at every byte, CRLF line ends: passed as sent, nothing added`, async () => {
      const { text, recorder } = await readWith(
        (id) => [...`event: message\r\ndata: ${note}\r\n\r\nevent: message\r\ndata: ${answer(id)}\r\n\r\n`],
        read,
      );
      assert.equal(text, `event: message\r\ndata: ${note}\r\n\r\nevent: message\r\ndata: ${answer(9)}\r\n\r\n`);
      assert.deepEqual(recorder.events, []);
    });

    it(`${name}: a stream that ends after a notification, without the answer: answered at once`, async () => {
      const { text, recorder } = await readWith(() => [`event: message\ndata: ${note}\n\n`], read);
      assert.match(
        text,
        /data: \{"jsonrpc":"2.0","id":9,"error":\{"code":-32000,"message":"mcp-lifeline: stream ended without an answer to tools\/call/,
      );
      assert.equal(recorder.of('stream-broken')[0]?.how, 'ended');
    });
  }

  it('a stream with event ids (resumable) is left for the client to resume', async () => {
    const { text, recorder } = await readWith(() => [`id: 1\nevent: message\ndata: ${note}\n\n`], viaPipeThrough);
    assert.equal(text, `id: 1\nevent: message\ndata: ${note}\n\n`);
    assert.deepEqual(recorder.events, []);
  });

  it('an answer whose last blank line is missing is completed, not answered twice', async () => {
    const { text, recorder } = await readWith((id) => [`event: message\ndata: ${answer(id)}`], viaPipeThrough);
    assert.equal(text, `event: message\ndata: ${answer(9)}\n\n`);
    assert.deepEqual(recorder.events, []);
  });

  it('an answer larger than the tracking limit passes whole, and nothing is added after it', async () => {
    const big = (id: unknown) => JSON.stringify({ jsonrpc: '2.0', id, result: { text: 'x'.repeat(200_000) } });
    const { text, recorder } = await readWith(
      (id) => [`data: ${big(id).slice(0, 70_000)}`, `${big(id).slice(70_000)}\n\n`],
      viaPipeThrough,
    );
    assert.equal(text, `data: ${big(9)}\n\n`);
    assert.deepEqual(recorder.events, []);
  });
});

describe('JSON answers, however they are read', () => {
  const lostOnce = () => {
    let lost = true;
    return scripted((seen, live) => {
      if (!lost || seen.rpc?.method !== 'tools/call') return undefined;
      lost = false;
      live.clear();
      return json({ jsonrpc: '2.0', id: seen.rpc.id, error: { code: -32001, message: 'Session not found' } });
    });
  };
  const readBody = readThroughReader;

  it('a 200 session error read through response.body is replaced by the replay, as with json()', async () => {
    const server = lostOnce();
    const fetch = withSessionRecovery()(server.next);
    const alias = await initialize(fetch);
    const text = await readBody(await call(fetch, alias, 4));
    assert.match(text, /"id":4,"result":\{"ok":true,"session":"s2-0123456789"\}/);
    assert.equal(server.initializes(), 2);
  });

  it('looking at response.body first, then reading json(), works and is checked', async () => {
    const server = lostOnce();
    const fetch = withSessionRecovery()(server.next);
    const alias = await initialize(fetch);
    const response = await call(fetch, alias, 5);
    assert.notEqual(response.body, null);
    assert.equal(response.bodyUsed, false);
    assert.deepEqual(await response.json(), { jsonrpc: '2.0', id: 5, result: { ok: true, session: 's2-0123456789' } });
  });
});

/** A response body read through `body.getReader()`, as a client that streams it would. */
async function readThroughReader(response: Response): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}
