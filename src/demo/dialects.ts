/**
 * How the embedded server answers a request for a session it does not know: one entry per dialect
 * seen in the wild (see the classifier's rule table for the families), plus one no rule knows.
 */
export interface DialectAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

type Answer = (requestId: unknown) => DialectAnswer;

const json = (status: number, body: unknown): DialectAnswer => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(body),
});

const rpcError = (id: unknown, code: number, message: string) => ({ jsonrpc: '2.0', id: id ?? null, error: { code, message } });

export const DIALECTS = {
  /** The spec's answer, as the TypeScript SDK transport words it. */
  'spec-404': (id) => json(404, rpcError(id, -32001, 'Session not found')),
  /** Python SDK session manager under Starlette/uvicorn (Atlassian MCP). */
  'text-400': () => ({ status: 400, contentType: 'text/plain; charset=utf-8', body: 'Bad Request: No valid session ID provided' }),
  /** server-everything and the TypeScript SDK README pattern. */
  'jsonrpc-400': (id) => json(400, rpcError(id, -32000, 'Bad Request: No valid session ID provided')),
  /** The Python SDK's handshake check. */
  'missing-session-id-400': () => json(400, rpcError('server-error', -32600, 'Bad Request: Missing session ID')),
  /** A gateway that wraps the error in a 200. */
  'jsonrpc-200': (id) => json(200, rpcError(id, -32001, 'Session not found')),
  /** A 200 event stream whose first event is the error. */
  'sse-200': (id) => ({
    status: 200,
    contentType: 'text/event-stream',
    body: `event: message\ndata: ${JSON.stringify(rpcError(id, -32001, 'Session not found'))}\n\n`,
  }),
  /** A gateway's 200 with a plain JSON error. */
  'json-200': () => json(200, { error: 'Session expired', code: 'SESSION_EXPIRED' }),
  /** A 200 event stream whose first event is a plain JSON error. */
  'sse-json-200': () => ({
    status: 200,
    contentType: 'text/event-stream',
    body: `data: ${JSON.stringify({ detail: 'Session not found' })}\n\n`,
  }),
  /** A 200 event stream whose only event is a plain JSON error, cut by the end of the stream (no blank line). */
  'sse-json-end': () => ({
    status: 200,
    contentType: 'text/event-stream',
    body: `data: ${JSON.stringify({ message: 'Unknown session', status: 404 })}\n`,
  }),
  /**
   * An OAuth-protected server's session check: 401 text "unknown session" without a challenge
   * (openai/codex#46158). Requests without a session are answered so too.
   */
  'session-401': () => ({ status: 401, contentType: 'text/plain; charset=utf-8', body: 'unknown session' }),
  /** The same loss as a JSON-RPC error in a 401, in other words. */
  'worded-401': (id) => json(401, rpcError(id, -32001, 'Session expired or invalid; re-initialize')),
  /** The same loss as plain JSON in a 401 ({"error": "invalid_session"}). */
  'json-401': () => json(401, { error: 'invalid_session', error_description: 'The session has expired' }),
  /** An answer no rule knows: `probe` must say "not recognised". */
  unrecognised: () => ({ status: 400, contentType: 'text/plain', body: 'Bad Request' }),
} satisfies Record<string, Answer>;

export type Dialect = keyof typeof DIALECTS;
