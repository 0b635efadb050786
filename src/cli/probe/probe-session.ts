import { randomUUID } from 'node:crypto';
import { classifySessionLoss } from '../../classifier/classify-session-loss.js';
import { LifelineError } from '../../errors/LifelineError.js';
import { networkErrorText } from '../../errors/network-error-text.js';
import type { FetchLike } from '../../recovery/outgoing-request.js';
import { readJsonRpcAnswer } from '../../recovery/read-answer.js';
import { readPrefix } from '../../shared/read-prefix.js';
import type { Check, CheckName, Exchange } from './report.js';

/** How the probe talks to the server: every request bounded by `timeoutMs`. */
export interface ProbeTarget {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly timeoutMs: number;
  readonly fetch: FetchLike;
}

/** A session the probe opened, with what `initialize` returned. */
export interface OpenedSession {
  readonly sessionId: string | undefined;
  readonly protocolVersion: string | undefined;
  readonly result: Record<string, unknown>;
}

/** The server refused or failed the handshake: the probe cannot go on (exit 2). */
export class ProbeConnectionError extends LifelineError<'PROBE_CONNECTION_FAILED'> {
  override name = 'ProbeConnectionError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('PROBE_CONNECTION_FAILED', message, options);
  }
}

const EXCERPT_BYTES = 2048;
let nextId = 0;

/** POSTs initialize and notifications/initialized, as a client would. */
export async function openSession(target: ProbeTarget, version: string): Promise<OpenedSession> {
  const id = `mcp-lifeline-probe-${++nextId}`;
  const response = await send(
    target,
    'POST',
    {},
    {
      jsonrpc: '2.0',
      id,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'mcp-lifeline-probe', version } },
    },
  );
  if (!response.ok) {
    const prefix = await readPrefix(response, EXCERPT_BYTES);
    await prefix.discard();
    throw Object.assign(new ProbeConnectionError(`initialize answered HTTP ${response.status}`), {
      status: response.status,
      body: prefix.text,
    });
  }
  const answer = await readJsonRpcAnswer(response, id).catch((error: unknown) => {
    throw new ProbeConnectionError(`initialize: ${networkErrorText(error, target.timeoutMs)}`);
  });
  if (answer.result === undefined) {
    throw new ProbeConnectionError(`initialize returned JSON-RPC error ${answer.error?.code ?? ''} "${answer.error?.message ?? ''}"`);
  }
  const sessionId = response.headers.get('mcp-session-id') ?? undefined;
  const protocolVersion = typeof answer.result['protocolVersion'] === 'string' ? answer.result['protocolVersion'] : undefined;
  const initialized = await send(target, 'POST', sessionHeaders(sessionId, protocolVersion), {
    jsonrpc: '2.0',
    method: 'notifications/initialized',
  });
  await initialized.body?.cancel();
  return { sessionId, protocolVersion, result: answer.result };
}

export function sessionHeaders(sessionId: string | undefined, protocolVersion: string | undefined): Record<string, string> {
  return {
    ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
    ...(protocolVersion === undefined ? {} : { 'mcp-protocol-version': protocolVersion }),
  };
}

/** Sends one request (bounded by the target's timeout); the caller reads or cancels the body. */
export function send(
  target: ProbeTarget,
  method: string,
  headers: Record<string, string>,
  body?: unknown,
  signal: AbortSignal = AbortSignal.timeout(target.timeoutMs),
): Promise<Response> {
  return target.fetch(target.url, {
    method,
    headers: {
      ...target.headers,
      accept: method === 'GET' ? 'text/event-stream' : 'application/json, text/event-stream',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal,
  });
}

/** A request on the live session: is it still there? */
export async function sessionAlive(
  target: ProbeTarget,
  session: OpenedSession,
  method = 'ping',
): Promise<Exchange & { alive: boolean; answer: Record<string, unknown> | undefined }> {
  const id = `mcp-lifeline-probe-${++nextId}`;
  const request = `POST ${method} on the live session`;
  try {
    const response = await send(target, 'POST', sessionHeaders(session.sessionId, session.protocolVersion), { jsonrpc: '2.0', id, method });
    const contentType = response.headers.get('content-type');
    if (!response.ok) {
      const prefix = await readPrefix(response, EXCERPT_BYTES);
      await prefix.discard();
      return {
        request,
        status: response.status,
        contentType,
        excerpt: oneLine(prefix.text),
        error: undefined,
        alive: false,
        answer: undefined,
      };
    }
    const answer = await readJsonRpcAnswer(response, id);
    const text = answer.result === undefined ? JSON.stringify({ jsonrpc: '2.0', id, error: answer.error }) : JSON.stringify(answer.result);
    return {
      request,
      status: response.status,
      contentType,
      excerpt: oneLine(text),
      error: undefined,
      alive: answer.result !== undefined,
      answer: answer.result,
    };
  } catch (error) {
    return {
      request,
      status: null,
      contentType: null,
      excerpt: '',
      error: networkErrorText(error, target.timeoutMs),
      alive: false,
      answer: undefined,
    };
  }
}

/** Sends a request the server should reject for its session, and classifies the answer. */
export async function checkAnswer(
  target: ProbeTarget,
  name: CheckName,
  request: string,
  init: { method: string; headers: Record<string, string>; body?: unknown; sessionInUrl?: boolean },
): Promise<Check> {
  // HTTP+SSE servers carry the session in the endpoint URL's query instead of a header.
  const hadSessionId = 'mcp-session-id' in init.headers || init.sessionInUrl === true;
  // Never wait on an open stream (a GET the server accepts stays open): read what arrives within
  // two seconds, then let go.
  const enough = new AbortController();
  const timer = setTimeout(() => enough.abort(), Math.min(2000, target.timeoutMs));
  let response: Response;
  try {
    response = await send(
      target,
      init.method,
      init.headers,
      init.body,
      AbortSignal.any([enough.signal, AbortSignal.timeout(target.timeoutMs)]),
    );
  } catch (error) {
    clearTimeout(timer);
    return {
      name,
      request,
      status: null,
      contentType: null,
      excerpt: '',
      error: enough.signal.aborted
        ? `no answer within ${Math.min(2000, target.timeoutMs)} ms: the server kept the request open`
        : networkErrorText(error, target.timeoutMs),
      lost: false,
      rule: undefined,
      note: undefined,
    };
  }
  const contentType = response.headers.get('content-type');
  const prefix = await readPrefix(response, EXCERPT_BYTES);
  clearTimeout(timer);
  await prefix.discard();
  enough.abort();
  const body = prefix.text;
  // The server accepted these credentials on the probe's own session: judged as the middleware
  // judges a 401 to a client whose session it had accepted them on.
  const verdict = classifySessionLoss({
    method: init.method,
    hadSessionId,
    status: response.status,
    contentType,
    body,
    challenge: response.headers.get('www-authenticate'),
    credentialsAccepted: true,
  });
  return {
    name,
    request,
    status: response.status,
    contentType,
    excerpt: oneLine(body),
    error: undefined,
    lost: verdict.lost,
    rule: verdict.rule,
    note: verdict.lost ? undefined : verdict.reason,
  };
}

/** A session id no server issued. */
export function neverIssuedSessionId(): string {
  return randomUUID();
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
