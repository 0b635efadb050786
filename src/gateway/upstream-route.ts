import type { IncomingMessage, ServerResponse } from 'node:http';
import { isFetchLayerError } from '../errors/LifelineError.js';
import { networkErrorText } from '../errors/network-error-text.js';
import type { AnyFetch } from '../recovery/outgoing-request.js';
import { summarizeJsonRpc } from '../shared/json-rpc.js';
import { readTextPrefix } from '../shared/read-prefix.js';
import { describeUrl, redactSessionId } from '../shared/redact.js';
import { scrubberForRequest } from '../shared/secret-scrubber.js';
import { AnswerTooLargeError, relayAnswer } from './answer-relay.js';
import type { EndedSessions } from './ended-sessions.js';
import type { GatewayMetrics, RefusalReason } from './gateway-metrics.js';
import type { GatewayUpstream, ResolvedGatewayOptions } from './gateway-options.js';
import { initializeIn, jsonRpcError, jsonRpcErrors, sendJson } from './http-exchange.js';
import { createRouteRecovery } from './route-recovery.js';
import type { SessionAdmission } from './session-admission.js';
import type { SessionStore } from './session-store.js';
import { newSessionKey, type SessionClaims, type SessionTokens, TokenTooLargeError } from './session-token.js';
import { storeFailure } from './store-outage.js';
import { clientAnswerHeaders, headerValue, upstreamRequestHeaders, withSession } from './upstream-headers.js';

/** One client request for an upstream, already admitted by the gateway (host, origin, credential). */
export interface RouteRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The caller's identity (token file name, or `local`). */
  readonly caller: string;
  /** The POST body, read in full (it may have to be replayed). */
  readonly body: Buffer | undefined;
  /** Headers every answer carries (CORS). */
  readonly answerHeaders: Record<string, string>;
}

/**
 * An upstream behind the gateway: its endpoint, its middleware, its client sessions on this process.
 * {@linkcode createUpstreamRoute} is the HTTP-level pass-through for 2025 Streamable HTTP upstreams;
 * `createMessageRoute` serves the other eras at the message level, on the `Upstream` contract.
 */
export interface UpstreamRoute {
  readonly name: string;
  /** Whether its upstream sessions live in this process only (then shutdown ends them even with a shared store). */
  readonly localSessions: boolean;
  handle(request: RouteRequest): Promise<void>;
  /** Ends session `key` as its client's DELETE would: refused everywhere from now on, its upstream session ended. */
  terminate(key: string): Promise<void>;
  /** Ends the upstream sessions this process holds (DELETE, bounded). */
  endSessions(): Promise<number>;
}

/** What every route of a gateway shares. */
export interface RouteContext {
  readonly options: ResolvedGatewayOptions;
  /** The session table, its failures typed ({@linkcode StoreUnreachableError}). */
  readonly store: SessionStore;
  readonly tokens: SessionTokens;
  readonly metrics: GatewayMetrics;
  readonly ended: EndedSessions;
  readonly admission: SessionAdmission;
}

const SESSION_NOT_FOUND = -32001;
// What of an upstream's refusal of the gateway's credentials is quoted in the error.
const REFUSAL_QUOTE_BYTES = 4096;

/** What this process knows of a client session it served lately. */
interface SessionHere {
  /** What its session id carries: what rebuilds the session when the store lost it. */
  readonly claims: SessionClaims;
  readonly caller: string;
  /** Responses in progress. */
  responses: number;
  /** When this process last restarted the record's idle TTL (0: never). */
  touchedAt: number;
  /** Its GET streams open here, with what stops their upstream exchange: ended with the session. */
  readonly streams: Map<ServerResponse, AbortController>;
}

/**
 * Forwards a client's HTTP exchanges to one upstream, at the HTTP level: the method, the MCP
 * headers and the body go on as they are, the answer (JSON or SSE) streams back as it arrives,
 * bounded (`maxMessageBytes`) and scrubbed of the gateway's secrets. Nothing is parsed on the way
 * but the little the gateway needs (is this an initialize? which request ids get an error if the
 * upstream cannot be reached?), so server-to-client requests, their answers, notifications and the
 * GET stream flow through untouched, and a 2026-07-28 client's stateless requests (no session id)
 * pass through as they are.
 *
 * Underneath, `withSessionRecovery` keeps each client session's upstream session alive: the client
 * holds the gateway's session id, the middleware the upstream's, and a lost upstream session is
 * re-initialized and the rejected request replayed without the client noticing.
 */
export function createUpstreamRoute(upstream: GatewayUpstream, context: RouteContext): UpstreamRoute {
  const { options, store, tokens, metrics, ended, admission } = context;
  const { log } = options;
  const name = upstream.name;
  const url = upstream.url.href;
  const where = describeUrl(url);
  const configured = upstream.headers ?? {};
  const forwarded = (upstream.forwardHeaders ?? []).map((header) => header.toLowerCase());
  const forwardsCredentials = forwarded.includes('authorization');
  // What the upstream says may quote the gateway's own credentials: none of it reaches a client.
  const secrets = scrubberForRequest(configured, upstream.url);
  const hasSecrets = Object.keys(configured).length > 0 || upstream.url.search !== '' || upstream.scrub !== undefined;
  const scrub = hasSecrets ? (text: string) => (upstream.scrub ?? identity)(secrets.scrub(text)) : undefined;
  const scrubText = scrub ?? identity;
  // `redirect: 'manual'`: a redirect is never followed with the gateway's headers (the CLI's fetch follows none anyway).
  const http = (upstream.fetch ?? fetch) as AnyFetch;
  // Sessions this process served lately, by key; the oldest is forgotten first.
  const here = new Map<string, SessionHere>();
  const recovering = createRouteRecovery(http, {
    name,
    options,
    store,
    metrics,
    // The store lost the record (emptied, expired, or a memory store that restarted): the
    // request's own session id rebuilds it.
    fallback: (key) => {
      const session = here.get(key);
      return session && { caller: session.caller, initializeParams: session.claims.initializeParams, createdAt: session.claims.issuedAt };
    },
  });
  const touchEvery = Math.min(options.sessionIdleTtlMs / 10, 60_000);

  // A session ended anywhere: its GET streams here end, and this process forgets it.
  ended.onEnded((key) => {
    const session = here.get(key);
    if (session === undefined) return;
    here.delete(key);
    for (const [stream, upstreamExchange] of session.streams) {
      stream.end();
      upstreamExchange.abort();
    }
  });

  function refuse(request: RouteRequest, status: number, reason: RefusalReason, message: string): void {
    metrics.refused(reason);
    log.debug('request refused', { upstream: name, reason, status });
    const code = status === 404 ? SESSION_NOT_FOUND : -32000;
    sendJson(request.res, status, jsonRpcErrors(request.body, code, message) ?? jsonRpcError(code, message), request.answerHeaders);
  }

  /**
   * Sends one exchange upstream; resolves with the answer, or undefined when the client already got
   * an error instead (upstream unreachable, recovery impossible) or went away. Rejects with a
   * {@linkcode StoreUnreachableError} when the store failed it (the gateway answers 503).
   */
  async function send(
    request: RouteRequest,
    headers: Headers,
    via: AnyFetch,
    abort = new AbortController(),
  ): Promise<Response | undefined> {
    const { req, res } = request;
    const method = req.method ?? 'GET';
    // When the client leaves, the upstream exchange ends too: a GET stream never ends on its own,
    // and a POST whose upstream hangs would otherwise hold its connection with no bound.
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    let response: Response;
    try {
      response = await via(url, {
        method,
        headers,
        body: request.body === undefined || request.body.length === 0 ? null : request.body,
        signal: abort.signal,
        redirect: 'manual',
      });
    } catch (error) {
      if (abort.signal.aborted) return undefined;
      const store = storeFailure(error);
      if (store !== undefined) throw store;
      metrics.upstreamError(name);
      const text = explain(error);
      log.warn(scrubText(text), { upstream: name });
      failed(request, 502, `mcp-lifeline: ${text}`);
      return undefined;
    }
    if ((response.status === 401 || response.status === 403) && !forwardsCredentials) {
      // The upstream refused the gateway's own credentials: the client cannot fix that, its operator can.
      const said = (await readTextPrefix(response, REFUSAL_QUOTE_BYTES).catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 160);
      const text = `${where} refused the gateway's credentials for upstream "${name}": HTTP ${response.status}${said ? ` "${said}"` : ''}. Check the headers configured for it.`;
      log.error(scrubText(text), { upstream: name });
      failed(request, 502, `mcp-lifeline: ${text}`);
      return undefined;
    }
    return response;
  }

  /** A failure to reach the upstream, in words: a lost-session error or a sign-in error says it all itself. */
  function explain(error: unknown): string {
    if (isFetchLayerError(error)) return error.message;
    return `cannot reach ${where}: ${networkErrorText(error, options.timeoutMs)}`;
  }

  /** Passes an upstream answer to the client as it arrives, bounded and scrubbed. */
  async function deliver(request: RouteRequest, response: Response, token: string | undefined): Promise<void> {
    const summary = request.body === undefined ? undefined : summarizeJsonRpc(request.body.toString('utf8'));
    const what = summary?.rpcMethod ?? request.req.method ?? 'GET';
    const tooLarge = () =>
      `mcp-lifeline: upstream "${name}" (${where}) answered ${what} with a message larger than the ${options.maxMessageBytes}-byte limit (--max-message-size); it was not passed on`;
    const headers = clientAnswerHeaders(response, request.answerHeaders, { token, challenges: forwardsCredentials, scrub });
    try {
      await relayAnswer(request.res, response, headers, {
        maxMessageBytes: options.maxMessageBytes,
        scrub,
        requestIds: request.req.method === 'POST' ? (summary?.requestIds ?? []) : [],
        onOversized: () => {
          metrics.oversized(name);
          log.warn('an upstream message over the size limit was not passed on', {
            upstream: name,
            request: what,
            limit: options.maxMessageBytes,
          });
          return tooLarge();
        },
      });
    } catch (error) {
      if (error instanceof AnswerTooLargeError) {
        metrics.oversized(name);
        log.warn('an upstream answer over the size limit was not passed on', {
          upstream: name,
          request: what,
          limit: options.maxMessageBytes,
        });
        failed(request, 502, tooLarge());
        return;
      }
      // The answer broke off before any of it reached the client (or a recovery inside it failed).
      metrics.upstreamError(name);
      const text = isFetchLayerError(error)
        ? error.message
        : `${where} broke off its answer: ${networkErrorText(error, options.timeoutMs)}`;
      log.warn(scrubText(text), { upstream: name });
      failed(request, 502, `mcp-lifeline: ${text}`);
    }
  }

  function failed(request: RouteRequest, status: number, raw: string): void {
    if (request.res.headersSent) {
      request.res.destroy();
      return;
    }
    const message = scrubText(raw);
    const answers = jsonRpcErrors(request.body, -32000, message);
    // A host shows a JSON-RPC error next to the call; anything else gets the HTTP status.
    if (answers !== null) sendJson(request.res, 200, answers, request.answerHeaders);
    else sendJson(request.res, status, jsonRpcError(-32000, message), request.answerHeaders);
  }

  /**
   * The client's initialize: admitted against the caller's session limit first (a refused one
   * costs the upstream nothing), then an upstream session opened and the client handed a session
   * id of the gateway's own. Sent as it is (the middleware meets the session on its first request,
   * in the store).
   */
  async function open(request: RouteRequest, params: unknown): Promise<void> {
    const sid = newSessionKey();
    const key = `${name}/${sid}`;
    const issuedAt = Date.now();
    const claims = { sid, initializeParams: params, issuedAt };
    let token: string;
    try {
      token = tokens.seal(claims, { upstream: name, caller: request.caller });
    } catch (error) {
      if (!(error instanceof TokenTooLargeError)) throw error;
      refuse(request, 400, 'session-id-too-large', `mcp-lifeline: ${error.message}`);
      return;
    }
    if (!(await admission.admit(request.caller, key))) {
      log.warn('session limit reached', { upstream: name, caller: request.caller, limit: options.maxSessionsPerCaller });
      refuse(
        request,
        429,
        'sessions-per-caller',
        `mcp-lifeline: caller "${request.caller}" already has ${options.maxSessionsPerCaller} open sessions on this gateway; end one (DELETE) or wait until one has been idle for the session TTL`,
      );
      return;
    }
    const headers = upstreamRequestHeaders(request.req, forwarded, configured);
    let opened = false;
    try {
      const response = await send(request, headers, http);
      if (response === undefined) return;
      const serverId = response.ok ? response.headers.get('mcp-session-id') : null;
      // No session id: a stateless upstream (or a refusal); nothing to keep, nothing to count.
      if (serverId === null) return await deliver(request, response, undefined);
      try {
        await store.put(key, {
          caller: request.caller,
          initializeParams: params,
          serverId,
          protocolVersion: undefined,
          logLevel: undefined,
          subscriptions: [],
          createdAt: issuedAt,
        });
      } catch (error) {
        // The client will never learn of the session the upstream just opened: end it.
        await response.body?.cancel().catch(() => {});
        await endUpstream(headers, serverId);
        throw error;
      }
      opened = true;
      ended.opened(key);
      remember(key, { claims, caller: request.caller, responses: 0, touchedAt: issuedAt, streams: new Map() });
      metrics.session(name, 'opened');
      log.debug('session opened', { upstream: name, caller: request.caller, session: redactSessionId(sid) });
      await deliver(request, response, token);
    } finally {
      if (!opened) await admission.release(request.caller, key).catch(() => {});
    }
  }

  async function continueSession(request: RouteRequest, token: string): Promise<void> {
    const claims = tokens.open(token, { upstream: name, caller: request.caller });
    if (claims === undefined) {
      // Forged, altered, sealed with a retired key, or issued to another caller or upstream: the
      // spec's answer for a session the server does not know (the client re-initializes).
      refuse(request, 404, 'unknown-session', 'Session not found');
      return;
    }
    if (Date.now() - claims.issuedAt > options.sessionMaxAgeMs) {
      refuse(request, 404, 'expired-session', 'Session not found (expired: it is older than the gateway allows)');
      return;
    }
    const key = `${name}/${claims.sid}`;
    // Ended by its client, on any replica: refused before anything reaches the upstream.
    if (await ended.isEnded(key)) {
      here.delete(key);
      refuse(request, 404, 'ended-session', 'Session not found (ended)');
      return;
    }
    if (request.req.method === 'DELETE') return endByClient(request, key);
    const session = here.get(key) ?? remember(key, { claims, caller: request.caller, responses: 0, touchedAt: 0, streams: new Map() });
    if (session.responses >= options.maxStreamsPerSession) {
      refuse(request, 429, 'streams-per-session', `mcp-lifeline: this session already has ${session.responses} responses in progress`);
      return;
    }
    session.responses += 1;
    const exchange = new AbortController();
    const stream = request.req.method === 'GET' ? request.res : undefined;
    if (stream !== undefined) session.streams.set(stream, exchange);
    try {
      touch(key, session);
      // The middleware finds the upstream session by the key, and re-initializes it when it is lost.
      const headers = withSession(upstreamRequestHeaders(request.req, forwarded, configured), key);
      const response = await send(request, headers, recovering, exchange);
      if (response === undefined) return;
      await deliver(request, response, token);
    } finally {
      session.responses -= 1;
      if (stream !== undefined) session.streams.delete(stream);
    }
  }

  /** The client's DELETE: the session ends for every replica whatever the upstream says to it. */
  async function endByClient(request: RouteRequest, key: string): Promise<void> {
    await terminate(key, upstreamRequestHeaders(request.req, forwarded, configured));
    request.res.writeHead(200, request.answerHeaders).end();
  }

  /**
   * Ends a session: the tombstone first (every replica refuses the session from then on, and lets
   * go of what it holds for it), then its upstream session, with the id the store has for it.
   */
  async function terminate(key: string, headers = new Headers(configured)): Promise<void> {
    const record = await store.get(key);
    await ended.end(key);
    metrics.session(name, 'ended');
    if (record?.serverId !== undefined) await endUpstream(headers, record.serverId);
  }

  /** DELETE of an upstream session, bounded; the session is over for the client whatever the answer. */
  async function endUpstream(headers: Headers, serverId: string): Promise<void> {
    const answer = await http(url, {
      method: 'DELETE',
      headers: withSession(headers, serverId),
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'manual',
    }).catch((error: unknown) => error as Error);
    if (answer instanceof Response) await answer.body?.cancel().catch(() => {});
    // 405: the server does not let clients end sessions; 404: it had forgotten it already.
    const status = answer instanceof Response ? answer.status : undefined;
    if (status === undefined || !(answer as Response).ok) {
      const said = status === undefined ? networkErrorText(answer, options.timeoutMs) : `HTTP ${status}`;
      const level = status === 404 || status === 405 ? 'debug' : 'warn';
      log[level]('the upstream did not end its session (it stays open there until it expires)', { upstream: name, answer: said });
    }
  }

  function remember(key: string, session: SessionHere): SessionHere {
    here.set(key, session);
    if (here.size > options.maxRecords) here.delete(here.keys().next().value as string);
    return session;
  }

  /** Restarts the record's idle TTL, at most every tenth of it (or minute) per session and process. */
  function touch(key: string, session: SessionHere): void {
    const now = Date.now();
    if (now - session.touchedAt < touchEvery) return;
    session.touchedAt = now;
    // A failure is the store's outage, logged once by the gateway; the next request touches again.
    store.touch(key).catch((error: unknown) => log.debug(`store: ${networkErrorText(error)}`, { upstream: name }));
  }

  return {
    name,
    // The upstream sessions live in the store: with a shared one, other replicas carry them on.
    localSessions: false,
    async handle(request) {
      const token = headerValue(request.req, 'mcp-session-id');
      if (token !== undefined) return continueSession(request, token);
      const params = request.req.method === 'POST' ? initializeIn(request.body) : undefined;
      if (params !== undefined) return open(request, params.params);
      // No session: a stateless exchange (a 2026-07-28 client, or a server that issues no ids).
      const response = await send(request, upstreamRequestHeaders(request.req, forwarded, configured), http);
      if (response !== undefined) await deliver(request, response, undefined);
    },
    terminate: (key) => terminate(key),
    async endSessions() {
      const keys = (await store.keys()).filter((key) => key.startsWith(`${name}/`));
      const headers = new Headers(configured);
      let count = 0;
      // A few at a time: a gateway may hold thousands of sessions, the upstream should not see them all at once.
      for (let index = 0; index < keys.length; index += 8) {
        await Promise.all(
          keys.slice(index, index + 8).map(async (key) => {
            const serverId = (await store.get(key))?.serverId;
            if (serverId === undefined) return;
            const answer = await http(url, {
              method: 'DELETE',
              headers: withSession(headers, serverId),
              signal: AbortSignal.timeout(options.timeoutMs),
              redirect: 'manual',
            }).catch(() => undefined);
            await answer?.body?.cancel().catch(() => {});
            if (answer?.ok) count += 1;
          }),
        );
      }
      return count;
    },
  };
}

const identity = (text: string) => text;
