// The faults a test or the soak switches on in the dialect server, and the answers they give
// instead of the SDK transport's.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerBroken, answerFailure, loseAnswer, type Sabotage } from './dialect-answers.js';
import { argumentsOf, requestIdOf, rpcMethodOf, toolNameOf } from './dialect-requests.js';

/** Faults a test or the soak can switch on while the server runs. */
export interface DialectServerFaults {
  /** Answer `initialize` with this HTTP status instead of opening a session. */
  initializeStatus?: number | undefined;
  /** Hold `initialize` this long (ms) before handling it. */
  initializeDelayMs?: number | undefined;
  /** Run the next tool call, then destroy the connection instead of answering. */
  cutNextToolCall?: boolean | undefined;
  /** Called right after a lost-session answer was sent. */
  afterLostAnswer?: (() => void) | undefined;
  /** Answer the next `count` tool calls broken, without running them. */
  sabotage?: { kind: Sabotage; count: number } | undefined;
  /** Hold every request this long (ms) before handling it. */
  delayMs?: number | undefined;
  /** Answer every GET with this status (a server that refuses the event stream). */
  refuseGet?: number | undefined;
  /** Answer every GET with a 200 event stream whose only event is a session error, then end it. */
  getOpensWithSessionError?: boolean | undefined;
  /**
   * Open sessions at `initialize`, then answer every request on them as lost (a load balancer
   * without sticky sessions): `all` (notifications too) or `requests` (notifications accepted).
   * DELETE still ends the session.
   */
  rejectSessions?: 'all' | 'requests' | undefined;
  /** Quote the request's headers in error bodies: a refused `initialize` and lost-session answers. */
  echoHeaders?: boolean | undefined;
  /** Answer `ping` with this HTTP status (a server that cannot confirm anything). */
  failPing?: number | undefined;
  /** Run the next tool calls, then end their event stream with a notification but no answer. */
  endWithoutAnswer?: boolean | undefined;
  /**
   * Forget each of the next `n` sessions `initialize` opens when its first tool call arrives, and
   * answer that call as lost without running it: a redeploy whose first new session landed on the
   * instance that was going away.
   */
  loseNewSessions?: number | undefined;
  /** Redirect requests whose JSON-RPC method or HTTP method is listed (only `count` of them, when given). */
  redirect?:
    | { rpcMethods?: readonly string[]; httpMethods?: readonly string[]; location: string; status?: number; count?: number }
    | undefined;
}

/** What a tool-call fault counts: the run of a tool, and the keys of calls answered broken. */
export interface FaultCounting {
  execute(args: Record<string, unknown>): void;
  readonly counters: { readonly sabotaged: string[] };
}

/** The faults that answer before anything else: a redirect, a failing ping. True when one answered. */
export function answerByFault(faults: DialectServerFaults, res: ServerResponse, method: string, body: unknown): boolean {
  const redirect = faults.redirect;
  if (redirect !== undefined && (redirect.httpMethods?.includes(method) || redirect.rpcMethods?.includes(rpcMethodOf(body) ?? ''))) {
    if (redirect.count !== undefined && --redirect.count <= 0) faults.redirect = undefined;
    res.writeHead(redirect.status ?? 307, { location: redirect.location }).end();
    return true;
  }
  if (faults.failPing !== undefined && rpcMethodOf(body) === 'ping') {
    res.writeHead(faults.failPing, { 'content-type': 'text/plain' }).end('ping failed');
    return true;
  }
  return false;
}

/** A GET the server answers itself: no event stream offered, refused, or one that opens with a session error. */
export function answerGetByFault(faults: DialectServerFaults, noEventStream: boolean, res: ServerResponse): boolean {
  if (noEventStream) {
    res.writeHead(405, { allow: 'POST, DELETE' }).end();
    return true;
  }
  if (faults.refuseGet !== undefined) {
    res.writeHead(faults.refuseGet, { 'content-type': 'text/plain' }).end('no event stream for you');
    return true;
  }
  if (faults.getOpensWithSessionError) {
    const error = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
    res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`event: message\ndata: ${error}\n\n`);
    return true;
  }
  return false;
}

/**
 * The faults of a tool call on a live session: it runs and ends without an answer, fails at the
 * HTTP level, is cut after it runs, or is answered broken without running. True when one answered
 * (a cut call still goes to the transport, which runs it into a closed connection).
 */
export function answerToolCallByFault(
  faults: DialectServerFaults,
  counting: FaultCounting,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
): boolean {
  if (faults.endWithoutAnswer) {
    counting.execute(argumentsOf(body));
    const note = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'working' } });
    res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`event: message\ndata: ${note}\n\n`);
    return true;
  }
  if (toolNameOf(body) === 'fail' && typeof argumentsOf(body)['status'] === 'number') {
    counting.execute(argumentsOf(body));
    answerFailure(res, argumentsOf(body));
    return true;
  }
  if (faults.cutNextToolCall) {
    faults.cutNextToolCall = false;
    loseAnswer(req, res);
  }
  if (faults.sabotage !== undefined && faults.sabotage.count > 0) {
    faults.sabotage.count -= 1;
    const key = (body as { params?: { arguments?: { key?: unknown } } }).params?.arguments?.key;
    counting.counters.sabotaged.push(typeof key === 'string' ? key : '');
    answerBroken(req, res, faults.sabotage.kind, requestIdOf(body));
    return true;
  }
  return false;
}
