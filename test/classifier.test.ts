import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifySessionLoss, hasSessionLossWording, SESSION_LOSS_RULES, type SessionLossEvidence } from '../src/index.js';

const JSON_TYPE = 'application/json';
const rpc = (code: number, message: string, id: unknown = null) => JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
const sse = (data: string) => `event: message\ndata: ${data}\n\n`;

function verdict(evidence: Partial<SessionLossEvidence>) {
  return classifySessionLoss({ method: 'POST', hadSessionId: true, status: 200, ...evidence });
}

function assertRule(evidence: Partial<SessionLossEvidence>, rule: string) {
  const result = verdict(evidence);
  assert.equal(result.lost, true, `expected loss by ${rule}, got ${JSON.stringify(result)}`);
  assert.equal(result.lost && result.rule, rule);
}

function assertNotLost(evidence: Partial<SessionLossEvidence>, rule?: string) {
  const result = verdict(evidence);
  assert.equal(result.lost, false, `expected no loss, got ${JSON.stringify(result)}`);
  if (rule !== undefined) assert.equal(!result.lost && result.rule, rule);
}

describe('classifySessionLoss: each dialect', () => {
  for (const method of ['POST', 'GET', 'DELETE']) {
    it(`spec-404 for ${method}, whatever the body`, () => {
      assertRule({ method, status: 404, contentType: JSON_TYPE, body: rpc(-32001, 'Session not found') }, 'spec-404');
      assertRule({ method, status: 404, contentType: JSON_TYPE, body: '{"error":"Session not found"}' }, 'spec-404');
      assertRule({ method, status: 404, contentType: 'text/html', body: '<h1>Not Found</h1>' }, 'spec-404');
      assertRule({ method, status: 404 }, 'spec-404');
    });

    it(`text-400 (Python SDK under uvicorn) for ${method}`, () => {
      assertRule(
        { method, status: 400, contentType: 'text/plain; charset=utf-8', body: 'Bad Request: No valid session ID provided' },
        'text-400',
      );
    });

    it(`jsonrpc-400 (server-everything) for ${method}`, () => {
      assertRule(
        {
          method,
          status: 400,
          contentType: 'application/json; charset=utf-8',
          body: rpc(-32000, 'Bad Request: No valid session ID provided'),
        },
        'jsonrpc-400',
      );
    });
  }

  it('missing-session-id-400 (Python SDK handshake), with or without a session id', () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 'server-error',
      error: { code: -32600, message: 'Bad Request: Missing session ID' },
    });
    assertRule({ status: 400, contentType: JSON_TYPE, body }, 'missing-session-id-400');
    assertRule({ status: 400, hadSessionId: false, contentType: JSON_TYPE, body }, 'missing-session-id-400');
  });

  it('server-not-initialized-400 (SDK single-transport server after a restart)', () => {
    assertRule(
      { status: 400, contentType: JSON_TYPE, body: rpc(-32000, 'Bad Request: Server not initialized') },
      'server-not-initialized-400',
    );
  });

  it('jsonrpc-400 and text-400 only for the exact messages of SDK session checks: proof', () => {
    for (const message of [
      'Bad Request: No valid session ID provided',
      'No valid session ID provided.',
      'Bad Request: Mcp-Session-Id header is required',
      'Session not found',
      'Invalid or missing session ID',
      'invalid session id',
    ]) {
      const json = verdict({ status: 400, contentType: JSON_TYPE, body: rpc(-32000, message) });
      assert.equal(json.lost && json.rule, 'jsonrpc-400', `JSON-RPC: ${message}`);
      assert.equal(json.lost && json.evidence, 'proof', `JSON-RPC: ${message}`);
      const text = verdict({ status: 400, contentType: 'text/plain', body: message });
      assert.equal(text.lost && text.rule, 'text-400', `text: ${message}`);
      assert.equal(text.lost && text.evidence, 'proof', `text: ${message}`);
    }
  });

  it('worded-400 for other wordings of the same loss: a suspicion, to be confirmed', () => {
    for (const message of [
      'Session terminated (idle)',
      'Session expired',
      'Unknown Mcp-Session-Id',
      'Session abc123 not found',
      "Session 'f3e1' does not exist",
      'session has expired, please re-initialize',
      'No such session',
      'sessionId is no longer valid',
      'Database error: session expired',
    ]) {
      for (const body of [rpc(-32000, message), message]) {
        const result = verdict({ status: 400, contentType: body === message ? 'text/plain' : JSON_TYPE, body });
        assert.equal(result.lost && result.rule, 'worded-400', `wording: ${body}`);
        assert.equal(result.lost && result.evidence, 'suspicion', `wording: ${body}`);
      }
    }
  });

  it('json-400 for plain JSON shapes ({"error":…}, FastAPI {"detail":…}): a suspicion', () => {
    assertRule({ status: 400, contentType: JSON_TYPE, body: '{"error":"Session not found"}' }, 'json-400');
    assertRule({ status: 400, contentType: JSON_TYPE, body: '{"detail":"Invalid session ID"}' }, 'json-400');
    assertRule({ status: 400, contentType: JSON_TYPE, body: '{"error":{"message":"session expired"}}' }, 'json-400');
  });

  it('gone-410 and worded 409/422: suspicions', () => {
    assertRule({ status: 410, contentType: 'text/plain', body: 'Gone' }, 'gone-410');
    assertRule({ status: 409, contentType: JSON_TYPE, body: rpc(-32000, 'Session terminated') }, 'worded-4xx');
    assertRule({ status: 422, contentType: 'text/plain', body: 'session expired' }, 'worded-4xx');
    const hostile = verdict({ status: 422, contentType: JSON_TYPE, body: '{"detail": "Upstream login session expired"}' });
    assert.equal(hostile.lost && hostile.evidence, 'suspicion');
  });

  it('jsonrpc-200: a 200 JSON body that is a session error, a suspicion', () => {
    assertRule({ status: 200, contentType: JSON_TYPE, body: rpc(-32001, 'Session not found', 7) }, 'jsonrpc-200');
    const hostile = verdict({ status: 200, contentType: JSON_TYPE, body: rpc(-32603, 'WebDriverError: invalid session id', 7) });
    assert.equal(hostile.lost && `${hostile.rule} ${hostile.evidence}`, 'jsonrpc-200 suspicion');
  });

  it('json-200: a 200 plain-JSON body naming the loss, with or without a code', () => {
    assertRule({ status: 200, contentType: JSON_TYPE, body: '{"error":"Session expired"}' }, 'json-200');
    assertRule({ status: 200, contentType: JSON_TYPE, body: '{"detail":"Session not found","code":"SESSION_NOT_FOUND"}' }, 'json-200');
    assertRule({ status: 200, contentType: JSON_TYPE, body: '{"message":"Unknown session","status":404}' }, 'json-200');
  });

  it('sse-200: a 200 event stream whose first data event is a session error', () => {
    assertRule({ status: 200, contentType: 'text/event-stream', body: sse(rpc(-32001, 'Session not found', 7)) }, 'sse-200');
    // A priming event (id, empty data) before it does not hide it.
    assertRule(
      { status: 200, contentType: 'text/event-stream', body: `id: 1\ndata: \n\n${sse(rpc(-32000, 'Session expired', 7))}` },
      'sse-200',
    );
    const hostile = verdict({
      status: 200,
      contentType: 'text/event-stream',
      body: sse(rpc(-32000, 'Database error: session expired', 7)),
    });
    assert.equal(hostile.lost && `${hostile.rule} ${hostile.evidence}`, 'sse-200 suspicion');
  });

  it('sse-json-200: a 200 event stream whose first data event is a plain JSON error', () => {
    assertRule({ status: 200, contentType: 'text/event-stream', body: sse('{"error":"Session expired"}') }, 'sse-json-200');
    assertRule({ status: 200, contentType: 'text/event-stream', body: sse('{"detail":{"message":"session not found"}}') }, 'sse-json-200');
    assertRule(
      { status: 200, contentType: 'text/event-stream', body: 'data: {"message":"invalid session","code":401}\n\n' },
      'sse-json-200',
    );
  });

  it('proof only where a session check speaks: 404 with a session id and the SDK 400 dialects', () => {
    const proofs: Partial<SessionLossEvidence>[] = [
      { status: 404, contentType: 'text/html', body: 'Not Found' },
      { status: 400, contentType: JSON_TYPE, body: rpc(-32600, 'Bad Request: Missing session ID') },
      { status: 400, contentType: JSON_TYPE, body: rpc(-32000, 'Bad Request: Server not initialized') },
      { status: 400, contentType: 'text/plain', body: 'Bad Request: No valid session ID provided' },
    ];
    for (const evidence of proofs) {
      const result = verdict(evidence);
      assert.equal(result.lost && result.evidence, 'proof', JSON.stringify(evidence));
    }
    for (const rule of SESSION_LOSS_RULES.filter((item) => item.status.includes(200))) assert.equal(rule.evidence, 'suspicion', rule.name);
  });

  it('session-401: the exact session-check texts in a 401 without a challenge (text, JSON-RPC): proof', () => {
    for (const [contentType, body] of [
      ['text/plain', 'unknown session'],
      ['text/plain; charset=utf-8', 'Unauthorized: Session not found'],
      [JSON_TYPE, rpc(-32001, 'Unknown session ID')],
      [JSON_TYPE, rpc(-32000, 'Invalid session')],
    ]) {
      const result = verdict({ status: 401, contentType, body });
      assert.equal(result.lost && result.rule, 'session-401', body);
      assert.equal(result.lost && result.evidence, 'proof', body);
    }
  });

  it('worded-401: other wordings of a lost session in a 401 (text, plain JSON, JSON-RPC): a suspicion', () => {
    for (const [contentType, body] of [
      ['text/plain', 'Session expired'],
      ['text/plain', 'unauthorized: mcp session abc123 has expired'],
      [JSON_TYPE, '{"error":"invalid_session","error_description":"The session has expired"}'],
      [JSON_TYPE, '{"error":"session_not_found"}'],
      [JSON_TYPE, rpc(-32001, 'Session expired or invalid; re-initialize')],
    ]) {
      const result = verdict({ status: 401, contentType, body });
      assert.equal(result.lost && result.rule, 'worded-401', body);
      assert.equal(result.lost && result.evidence, 'suspicion', body);
    }
    // A challenge without error="invalid_token" does not make a session wording a token problem.
    assertRule({ status: 401, contentType: 'text/plain', body: 'unknown session', challenge: 'Bearer realm="mcp"' }, 'worded-401');
  });

  it('challenged-401: a challenge to the credentials the session had accepted: a suspicion', () => {
    const challenge = 'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"';
    assertRule({ status: 401, contentType: 'text/plain', body: 'Unauthorized', challenge, credentialsAccepted: true }, 'challenged-401');
    assertRule({ status: 401, challenge, credentialsAccepted: true }, 'challenged-401');
    const result = verdict({ status: 401, challenge, credentialsAccepted: true });
    assert.equal(result.lost && result.evidence, 'suspicion');
  });

  it('every rule in the table is exercised above', () => {
    const exercised = new Set([
      'spec-404',
      'gone-410',
      'missing-session-id-400',
      'server-not-initialized-400',
      'jsonrpc-400',
      'text-400',
      'json-400',
      'worded-400',
      'worded-4xx',
      'jsonrpc-200',
      'json-200',
      'sse-200',
      'sse-json-200',
      'session-401',
      'worded-401',
      'challenged-401',
    ]);
    assert.deepEqual(
      SESSION_LOSS_RULES.map((rule) => rule.name).filter((name) => !exercised.has(name)),
      [],
    );
  });
});

describe('classifySessionLoss: never session loss', () => {
  it('400 -32602 (invalid params) or -32601, even when the message says "session"', () => {
    assertNotLost({ status: 400, contentType: JSON_TYPE, body: rpc(-32602, 'Invalid params: session not found') }, 'rejected-message');
    assertNotLost({ status: 400, contentType: JSON_TYPE, body: rpc(-32601, 'Method not found: session/expired') }, 'rejected-message');
    assertNotLost({ status: 200, contentType: JSON_TYPE, body: rpc(-32602, 'unknown session id argument') }, 'rejected-message');
  });

  it('403, whatever it says', () => {
    assertNotLost({ status: 403, contentType: JSON_TYPE, body: rpc(-32000, 'Session not found') }, 'auth');
    assertNotLost({ status: 403, contentType: 'text/plain', body: 'unknown session' }, 'auth');
  });

  it('a 401 whose challenge says error="invalid_token" is about the token, whatever the body says', () => {
    for (const challenge of [
      'Bearer error="invalid_token", error_description="The access token expired"',
      'Bearer realm="mcp", error=invalid_token',
      'Bearer error="INVALID_TOKEN", error_description="session expired"',
    ]) {
      assertNotLost(
        { status: 401, contentType: 'text/plain', body: 'unknown session', challenge, credentialsAccepted: true },
        'invalid-token',
      );
    }
  });

  it('a 401 that names a sign-in (a login session, a token, credentials) is the user’s to fix', () => {
    for (const body of [
      'Session expired, please log in',
      'Your session has expired. Please sign in again.',
      'Login session expired',
      'session token expired',
      '{"error":"invalid_token","error_description":"Session expired"}',
      'SSO session expired',
      'Authentication session not found',
      'User session expired',
      'Invalid session cookie',
    ]) {
      const contentType = body.startsWith('{') ? JSON_TYPE : 'text/plain';
      const result = verdict({ status: 401, contentType, body, credentialsAccepted: true });
      assert.equal(result.lost, false, body);
    }
    assertNotLost(
      { status: 401, contentType: JSON_TYPE, body: rpc(-32001, 'Access token expired: please re-authenticate') },
      'sign-in-401',
    );
  });

  it('a 401 with a challenge to credentials the session never accepted, or no sign of a session: authentication', () => {
    const challenge = 'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"';
    assertNotLost({ status: 401, contentType: 'text/plain', body: 'Unauthorized', challenge }, 'auth');
    assertNotLost({ status: 401, contentType: 'text/plain', body: 'Unauthorized', challenge, credentialsAccepted: false }, 'auth');
    assertNotLost({ status: 401, contentType: 'text/plain', body: 'Unauthorized' }, 'auth');
    assertNotLost({ status: 401, contentType: JSON_TYPE, body: '{"error":"unauthorized"}', credentialsAccepted: true }, 'auth');
    assertNotLost({ status: 401 }, 'auth');
  });

  it('a 401 to a request without a session id (initialize, a stateless server) is never session loss', () => {
    assertNotLost({ status: 401, hadSessionId: false, contentType: 'text/plain', body: 'unknown session' }, 'auth');
    assertNotLost({ status: 401, hadSessionId: false, challenge: 'Bearer realm="x"', credentialsAccepted: true }, 'auth');
  });

  it('404 to a request that carried no session id', () => {
    assertNotLost({ status: 404, hadSessionId: false, contentType: 'text/html', body: 'Cannot POST /mcp' }, 'not-found-without-session');
  });

  it('5xx, even with session wording', () => {
    for (const status of [500, 502, 503, 504]) {
      assertNotLost({ status, contentType: JSON_TYPE, body: rpc(-32603, 'Session store unavailable: session not found') }, 'server-error');
    }
  });

  it('unrelated 400s', () => {
    assertNotLost({ status: 400, contentType: 'text/plain', body: 'Bad Request' });
    assertNotLost({ status: 400, contentType: JSON_TYPE, body: rpc(-32600, 'Invalid Request: Server already initialized') });
    assertNotLost({ status: 400, contentType: JSON_TYPE, body: rpc(-32000, 'Bad Request: Unsupported protocol version: 2099-01-01') });
    assertNotLost({ status: 400, contentType: JSON_TYPE, body: rpc(-32000, 'Invalid session name "my chat"') });
    assertNotLost({ status: 400, contentType: 'text/plain', body: 'Bad Request: the session field is missing from the payload' });
    assertNotLost({ status: 400, contentType: JSON_TYPE, body: '{"error":"invalid_request","error_description":"session token expired"}' });
    assertNotLost({ status: 400, contentType: JSON_TYPE, body: rpc(-32700, 'Parse error') });
  });

  it('successful answers, including tool results that mention sessions (isError content too)', () => {
    const result = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'Session not found' }] } });
    const isError = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      result: { isError: true, content: [{ type: 'text', text: 'WebDriverError: invalid session id' }], error: 'Session expired' },
    });
    for (const body of [result, isError]) {
      assertNotLost({ status: 200, contentType: JSON_TYPE, body });
      assertNotLost({ status: 200, contentType: 'text/event-stream', body: sse(body) });
    }
    assertNotLost({ status: 202 });
  });

  it('notifications and server requests that quote a session error', () => {
    const log = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'error', data: 'Session expired' } });
    const request = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'elicitation/create', params: { message: 'Session not found' } });
    for (const body of [log, request]) assertNotLost({ status: 200, contentType: 'text/event-stream', body: sse(body) });
  });

  it('a 200 session error on a request that carried no session id (a stateless server cannot lose one)', () => {
    assertNotLost({ status: 200, hadSessionId: false, contentType: JSON_TYPE, body: rpc(-32001, 'Session not found') });
  });

  it('an SSE stream whose first event is not complete yet', () => {
    assertNotLost({ status: 200, contentType: 'text/event-stream', body: 'event: message\ndata: {"jsonrpc":"2.0","id":1,"err' });
  });
});

describe('hasSessionLossWording', () => {
  it('recognises the wordings servers use', () => {
    for (const text of [
      'Session ID not found',
      'Invalid session',
      'session_id is invalid',
      'Mcp-Session-Id header missing',
      'No session found for id abc-123',
      'Session 1a2b3c has been terminated',
      'The session has expired',
      'session is closed',
      'Could not find session',
      'Unknown session: abc',
      'session timed out',
      'Session not found or expired. Please reinitialize.',
      'Bad Request: Session ID required',
      'No active session',
      'Session 7f3e-aa is no longer valid',
      'Invalid Mcp-Session-Id header',
      'missing or invalid mcp-session-id header',
      'Session lookup failed: not found',
      'Not Found: session abc123',
      'The requested session does not exist',
      'No transport found for sessionId',
      'No transport found for session ID: 4f1c2d3e',
      'no active stream exists for this session',
      'session_not_found',
      'INVALID_SESSION_ID',
      '{"error":"SESSION_EXPIRED"}',
    ]) {
      assert.equal(hasSessionLossWording(text), true, text);
    }
  });

  it('does not mistake other sessions or other errors for it', () => {
    for (const text of [
      'Invalid session name',
      'the session field is missing',
      'session token expired',
      'Too many sessions',
      'session created',
      'Rate limit exceeded',
      'Invalid request body: expected object',
      'Server already initialized',
      'chat session title too long',
      'could not find session title',
      'No transport found for tool "search"',
      'no handler registered for session_name',
      'session_token_expired',
      'SESSION_NAME_INVALID',
    ]) {
      assert.equal(hasSessionLossWording(text), false, text);
    }
  });

  it('needs both a session subject and a loss predicate', () => {
    assert.equal(hasSessionLossWording('Session not found'), true);
    assert.equal(hasSessionLossWording('No valid session ID provided'), true);
    assert.equal(hasSessionLossWording('not found'), false);
    assert.equal(hasSessionLossWording('session created'), false);
    assert.equal(hasSessionLossWording('the chat session name is invalid'), false);
  });
});
