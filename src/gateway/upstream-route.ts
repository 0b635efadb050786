import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSignInError } from '../auth/SignInError.js';
import { isLifelineError } from '../errors/LifelineError.js';
import { networkErrorText } from '../errors/network-error-text.js';
import type { LifelineEvent } from '../recovery/events.js';
import type { AnyFetch } from '../recovery/outgoing-request.js';
import { describeUrl, redactSessionId } from '../recovery/redact.js';
import { createSecretScrubber } from '../recovery/secret-scrubber.js';
import { initializeParamsOf } from '../recovery/session-record.js';
import type { NewServerSession, SessionSharing, SharedSessionState } from '../recovery/session-sharing.js';
import { withSessionRecovery } from '../recovery/with-session-recovery.js';
import type { GatewayMetrics, RefusalReason } from './gateway-metrics.js';
import type { GatewayUpstream, ResolvedGatewayOptions } from './gateway-options.js';
import { jsonRpcError, jsonRpcErrors, pipeResponse, sendJson } from './http-exchange.js';
import { type SessionStore, StoreUnreachableError } from './session-store.js';
import { newSessionKey, type SessionClaims, type SessionTokens, TokenTooLargeError } from './session-token.js';
import { createStoreSessionSharing } from './store-session-sharing.js';

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
 *
 * The seam for other eras: {@linkcode createUpstreamRoute} is the HTTP-level pass-through for 2025
 * Streamable HTTP upstreams (the fastest and most transparent path). A 2024 HTTP+SSE or a
 * 2026-07-28 stateless upstream will get a route of its own that implements this interface on the
 * message-level contract of src/upstream/upstream.ts (one `Upstream` per client session, its sink
 * writing JSON or SSE answers to the client), chosen per upstream from its configured or probed era.
 */
export interface UpstreamRoute {
  readonly name: string;
  /** Whether its upstream sessions live in this process only (then shutdown ends them even with a shared store). */
  readonly localSessions: boolean;
  handle(request: RouteRequest): Promise<void>;
  /** Ends the upstream sessions this process holds (DELETE, bounded). */
  endSessions(): Promise<number>;
}

interface RouteContext {
  readonly options: ResolvedGatewayOptions;
  readonly store: SessionStore;
  readonly tokens: SessionTokens;
  readonly metrics: GatewayMetrics;
}

// Request headers a client may pass to the upstream: what MCP's Streamable HTTP transport defines,
// plus every other `Mcp-*` header (2026-07-28 adds `Mcp-Method` and `Mcp-Name`, and later
// revisions may add more). Never the client's session id: the upstream gets its own.
const PASSED_REQUEST_HEADERS = ['accept', 'content-type', 'last-event-id'];
// Answer headers passed back, plus `Mcp-*` ones; never the upstream's session id (the client gets the gateway's).
const PASSED_ANSWER_HEADERS = ['content-type', 'cache-control', 'retry-after'];
const isPassedMcpHeader = (name: string) => name.startsWith('mcp-') && name !== 'mcp-session-id';
const SESSION_NOT_FOUND = -32001;
// A re-initialization is initialize, initialized and the state restore, each bounded by the timeout.
const HANDSHAKE_STEPS = 3;

/** What this process knows of a client session it served lately. */
interface SessionHere {
  /** What its session id carries: what rebuilds the session when the store lost it. */
  readonly claims: SessionClaims;
  readonly caller: string;
  /** Responses in progress. */
  responses: number;
  /** When this process last restarted the record's idle TTL (0: never). */
  touchedAt: number;
}

/**
 * Forwards a client's HTTP exchanges to one upstream, at the HTTP level: the method, the MCP
 * headers and the body go on as they are, the answer (JSON or SSE) streams back as it arrives.
 * Nothing is parsed on the way but the little the gateway needs (is this an initialize? which
 * request ids get an error if the upstream cannot be reached?), so server-to-client requests,
 * their answers, notifications and the GET stream flow through untouched, and a 2026-07-28 client's
 * stateless requests (no session id) pass through as they are.
 *
 * Underneath, `withSessionRecovery` keeps each client session's upstream session alive: the client
 * holds the gateway's session id, the middleware the upstream's, and a lost upstream session is
 * re-initialized and the rejected request replayed without the client noticing.
 */
export function createUpstreamRoute(upstream: GatewayUpstream, context: RouteContext): UpstreamRoute {
  const { options, store, tokens, metrics } = context;
  const { log } = options;
  const name = upstream.name;
  const url = upstream.url.href;
  const where = describeUrl(url);
  const forwarded = [...PASSED_REQUEST_HEADERS, ...(upstream.forwardHeaders ?? []).map((header) => header.toLowerCase())];
  const forwardsCredentials = forwarded.includes('authorization');
  // What the upstream says may quote the gateway's own credentials: none of it reaches a client.
  const secrets = createSecretScrubber();
  for (const [header, value] of Object.entries(upstream.headers ?? {})) secrets.addHeader(header, value);
  for (const value of upstream.url.searchParams.values()) secrets.add(value);
  const http = (upstream.fetch ?? fetch) as AnyFetch;
  // Sessions this process served lately, by key; the oldest is forgotten first.
  const here = new Map<string, SessionHere>();
  // The middleware knows each session by its key, and finds the upstream session (opened by any
  // replica, or by none yet) in the store: any replica serves any request, and a lost upstream
  // session is re-initialized once for all of them.
  const recovering = withSessionRecovery({
    timeout: options.timeoutMs,
    onEvent: (event) => report(event),
    // The middleware keeps sessions in the order it met them: leave room beyond the store's cap.
    maxSessions: options.maxRecords * 2,
    sharing: sessionSharing(),
  })(http);
  const touchEvery = Math.min(options.sessionIdleTtlMs / 10, 60_000);

  function sessionSharing(): SessionSharing {
    const shared = createStoreSessionSharing({
      store,
      keyOf: (key) => key,
      // The store lost the record (emptied, expired, or a memory store that restarted): the
      // request's own session id rebuilds it.
      fallback: (key) => {
        const session = here.get(key);
        return session && { caller: session.caller, initializeParams: session.claims.initializeParams, createdAt: session.claims.issuedAt };
      },
      recoveryTimeoutMs: HANDSHAKE_STEPS * options.timeoutMs,
      tombstoneMs: options.sessionMaxAgeMs,
      onError: (error) => log.warn(`store: ${networkErrorText(error)}`, { upstream: name }),
    });
    return {
      ...shared,
      load: (key, endpoint) =>
        shared.load(key, endpoint).catch((error: unknown) => {
          throw new StoreUnreachableError(`the session store did not answer: ${networkErrorText(error, options.timeoutMs)}`, {
            cause: error,
          });
        }),
      async recover<T extends NewServerSession>(
        key: string,
        lost: string | undefined,
        reinitialize: (latest: SharedSessionState) => Promise<T>,
      ) {
        const outcome = await shared.recover(key, lost, reinitialize);
        // No upstream session was known for it: the store had lost the record.
        if (outcome.kind === 'reinitialized' && lost === undefined) {
          metrics.session(name, 'rebuilt');
          log.info('session rebuilt from its session id', { upstream: name, session: redactSessionId(key.slice(name.length + 1)) });
        }
        return outcome;
      },
    };
  }

  function report(event: LifelineEvent): void {
    metrics.recovery(name, event);
    switch (event.type) {
      case 'session-lost':
        log.info('upstream session lost', {
          upstream: name,
          rule: event.rule,
          status: event.status,
          request: event.rpcMethod ?? event.method,
        });
        return;
      case 'reinitialized':
        log.info('upstream session recovered', {
          upstream: name,
          ms: event.durationMs,
          session: `${event.previousSessionId}→${event.sessionId}`,
        });
        return;
      case 'session-adopted':
        log.info('upstream session adopted from another replica', {
          upstream: name,
          session: `${event.previousSessionId}→${event.sessionId}`,
        });
        return;
      case 'recovery-failed':
        log.warn(event.message, { upstream: name, code: event.code });
        return;
      default:
        log.debug(event.type, { upstream: name });
    }
  }

  function upstreamHeaders(req: IncomingMessage): Headers {
    const headers = new Headers();
    for (const [header, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && (forwarded.includes(header) || isPassedMcpHeader(header))) headers.set(header, value);
    }
    for (const [header, value] of Object.entries(upstream.headers ?? {})) headers.set(header, value);
    return headers;
  }

  function answerHeaders(response: Response, extra: Record<string, string>, token: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { ...extra };
    response.headers.forEach((value, header) => {
      if (PASSED_ANSWER_HEADERS.includes(header) || isPassedMcpHeader(header)) headers[header] = value;
    });
    if (forwardsCredentials) {
      const challenge = response.headers.get('www-authenticate');
      if (challenge !== null) headers['www-authenticate'] = challenge;
    }
    if (token !== undefined && response.headers.has('mcp-session-id')) headers['mcp-session-id'] = token;
    // Reverse proxies (nginx) must not buffer an event stream.
    if (headers['content-type']?.startsWith('text/event-stream')) headers['x-accel-buffering'] = 'no';
    return headers;
  }

  function refuse(request: RouteRequest, status: number, reason: RefusalReason, message: string): void {
    metrics.refused(reason);
    log.debug('request refused', { upstream: name, reason, status });
    const code = status === 404 ? SESSION_NOT_FOUND : -32000;
    sendJson(request.res, status, jsonRpcErrors(request.body, code, message) ?? jsonRpcError(code, message), request.answerHeaders);
  }

  /**
   * Sends one exchange upstream; resolves with the answer, or undefined when the client already got
   * an error instead (upstream unreachable, recovery impossible) or went away.
   */
  async function send(request: RouteRequest, headers: Headers, via: AnyFetch): Promise<Response | undefined> {
    const { req, res } = request;
    const method = req.method ?? 'GET';
    // When the client leaves, the upstream exchange ends too: a GET stream never ends on its own,
    // and a POST whose upstream hangs would otherwise hold its connection with no bound.
    const abort = new AbortController();
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
      });
    } catch (error) {
      if (abort.signal.aborted) return undefined;
      metrics.upstreamError(name);
      const text = explain(error);
      log.warn(secrets.scrub(text), { upstream: name });
      failed(request, 502, `mcp-lifeline: ${text}`);
      return undefined;
    }
    if ((response.status === 401 || response.status === 403) && !forwardsCredentials) {
      // The upstream refused the gateway's own credentials: the client cannot fix that, its operator can.
      const said = (await response.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 160);
      const text = `${where} refused the gateway's credentials for upstream "${name}": HTTP ${response.status}${said ? ` "${said}"` : ''}. Check the headers configured for it.`;
      log.error(secrets.scrub(text), { upstream: name });
      failed(request, 502, `mcp-lifeline: ${text}`);
      return undefined;
    }
    return response;
  }

  /** A failure to reach the upstream, in words: a lost-session error or a sign-in error says it all itself. */
  function explain(error: unknown): string {
    if (isLifelineError(error) || isSignInError(error) || error instanceof StoreUnreachableError) return (error as Error).message;
    return `cannot reach ${where}: ${networkErrorText(error, options.timeoutMs)}`;
  }

  /** Streams an upstream answer to the client as it arrives. */
  async function deliver(request: RouteRequest, response: Response, token: string | undefined): Promise<void> {
    try {
      await pipeResponse(request.res, response, answerHeaders(response, request.answerHeaders, token));
    } catch (error) {
      // The answer broke off before any of it reached the client (or a recovery inside it failed).
      metrics.upstreamError(name);
      const text = isLifelineError(error) ? error.message : `${where} broke off its answer: ${networkErrorText(error, options.timeoutMs)}`;
      log.warn(secrets.scrub(text), { upstream: name });
      failed(request, 502, `mcp-lifeline: ${text}`);
    }
  }

  function failed(request: RouteRequest, status: number, raw: string): void {
    if (request.res.headersSent) {
      request.res.destroy();
      return;
    }
    const message = secrets.scrub(raw);
    const answers = jsonRpcErrors(request.body, -32000, message);
    // A host shows a JSON-RPC error next to the call; anything else gets the HTTP status.
    if (answers !== null) sendJson(request.res, 200, answers, request.answerHeaders);
    else sendJson(request.res, status, jsonRpcError(-32000, message), request.answerHeaders);
  }

  /**
   * The client's initialize: open an upstream session and hand the client a session id of the
   * gateway's own. Sent as it is (the middleware meets the session on its first request, in the store).
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
    const headers = upstreamHeaders(request.req);
    const response = await send(request, headers, http);
    if (response === undefined) return;
    const serverId = response.ok ? response.headers.get('mcp-session-id') : null;
    // No session id: a stateless upstream; nothing to keep, and no session limit to count against.
    if (serverId === null) return deliver(request, response, undefined);
    if (!(await store.admit(request.caller, key, options.maxSessionsPerCaller))) {
      await response.body?.cancel().catch(() => {});
      // End the session the upstream just opened: the client never learns of it.
      await http(url, { method: 'DELETE', headers: withSession(headers, serverId), signal: AbortSignal.timeout(options.timeoutMs) })
        .then((answer) => answer.body?.cancel())
        .catch(() => {});
      log.warn('session limit reached', { upstream: name, caller: request.caller, limit: options.maxSessionsPerCaller });
      refuse(
        request,
        429,
        'sessions-per-caller',
        `mcp-lifeline: caller "${request.caller}" already has ${options.maxSessionsPerCaller} open sessions on this gateway; end one (DELETE) or wait until one has been idle for the session TTL`,
      );
      return;
    }
    await store.put(key, {
      caller: request.caller,
      initializeParams: params,
      serverId,
      protocolVersion: undefined,
      logLevel: undefined,
      subscriptions: [],
      createdAt: issuedAt,
    });
    remember(key, { claims, caller: request.caller, responses: 0, touchedAt: issuedAt });
    metrics.session(name, 'opened');
    log.debug('session opened', { upstream: name, caller: request.caller, session: redactSessionId(sid) });
    await deliver(request, response, token);
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
    let session = here.get(key);
    if (session === undefined) {
      // A session this process has not served lately: refused when its client ended it (on any replica).
      if (await store.isEnded(key)) {
        refuse(request, 404, 'ended-session', 'Session not found (ended)');
        return;
      }
      session = here.get(key) ?? remember(key, { claims, caller: request.caller, responses: 0, touchedAt: 0 });
    }
    if (session.responses >= options.maxStreamsPerSession) {
      refuse(request, 429, 'streams-per-session', `mcp-lifeline: this session already has ${session.responses} responses in progress`);
      return;
    }
    session.responses += 1;
    try {
      touch(key, session);
      // The middleware finds the upstream session by the key, and re-initializes it when it is lost.
      const response = await send(request, withSession(upstreamHeaders(request.req), key), recovering);
      if (response === undefined) return;
      await deliver(request, response, token);
      if (request.req.method === 'DELETE' && (response.ok || response.status === 405)) {
        // The middleware wrote the tombstone to the store (sharing.ended).
        here.delete(key);
        metrics.session(name, 'ended');
      }
    } finally {
      session.responses -= 1;
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
    store.touch(key).catch((error: unknown) => log.warn(`store: ${networkErrorText(error)}`));
  }

  return {
    name,
    // The upstream sessions live in the store: with a shared one, other replicas carry them on.
    localSessions: false,
    async handle(request) {
      const token = headerValue(request.req, 'mcp-session-id');
      if (token !== undefined) return continueSession(request, token);
      const params = request.req.method === 'POST' && request.body !== undefined ? initializeParamsOf(request.body) : undefined;
      if (params !== undefined) return open(request, params.params);
      // No session: a stateless exchange (a 2026-07-28 client, or a server that issues no ids).
      const response = await send(request, upstreamHeaders(request.req), http);
      if (response !== undefined) await deliver(request, response, undefined);
    },
    async endSessions() {
      const keys = (await store.keys()).filter((key) => key.startsWith(`${name}/`));
      const headers = new Headers(upstream.headers ?? {});
      let ended = 0;
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
            }).catch(() => undefined);
            await answer?.body?.cancel().catch(() => {});
            if (answer?.ok) ended += 1;
          }),
        );
      }
      return ended;
    },
  };
}

function withSession(headers: Headers, sessionId: string): Headers {
  const copy = new Headers(headers);
  copy.set('mcp-session-id', sessionId);
  return copy;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
