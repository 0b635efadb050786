// Issue 16, item 10: a Redis outage under `serve`. A real redis-server is stopped mid-run, then
// started again on the same port: every request meanwhile is answered at once with 503,
// Retry-After and a message naming the store (never `500 internal error`), the log says so once
// (not once per request), and service resumes when the store is back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHostileServer } from './fixtures/hostile-server.js';
import { textOf } from './helpers/clients.js';
import { newKey, startServe, tempFile } from './helpers/gateway.js';
import { openRawSession } from './helpers/raw-session.js';
import { redisMissing, startRedis } from './helpers/redis.js';

const skip = redisMissing();
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
// --store-timeout below, plus room for a loaded machine.
const ANSWER_BOUND_MS = 1500;

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('serve: the session store goes away and comes back', { skip }, () => {
  it('Redis stopped: every request gets 503 naming the store within the bound, logged once; Redis back: service resumes', async (t) => {
    let redis = await startRedis();
    t.after(() => redis.stop());
    const upstream = await startHostileServer();
    t.after(() => upstream.close());
    const keyFile = tempFile('keys', `${newKey()}\n`);
    const serve = await startServe([upstream.url, '--store', redis.url, '--key-file', keyFile, '--store-timeout', '500ms']);
    t.after(() => serve.stop());
    const url = `${serve.origin}/mcp`;
    const session = await openRawSession(fetch, url);
    assert.equal(textOf((await session.request('tools/call', { name: 'echo', arguments: { text: 'before' } }))['result']), 'before');

    await redis.stop();
    await until(async () => (await fetch(`${serve.origin}/readyz`)).status === 503, '/readyz says the store is gone');
    const timed = async (send: () => Promise<Response>) => {
      const started = performance.now();
      const response = await send();
      const text = await response.text();
      return { response, text, ms: performance.now() - started };
    };
    const storeDown = (what: string, answer: { response: Response; text: string; ms: number }) => {
      assert.equal(answer.response.status, 503, `${what}: ${answer.text}`);
      assert.equal(answer.response.headers.get('retry-after'), '1', what);
      assert.match(
        answer.text,
        /mcp-lifeline: the session store redis \(redis:\/\/127\.0\.0\.1:\d+\) is unreachable: .+; try again in a few seconds/,
        what,
      );
      assert.ok(answer.ms < ANSWER_BOUND_MS, `${what}: answered in ${Math.round(answer.ms)} ms`);
    };
    storeDown(
      'a new initialize',
      await timed(() => fetch(url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(INITIALIZE) })),
    );
    // A session this replica served: answered from what it knew until it hears the store is gone, then 503.
    await until(async () => {
      const answer = await timed(() =>
        session.post({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } }),
      );
      assert.ok(answer.response.status === 200 || answer.response.status === 503, answer.text);
      assert.ok(answer.ms < ANSWER_BOUND_MS, `answered in ${Math.round(answer.ms)} ms`);
      if (answer.response.status === 503) storeDown('a call on a known session', answer);
      return answer.response.status === 503;
    }, 'a known session is refused while the store is gone');
    storeDown('a DELETE', await timed(() => fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': session.sessionId } })));
    const answer = await timed(() => session.post({ jsonrpc: '2.0', id: 8, method: 'ping' }));
    storeDown('a ping', answer);
    assert.deepEqual(JSON.parse(answer.text).id, 8, 'the JSON-RPC error answers the request');

    redis = await startRedis(redis.port);
    await until(async () => (await fetch(`${serve.origin}/readyz`)).status === 200, '/readyz says the store is back');
    await until(async () => (await session.post({ jsonrpc: '2.0', id: 9, method: 'ping' })).status === 200, 'the session is served again');
    assert.equal(textOf((await session.request('tools/call', { name: 'echo', arguments: { text: 'after' } }))['result']), 'after');
    const fresh = await openRawSession(fetch, url);
    assert.notEqual(fresh.sessionId, '');

    const log = serve.stderr();
    assert.equal(log.match(/session store unreachable/g)?.length, 1, log);
    assert.equal(log.match(/session store reachable again/g)?.length, 1, log);
    assert.doesNotMatch(log, /internal error/);
  });
});
