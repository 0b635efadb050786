import type { FetchLike } from '../../src/index.js';

/** A hand-driven MCP session over any fetch: what a bare fetch caller (no SDK) does. */
export interface RawSession {
  readonly sessionId: string;
  /** POSTs one JSON-RPC message on the session; returns the raw response. */
  post(message: unknown, headers?: Record<string, string>): Promise<Response>;
  /** POSTs a request and returns its JSON-RPC answer (JSON or SSE). */
  request(method: string, params?: unknown, headers?: Record<string, string>): Promise<Record<string, unknown>>;
}

let nextId = 1;

export async function openRawSession(fetch: FetchLike, url: string, headers: Record<string, string> = {}): Promise<RawSession> {
  const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers };
  const init = await fetch(url, {
    method: 'POST',
    headers: base,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: nextId++,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  const sessionId = init.headers.get('mcp-session-id') ?? '';
  await answerOf(init);
  const session = { ...base, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
  await (
    await fetch(url, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })
  ).text();
  const post = (message: unknown, extra: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { ...session, ...extra }, body: JSON.stringify(message) });
  return {
    sessionId,
    post,
    async request(method, params, extra) {
      return answerOf(await post({ jsonrpc: '2.0', id: nextId++, method, params }, extra));
    },
  };
}

/** The first JSON-RPC message in a JSON or SSE body. */
export async function answerOf(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text();
  if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const data = text
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim())
      .find((line) => line !== '');
    return JSON.parse(data ?? '{}') as Record<string, unknown>;
  }
  return JSON.parse(text === '' ? '{}' : text) as Record<string, unknown>;
}
