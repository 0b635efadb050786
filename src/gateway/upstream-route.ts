import { networkErrorText } from '../errors/network-error-text.js';
import type { AnyFetch } from '../recovery/outgoing-request.js';
import { noop } from '../shared/noop.js';
import { describeUrl, redactSessionId } from '../shared/redact.js';
import { createToolFilter } from '../upstream/tool-filter.js';
import { endStoredSessions, endUpstreamSession } from './end-upstream-session.js';
import type { GatewayUpstream } from './gateway-options.js';
import { refuseHiddenToolCalls } from './hidden-tool-calls.js';
import { initializeIn } from './http-exchange.js';
import { createPassThrough } from './pass-through.js';
import type { RouteContext, RouteRequest, UpstreamRoute } from './route.js';
import { createRouteRecovery } from './route-recovery.js';
import { upstreamScrubber } from './route-secrets.js';
import { newSessionKey, TokenTooLargeError } from './session-token.js';
import { createSessionsHere } from './sessions-here.js';
import { sharedDeadline } from './shared-deadline.js';
import { headerValue, type RequestHeaders, upstreamRequestHeaders } from './upstream-headers.js';

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
  const configured = upstream.headers ?? {};
  const forwarded = (upstream.forwardHeaders ?? []).map((header) => header.toLowerCase());
  // `redirect: 'manual'`: a redirect is never followed with the gateway's headers (the CLI's fetch follows none anyway).
  const http = (upstream.fetch ?? fetch) as AnyFetch;
  const here = createSessionsHere({
    maxRecords: options.maxRecords,
    // The record's idle TTL is restarted at most every tenth of it (or minute) per session and process.
    touchEveryMs: Math.min(options.sessionIdleTtlMs / 10, 60_000),
    // A failure is the store's outage, logged once by the gateway; the next request touches again.
    touchRecord: (key) => store.touch(key).catch((error: unknown) => log.debug(`store: ${networkErrorText(error)}`, { upstream: name })),
  });
  const tools = createToolFilter({ ignore: upstream.ignoreTools, allow: upstream.allowTools });
  // What the upstream says may quote the gateway's own credentials: none of it reaches a client.
  const exchange = createPassThrough(
    {
      name,
      url,
      where: describeUrl(url),
      forwardsCredentials: forwarded.includes('authorization'),
      scrub: upstreamScrubber(upstream),
      tools,
    },
    { options, metrics },
  );
  // The store lost the record (emptied, expired, or a memory store that restarted): the request's own session id rebuilds it.
  const recovering = createRouteRecovery(http, { name, options, store, metrics, fallback: here.fallback });
  const headersFor = (request: RouteRequest, sessionKey?: string) => upstreamRequestHeaders(request.req, forwarded, configured, sessionKey);
  // What bounds each DELETE of an upstream session (the timeout, give or take a hundredth of it).
  const endDeadline = sharedDeadline(options.timeoutMs);
  const endReport = { log, upstream: name, timeoutMs: options.timeoutMs };
  /** DELETE of an upstream session, bounded; the session is over for the client whatever the answer. */
  const endUpstream = (headers: RequestHeaders, serverId: string) =>
    endUpstreamSession(http, { url, headers, serverId, deadline: endDeadline }, endReport);

  // A session ended anywhere: its GET streams here end, and this process forgets it.
  ended.onEnded((key) => here.end(key));

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
    let sealToken: () => string;
    try {
      sealToken = tokens.sealer(claims, { upstream: name, caller: request.caller });
    } catch (error) {
      if (!(error instanceof TokenTooLargeError)) throw error;
      exchange.refuse(request, 400, 'session-id-too-large', `mcp-lifeline: ${error.message}`);
      return;
    }
    if (!(await admission.admit(request.caller, key))) {
      log.warn('session limit reached', { upstream: name, caller: request.caller, limit: options.maxSessionsPerCaller });
      exchange.refuse(
        request,
        429,
        'sessions-per-caller',
        `mcp-lifeline: caller "${request.caller}" already has ${options.maxSessionsPerCaller} open sessions on this gateway; end one (DELETE) or wait until one has been idle for the session TTL`,
      );
      return;
    }
    const headers = headersFor(request);
    let opened = false;
    try {
      // The session id (AES-GCM, a few tens of µs) is sealed while the upstream answers, off the
      // initialize's critical path: once the request has gone out, which with Node's HTTP client
      // is on the next tick (undici writes it at once), and before any answer can be read.
      const answered = exchange.send(request, headers, http);
      // Awaited once the id is sealed: meanwhile its failure is not an unhandled rejection.
      answered.catch(noop);
      let token: string;
      try {
        token = await afterThisTurn(sealToken);
      } catch (error) {
        void answered.then((response) => response?.body?.cancel().catch(noop), noop);
        throw error;
      }
      const response = await answered;
      if (response === undefined) return;
      const serverId = response.ok ? response.headers.get('mcp-session-id') : null;
      // No session id: a stateless upstream (or a refusal); nothing to keep, nothing to count.
      if (serverId === null) return await exchange.deliver(request, response, undefined);
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
      here.remember(key, claims, request.caller, issuedAt);
      metrics.session(name, 'opened');
      log.debug('session opened', { upstream: name, caller: request.caller, session: redactSessionId(sid) });
      await exchange.deliver(request, response, token);
    } finally {
      if (!opened) await admission.release(request.caller, key).catch(() => {});
    }
  }

  async function continueSession(request: RouteRequest, token: string): Promise<void> {
    const claims = tokens.open(token, { upstream: name, caller: request.caller });
    if (claims === undefined) {
      // Forged, altered, sealed with a retired key, or issued to another caller or upstream: the
      // spec's answer for a session the server does not know (the client re-initializes).
      exchange.refuse(request, 404, 'unknown-session', 'Session not found');
      return;
    }
    if (Date.now() - claims.issuedAt > options.sessionMaxAgeMs) {
      exchange.refuse(request, 404, 'expired-session', 'Session not found (expired: it is older than the gateway allows)');
      return;
    }
    const key = `${name}/${claims.sid}`;
    // Ended by its client, on any replica: refused before anything reaches the upstream.
    const endedNow = ended.isEnded(key);
    if (endedNow === true || (endedNow !== false && (await endedNow))) {
      here.forget(key);
      exchange.refuse(request, 404, 'ended-session', 'Session not found (ended)');
      return;
    }
    if (request.req.method === 'DELETE') return endByClient(request, key);
    const session = here.find(key) ?? here.remember(key, claims, request.caller, 0);
    if (session.responses >= options.maxStreamsPerSession) {
      exchange.refuse(
        request,
        429,
        'streams-per-session',
        `mcp-lifeline: this session already has ${session.responses} responses in progress`,
      );
      return;
    }
    // A GET stream is ended with its session: it gets a controller of its own for that.
    const stream = request.req.method === 'GET' ? { res: request.res, exchange: new AbortController() } : undefined;
    const done = here.begin(key, session, stream);
    try {
      // The middleware finds the upstream session by the key, and re-initializes it when it is lost.
      const response = await exchange.send(request, headersFor(request, key), recovering, stream?.exchange);
      if (response === undefined) return;
      await exchange.deliver(request, response, token);
    } finally {
      done();
    }
  }

  /** The client's DELETE: the session ends for every replica whatever the upstream says to it. */
  async function endByClient(request: RouteRequest, key: string): Promise<void> {
    await terminate(key, headersFor(request));
    request.res.writeHead(200, request.answerHeaders).end();
  }

  /**
   * Ends a session: the tombstone first (every replica refuses the session from then on, and lets
   * go of what it holds for it), then its upstream session, with the id the store has for it.
   */
  async function terminate(key: string, headers: RequestHeaders = configured): Promise<void> {
    const record = await store.get(key);
    await ended.end(key);
    metrics.session(name, 'ended');
    if (record?.serverId !== undefined) await endUpstream(headers, record.serverId);
  }

  return {
    name,
    // The upstream sessions live in the store: with a shared one, other replicas carry them on.
    localSessions: false,
    async handle(request) {
      if (tools !== undefined && refuseHiddenToolCalls(request, tools)) return;
      const token = headerValue(request.req, 'mcp-session-id');
      if (token !== undefined) return continueSession(request, token);
      const params = request.req.method === 'POST' ? initializeIn(request.body) : undefined;
      if (params !== undefined) return open(request, params.params);
      // No session: a stateless exchange (a 2026-07-28 client, or a server that issues no ids).
      const response = await exchange.send(request, headersFor(request), http);
      if (response !== undefined) await exchange.deliver(request, response, undefined);
    },
    terminate: (key) => terminate(key),
    endSessions: () =>
      endStoredSessions(http, store, { prefix: `${name}/`, url, headers: new Headers(configured), timeoutMs: options.timeoutMs }),
  };
}

/**
 * `work`'s result, done at the end of this turn of the event loop (`setImmediate`): after what
 * this turn started has run (the next ticks, the writes they make), before any I/O of the next.
 */
function afterThisTurn<T>(work: () => T): Promise<T> {
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        resolve(work());
      } catch (error) {
        reject(error);
      }
    }),
  );
}
