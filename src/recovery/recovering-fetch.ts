import { classifySessionLoss, type SessionLossVerdict } from '../classifier/classify-session-loss.js';
import { mediaType } from '../classifier/server-message.js';
import { hasSessionLossWording } from '../classifier/wording.js';
import type { LifelineErrorCode } from '../errors/LifelineError.js';
import { networkErrorText } from '../errors/network-error-text.js';
import { type RequestReport, type SessionLossReport, SessionRecoveryError } from '../errors/SessionRecoveryError.js';
import { checkJsonOnRead } from './check-json-on-read.js';
import type { LifelineEvent } from './events.js';
import type { ResolvedOptions } from './options.js';
import {
  type AnyFetch,
  type FetchInput,
  fromRequestInput,
  headerOf,
  isRequestInput,
  isResponse,
  type OutgoingRequest,
  type RequestBody,
  toOutgoingRequest,
} from './outgoing-request.js';
import { readJsonRpcAnswer } from './read-answer.js';
import { readPrefix } from './read-prefix.js';
import { describeUrl, redactIds, redactSessionId } from './redact.js';
import { type HandshakeFailure, reinitialize } from './reinitialize.js';
import {
  createSessionRecord,
  createSessionTable,
  endpointOf,
  initializeParamsOf,
  type SessionRecord,
  trackSessionState,
} from './session-record.js';
import { sseReplacement } from './sse-replacement.js';
import { watchSseResponse } from './watch-sse-response.js';

type Lost = SessionLossVerdict & { lost: true };
type Classified =
  | { readonly lost: false; readonly response: Response }
  | { readonly lost: true; readonly verdict: Lost; readonly status: number };

const noop = () => {};

/**
 * The fetch that {@linkcode withSessionRecovery} wraps around `next`. Requests that carry no
 * session the middleware knows go to `next` untouched; the rest are watched for session loss.
 */
export function createRecoveringFetch(next: AnyFetch, config: ResolvedOptions): AnyFetch {
  const sessions = createSessionTable(config.maxSessions);
  const candidateStatuses = new Set(config.rules.flatMap((rule) => rule.status));
  let lastId = 0;
  const newId = (purpose: string) => `mcp-lifeline-${purpose}-${++lastId}`;

  const emit = (event: LifelineEvent) => {
    if (config.onEvent === undefined) return;
    try {
      config.onEvent(event);
    } catch {
      // A listener's failure must not fail the client's request.
    }
  };

  return async function fetchWithSessionRecovery(input: FetchInput, init?: RequestInit): Promise<Response> {
    const alias = headerOf(input, init, 'mcp-session-id');
    if (alias === null) {
      const initialize = isPost(input, init) ? initializeParamsOf(await postBody(input, init)) : undefined;
      if (initialize === undefined) return next(input, init);
      return openSession(input, init, initialize.params);
    }
    const record = sessions.get(alias);
    if (record === undefined || record.endpoint !== endpointOf(urlOf(input))) return next(input, init);
    return exchange(record, isRequestInput(input) ? await fromRequestInput(input, init) : toOutgoingRequest(input, init));
  };

  /** The client's own initialize: remember its params and the session the server issues. */
  async function openSession(input: FetchInput, init: RequestInit | undefined, params: unknown): Promise<Response> {
    const response = await next(input, init);
    const sessionId = response.headers.get('mcp-session-id');
    // No session id: a stateless server (or a 2026-07-28 one); nothing to recover, nothing kept.
    if (response.ok && sessionId) sessions.add(createSessionRecord(sessionId, endpointOf(urlOf(input)), params));
    return response;
  }

  async function exchange(record: SessionRecord, request: OutgoingRequest): Promise<Response> {
    if (request.method === 'DELETE') return terminate(record, request);
    if (request.method === 'GET' && record.getUnsupported) return methodNotAllowed();
    if (record.recovering !== undefined || record.dead) {
      await recover(record, record.attempts, request, record.lastLoss ?? unknownLoss());
    }
    const sentAt = record.attempts;
    const response = await send(record, request, false);
    // Successes skip classify (no await): they are watched as the client reads them.
    const classified = response.ok ? { lost: false as const, response } : await classify(record, request, response);
    if (classified.lost) return onLoss(record, request, sentAt, classified.verdict, classified.status);
    // A 200 may still carry the loss, in its JSON body or its first SSE event.
    return watchSuccess(record, request, finish(record, request, classified.response), (verdict) =>
      onLoss(record, request, sentAt, verdict, 200),
    );
  }

  /**
   * Watches a successful answer for a session error inside it, without delaying or copying it:
   * an SSE body is checked on its first event, a small JSON body when the client reads it.
   * `onLossInside` produces the answer to deliver instead.
   */
  function watchSuccess(
    record: SessionRecord,
    request: OutgoingRequest,
    response: Response,
    onLossInside: (verdict: Lost) => Promise<Response>,
  ): Response {
    if (!config.checkSuccessfulAnswers || !response.ok || response.body === null) return response;
    const contentType = response.headers.get('content-type');
    const type = mediaType(contentType);
    if (type === 'text/event-stream') {
      const body = watchSseResponse(response.body, {
        limit: config.peekBytes,
        decide: (text) => {
          // A session error is a JSON-RPC error: a first event without "error" is passed unparsed.
          const verdict = text.includes('"error"') ? lossIn(record, request, 200, contentType, text) : undefined;
          return verdict === undefined ? undefined : sseReplacement(onLossInside(verdict), request);
        },
        onBreak: request.method === 'POST' ? (error) => answerBrokenStream(request, error) : undefined,
      });
      return new Response(body, responseInit(response));
    }
    if (type === 'application/json' && !(Number(response.headers.get('content-length')) > config.peekBytes)) {
      return checkJsonOnRead(response, (text) => {
        // A session error is a small JSON-RPC error object; anything else passes unparsed.
        if (text.length > config.peekBytes || !text.includes('"error"')) return undefined;
        const verdict = lossIn(record, request, 200, contentType, text);
        return verdict === undefined ? undefined : onLossInside(verdict);
      });
    }
    return response;
  }

  /**
   * A request's response stream broke before it could be resumed (no event ids): the request may
   * or may not have run, so it is not sent again, but the client gets an answer now instead of
   * waiting for its own timeout.
   */
  function answerBrokenStream(request: OutgoingRequest, error: unknown): string | undefined {
    const { requestIds, rpcMethod } = request.messages();
    if (requestIds.length === 0) return undefined;
    const reason = networkErrorText(error);
    emit({ type: 'stream-broken', url: describeUrl(request.url), time: Date.now(), method: request.method, rpcMethod, error: reason });
    const message =
      `mcp-lifeline: the server's response stream for ${rpcMethod ?? 'the request'} broke before its answer arrived (${reason}); ` +
      'the request may or may not have run, so it was not sent again';
    return requestIds
      .map((id) => `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message } })}\n\n`)
      .join('');
  }

  /** Sends the request on the session's current server id (untouched when nothing needs rewriting). */
  function send(record: SessionRecord, request: OutgoingRequest, fresh: boolean, body?: string): Promise<Response> {
    const protocolVersion = record.protocolVersion === undefined ? null : headerOf(request.input, request.init, 'mcp-protocol-version');
    const resumes = request.method === 'GET' && headerOf(request.input, request.init, 'last-event-id') !== null;
    const dropEventId = resumes && (fresh || record.staleEventId);
    if (request.method === 'GET') record.staleEventId = false;
    const rewrite =
      record.serverId !== record.alias ||
      (record.protocolVersion !== undefined && protocolVersion !== null && protocolVersion !== record.protocolVersion) ||
      dropEventId ||
      body !== undefined;
    const signal = ownSignal(request.signal);
    if (!rewrite) return next(request.input, signal === undefined ? request.init : { ...request.init, signal });

    const headers = new Headers(request.headers());
    if (record.serverId === undefined) headers.delete('mcp-session-id');
    else headers.set('mcp-session-id', record.serverId);
    if (record.protocolVersion !== undefined && protocolVersion !== null) headers.set('mcp-protocol-version', record.protocolVersion);
    // An event id of the lost session means nothing to the new one (spec: ids are per session).
    if (dropEventId) headers.delete('last-event-id');
    return next(request.url, {
      ...request.init,
      method: request.method,
      headers,
      body: body ?? request.body ?? null,
      signal: signal ?? null,
    });
  }

  /** Reads just enough of the answer to tell whether the server lost the session. */
  async function classify(record: SessionRecord, request: OutgoingRequest, response: Response): Promise<Classified> {
    const { status } = response;
    // A success is watched as the client reads it (see watchSuccess), never held here.
    if (response.ok || !candidateStatuses.has(status)) return { lost: false, response };
    const contentType = response.headers.get('content-type');
    const prefix = await readPrefix(response, config.peekBytes);
    const verdict = lossIn(record, request, status, contentType, prefix.text);
    if (verdict === undefined) return { lost: false, response: prefix.rebuild() };
    await prefix.discard();
    return { lost: true, verdict, status };
  }

  /** The loss verdict for an answer, or undefined when it is not a loss (or the user said not to recover). */
  function lossIn(
    record: SessionRecord,
    request: OutgoingRequest,
    status: number,
    contentType: string | null,
    body: string,
  ): Lost | undefined {
    const classified = classifySessionLoss(
      { method: request.method, hadSessionId: true, status, contentType, body },
      { rules: config.rules, notLossRules: config.notLossRules },
    );
    if (!classified.lost) return undefined;
    // Servers often quote the id they did not find: it never reaches an event, a log or an error.
    const verdict = { ...classified, serverMessage: redactIds(classified.serverMessage, [record.alias, record.serverId]) };
    const wanted = config.shouldRecover?.(verdict, {
      method: request.method,
      url: describeUrl(request.url),
      rpcMethod: request.messages().rpcMethod,
    });
    return wanted === false ? undefined : verdict;
  }

  /** `sentAt`: the record's attempt count when the rejected request was sent. */
  async function onLoss(record: SessionRecord, request: OutgoingRequest, sentAt: number, verdict: Lost, status: number): Promise<Response> {
    const loss: SessionLossReport = { rule: verdict.rule, status, serverMessage: verdict.serverMessage.slice(0, 200) };
    const { rpcMethod } = request.messages();
    emit({
      type: 'session-lost',
      url: describeUrl(request.url),
      time: Date.now(),
      rule: verdict.rule,
      status,
      method: request.method,
      rpcMethod,
      sessionId: redactSessionId(record.serverId),
      serverMessage: loss.serverMessage,
    });
    if (request.signal?.aborted) throw request.signal.reason;

    if (request.method === 'GET' && status === 404 && !hasSessionLossWording(verdict.serverMessage)) {
      // Some servers answer 404 to GET when they offer no SSE stream (a 405 in disguise): make sure
      // the session is really gone before replacing it.
      if (await sessionAnswersPing(record, request)) {
        record.getUnsupported = true;
        return methodNotAllowed();
      }
    }

    const replayBody = replayableMessages(request);
    if (replayBody === 'none') {
      // Answers to the lost session's requests mean nothing to a new session: drop them (202, as
      // the server would have). The next request re-initializes.
      markDead(record, sentAt, loss);
      emit({ type: 'message-dropped', url: describeUrl(request.url), time: Date.now(), reason: droppedReason(request) });
      return new Response(null, { status: 202, statusText: 'Accepted' });
    }

    try {
      await recover(record, sentAt, request, loss);
    } catch (error) {
      const refused = error instanceof SessionRecoveryError ? (error.cause as HandshakeFailure | undefined)?.response : undefined;
      if (refused !== undefined && (refused.status === 401 || refused.status === 403)) {
        // Hand the client the server's own 401/403 (with WWW-Authenticate) so its OAuth flow can
        // refresh credentials and send again; the body says what happened.
        return authRefusal(refused, (error as Error).message);
      }
      throw error;
    }
    return replay(record, request, loss, replayBody);
  }

  /**
   * Re-initializes once for every request that met the same lost session (single flight). A
   * request sent before an attempt began shares that attempt's outcome, success or failure, so a
   * late answer from the lost session neither replaces the new session nor retries a failed one.
   */
  async function recover(record: SessionRecord, sentAt: number, request: OutgoingRequest, loss: SessionLossReport): Promise<void> {
    if (record.recovering === undefined && record.attempts > sentAt) {
      if (!record.dead) return;
      throw fail('REINITIALIZE_FAILED', request, loss, networkErrorText(record.lastFailure, config.timeout), record.lastFailure);
    }
    record.lastLoss = loss;
    if (record.recovering === undefined) {
      record.attempts += 1;
      const started = Date.now();
      const previous = record.serverId;
      const url = describeUrl(request.url);
      const recovering = reinitialize({
        next,
        url: request.url,
        headers: request.headers(),
        initializeParams: record.initializeParams,
        timeout: config.timeout,
        newId,
        restore: config.restoreState ? { logLevel: record.logLevel, subscriptions: [...record.subscriptions] } : undefined,
      }).then(
        (result) => {
          record.serverId = result.sessionId;
          record.protocolVersion = result.protocolVersion;
          record.dead = false;
          record.lastFailure = undefined;
          record.staleEventId = true;
          const time = Date.now();
          const sessionId = redactSessionId(result.sessionId);
          emit({
            type: 'reinitialized',
            url,
            time,
            previousSessionId: redactSessionId(previous),
            sessionId,
            durationMs: time - started,
            protocolVersion: result.protocolVersion,
            serverInfo: result.serverInfo,
            capabilities: result.capabilities,
          });
          const restored = result.restored;
          if (restored !== undefined && (restored.logLevel !== undefined || restored.subscriptions > 0)) {
            emit({ type: 'state-restored', url, time, sessionId, ...restored });
          }
        },
        (error: unknown) => {
          record.dead = true;
          record.lastFailure = error;
          throw error;
        },
      );
      record.recovering = recovering;
      const settle = () => {
        if (record.recovering === recovering) record.recovering = undefined;
      };
      recovering.then(settle, settle);
    }
    try {
      await abortable(record.recovering, request.signal);
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw fail('REINITIALIZE_FAILED', request, loss, networkErrorText(error, config.timeout), error);
    }
  }

  async function replay(
    record: SessionRecord,
    request: OutgoingRequest,
    loss: SessionLossReport,
    body: string | undefined,
  ): Promise<Response> {
    if (!request.replayable) throw fail('NOT_REPLAYABLE', request, loss);
    const sentAt = record.attempts;
    let response: Response;
    try {
      response = await send(record, request, true, body);
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw fail('REPLAY_FAILED', request, loss, `${networkErrorText(error)}; it may or may not have run`, error);
    }
    const classified = await classify(record, request, response);
    if (classified.lost) {
      const again: SessionLossReport = {
        rule: classified.verdict.rule,
        status: classified.status,
        serverMessage: classified.verdict.serverMessage,
      };
      markDead(record, sentAt, again);
      throw fail('SESSION_LOST_AGAIN', request, loss, `HTTP ${again.status} (rule ${again.rule}) "${again.serverMessage.slice(0, 120)}"`);
    }
    // A replay whose answer carries a session error again is not retried either: the client gets
    // SESSION_LOST_AGAIN in place of the server's bare "Session not found".
    const answer = watchSuccess(record, request, finish(record, request, classified.response), (verdict) => {
      markDead(record, sentAt, { rule: verdict.rule, status: 200, serverMessage: verdict.serverMessage });
      return Promise.reject(
        fail('SESSION_LOST_AGAIN', request, loss, `HTTP 200 (rule ${verdict.rule}) "${verdict.serverMessage.slice(0, 120)}"`),
      );
    });
    emit({
      type: 'replayed',
      url: describeUrl(request.url),
      time: Date.now(),
      method: request.method,
      rpcMethod: request.messages().rpcMethod,
      sessionId: redactSessionId(record.serverId),
      status: answer.status,
    });
    return answer;
  }

  /** DELETE: on a session the server already lost, there is nothing left to terminate. */
  async function terminate(record: SessionRecord, request: OutgoingRequest): Promise<Response> {
    await record.recovering?.catch(noop);
    if (!record.dead) {
      const classified = await classify(record, request, await send(record, request, false));
      if (!classified.lost) {
        if (classified.response.ok || classified.response.status === 405) sessions.delete(record.alias);
        return present(record, classified.response);
      }
    }
    sessions.delete(record.alias);
    emit({ type: 'message-dropped', url: describeUrl(request.url), time: Date.now(), reason: 'delete-of-lost-session' });
    return new Response(null, { status: 200 });
  }

  /** Asks the session for a ping, to tell a lost session from a server that answers GET with 404. */
  async function sessionAnswersPing(record: SessionRecord, request: OutgoingRequest): Promise<boolean> {
    const headers = new Headers(request.headers());
    headers.delete('last-event-id');
    headers.set('content-type', 'application/json');
    headers.set('accept', 'application/json, text/event-stream');
    if (record.serverId !== undefined) headers.set('mcp-session-id', record.serverId);
    const id = newId('ping');
    try {
      const response = await next(request.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }),
        signal: AbortSignal.timeout(config.timeout),
      });
      if (!response.ok) {
        await response.body?.cancel();
        return false;
      }
      return (await readJsonRpcAnswer(response, id)).result !== undefined;
    } catch {
      return false;
    }
  }

  function finish(record: SessionRecord, request: OutgoingRequest, response: Response): Response {
    if (response.ok) trackSessionState(record, request);
    return present(record, response);
  }

  function fail(
    code: LifelineErrorCode,
    request: OutgoingRequest,
    loss: SessionLossReport,
    reason?: string,
    cause?: unknown,
  ): SessionRecoveryError {
    const report: RequestReport = { method: request.method, url: describeUrl(request.url), rpcMethod: request.messages().rpcMethod };
    const error = new SessionRecoveryError(code, reason === undefined ? { request: report, loss } : { request: report, loss, reason }, {
      cause,
    });
    emit({
      type: 'recovery-failed',
      url: report.url,
      time: Date.now(),
      method: report.method,
      rpcMethod: report.rpcMethod,
      code,
      message: error.message,
    });
    return error;
  }
}

/**
 * What the client is shown: the session id it got at initialize, for the life of the connection.
 * (The v1 SDK transport adopts an id from any response, v2 only from initialize; a stable id keeps
 * both consistent.)
 */
function present(record: SessionRecord, response: Response): Response {
  const sent = response.headers.get('mcp-session-id');
  if (sent === null || sent === record.alias) return response;
  const headers = new Headers(response.headers);
  headers.set('mcp-session-id', record.alias);
  return new Response(response.body, { ...responseInit(response), headers });
}

function responseInit(response: Response): ResponseInit {
  return { status: response.status, statusText: response.statusText, headers: response.headers };
}

function markDead(record: SessionRecord, sentAt: number, loss: SessionLossReport): void {
  if (record.attempts !== sentAt || record.recovering !== undefined) return;
  record.dead = true;
  record.lastLoss = loss;
}

/**
 * The body to replay: undefined for "the original body", 'none' when nothing in it may be sent to
 * a new session (answers to the lost session's requests, its `notifications/initialized`).
 */
function replayableMessages(request: OutgoingRequest): string | undefined | 'none' {
  if (request.method !== 'POST') return undefined;
  const { messages, batch } = request.messages();
  if (messages.length === 0) return undefined;
  const kept = messages.filter((message) => !isResponse(message) && message['method'] !== 'notifications/initialized');
  if (kept.length === 0) return 'none';
  if (kept.length === messages.length) return undefined;
  return JSON.stringify(batch ? kept : kept[0]);
}

function droppedReason(request: OutgoingRequest): 'response-to-lost-session' | 'initialized-notification' {
  return request.messages().messages.some(isResponse) ? 'response-to-lost-session' : 'initialized-notification';
}

function methodNotAllowed(): Response {
  return new Response(null, { status: 405, statusText: 'Method Not Allowed' });
}

function authRefusal(refused: { status: number; headers: Headers }, message: string): Response {
  const headers = new Headers({ 'content-type': 'text/plain; charset=utf-8' });
  const challenge = refused.headers.get('www-authenticate');
  if (challenge !== null) headers.set('www-authenticate', challenge);
  return new Response(message, { status: refused.status, headers });
}

function unknownLoss(): SessionLossReport {
  return { rule: 'unknown', status: 0, serverMessage: '' };
}

function isPost(input: FetchInput, init: RequestInit | undefined): boolean {
  const method = init?.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET');
  return method.toUpperCase() === 'POST';
}

/** The body of a POST, reading a `Request` input's body from a clone (the original goes to `next`). */
async function postBody(input: FetchInput, init: RequestInit | undefined): Promise<RequestBody> {
  if (init?.body !== undefined || typeof input !== 'object' || !('clone' in input)) return init?.body;
  return input.body === null ? undefined : input.clone().text();
}

function urlOf(input: FetchInput): string {
  return typeof input === 'string' ? input : 'href' in input ? input.href : input.url;
}

/**
 * A signal for one request that follows the caller's. SDK transports pass one long-lived signal
 * to every request; undici adds an abort listener to it per request and drops it only when the
 * request is garbage-collected, so hundreds pile up (Node warns past 1500) and undici scans them
 * on each new request. A per-request signal keeps both flat: about 50 µs a call on loopback.
 */
function ownSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
  if (signal === undefined || signal === null || typeof AbortSignal.any !== 'function') return signal ?? undefined;
  return AbortSignal.any([signal]);
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
