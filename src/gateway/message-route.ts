import type { ServerResponse } from 'node:http';
import { networkErrorText } from '../errors/network-error-text.js';
import { type JsonRpcId, type JsonRpcMessage, idKey as keyOf, messagesIn, NotJson, parseJson } from '../shared/json-rpc.js';
import { describeUrl, redactSessionId } from '../shared/redact.js';
import { scrubberForRequest } from '../shared/secret-scrubber.js';
import { createLegacySseUpstream } from '../upstream/legacy-sse.js';
import { createNegotiatingUpstream, type ProtocolChoice, type TransportChoice } from '../upstream/negotiate.js';
import { createStatelessUpstream } from '../upstream/stateless.js';
import { createStreamableHttpUpstream } from '../upstream/streamable-http.js';
import { type RawMessage, type Upstream, UpstreamError, type UpstreamSink } from '../upstream/upstream.js';
import type { GatewayUpstream } from './gateway-options.js';
import { jsonRpcError, sendJson } from './http-exchange.js';
import { newSessionKey, type SessionClaims, TokenTooLargeError } from './session-token.js';
import type { RouteContext, RouteRequest, UpstreamRoute } from './upstream-route.js';

/** Which era an upstream speaks, for {@linkcode createMessageRoute}. */
export interface UpstreamEraChoice {
  readonly protocol: ProtocolChoice;
  readonly transport: TransportChoice;
}

/** One client session on this process, and its upstream of whatever era. */
interface MessageSession {
  readonly upstream: Upstream;
  /** POSTs waiting for the answer to a request, by id. */
  readonly waiters: Map<string, (message: JsonRpcMessage, raw: string | undefined) => void>;
  /** The client's GET stream, where server requests and notifications go. */
  stream: ServerResponse | undefined;
  /** Server messages that came while no GET stream was open (bounded in count and bytes). */
  readonly backlog: string[];
  backlogBytes: number;
  /** Called at the adapter's next `session-recovered` event. */
  readonly onRecovered: (() => void)[];
  /** Client requests (POSTs and the GET stream) in progress. */
  open: number;
}

// Server requests and notifications held for a client that has not opened its GET stream yet:
// at most this many, and at most `maxMessageBytes` in all.
const BACKLOG_LIMIT = 256;

/**
 * The route for upstreams that do not speak 2025 Streamable HTTP (or whose era is found out at the
 * client's `initialize`): a 2024-11-05 HTTP+SSE server, or a 2026-07-28 stateless one, behind the
 * same Streamable HTTP endpoint 2025-era hosts already use. Unlike the pass-through route, it works
 * at the message level, on the era adapters of src/upstream (the `Upstream` contract): one
 * upstream per client session, POST answers as JSON, server requests and notifications on the
 * client's GET stream.
 *
 * Its sessions live in this process: an era upstream holds a connection (an SSE stream) or per-host
 * state that cannot move to another replica. A session id this process does not know (another
 * replica, a restart) still opens: its upstream is rebuilt from the client's initialize params it
 * carries, as the pass-through route does.
 */
export function createMessageRoute(upstream: GatewayUpstream, era: UpstreamEraChoice, context: RouteContext): UpstreamRoute {
  const { options, store, tokens, metrics, ended, admission } = context;
  const { log } = options;
  const name = upstream.name;
  const where = describeUrl(upstream.url.href);
  const sessions = new Map<string, MessageSession>();
  const opening = new Map<string, Promise<MessageSession>>();
  const secrets = scrubberForRequest(upstream.headers ?? {}, upstream.url);
  // Everything the upstream says reaches the client without the gateway's secrets.
  const scrub = (text: string) => (upstream.scrub === undefined ? secrets.scrub(text) : upstream.scrub(secrets.scrub(text)));
  const bound = options.maxMessageBytes;
  let lastId = 0;

  // A session ended anywhere: this process lets go of its upstream session for it.
  ended.onEnded((key) => {
    const session = sessions.get(key);
    if (session === undefined) return;
    sessions.delete(key);
    void release(session);
  });

  async function release(session: MessageSession): Promise<void> {
    session.stream?.end();
    await session.upstream.end().catch(() => {});
    await session.upstream.close().catch(() => {});
  }

  function createSession(): MessageSession {
    const session: MessageSession = {
      upstream: undefined as unknown as Upstream,
      waiters: new Map(),
      stream: undefined,
      backlog: [],
      backlogBytes: 0,
      onRecovered: [],
      open: 0,
    };
    const sink: UpstreamSink = {
      message(message, raw) {
        const waiter =
          message.method === undefined && message.id !== undefined && message.id !== null
            ? session.waiters.get(keyOf(message.id))
            : undefined;
        if (waiter !== undefined) {
          session.waiters.delete(keyOf(message.id as JsonRpcId));
          waiter(message, rawText(raw));
          return;
        }
        const text = scrub(rawText(raw) ?? JSON.stringify(message));
        const event = `event: message\ndata: ${text}\n\n`;
        if (session.stream !== undefined && !session.stream.destroyed) session.stream.write(event);
        else if (session.backlog.length < BACKLOG_LIMIT && session.backlogBytes + event.length <= bound) {
          session.backlog.push(event);
          session.backlogBytes += event.length;
        }
      },
      event(event) {
        if (event.type === 'session-recovered') for (const wake of session.onRecovered.splice(0)) wake();
        const fields = { upstream: name, type: event.type, ...event.fields };
        if (event.level === 'error') log.error(scrub(event.message), fields);
        else if (event.level === 'warn') log.warn(scrub(event.message), fields);
        else if (event.level === 'info') log.info(scrub(event.message), fields);
        else log.debug(scrub(event.message), fields);
      },
    };
    (session as { upstream: Upstream }).upstream = createNegotiatingUpstream({
      url: upstream.url,
      headers: upstream.headers ?? {},
      fetch: upstream.fetch ?? globalThis.fetch,
      timeoutMs: options.timeoutMs,
      sink,
      protocol: era.protocol,
      transport: era.transport,
      // The gateway's message bound on every era (the adapters' own defaults are larger).
      factories: {
        streamableHttp: (adapter) => createStreamableHttpUpstream({ ...adapter, maxMessageBytes: bound }),
        legacySse: (adapter) => createLegacySseUpstream({ ...adapter, maxMessageSize: bound }),
        stateless: (adapter) => createStatelessUpstream({ ...adapter, maxMessageSize: bound }),
      },
    });
    return session;
  }

  /** Sends messages and waits for the answers to the requests among them. */
  async function exchange(session: MessageSession, messages: readonly JsonRpcMessage[], signal: AbortSignal): Promise<string[]> {
    const answers: Promise<string>[] = [];
    for (const message of messages) {
      const isRequest = message.method !== undefined && message.id !== undefined && message.id !== null;
      if (isRequest) {
        const id = message.id as JsonRpcId;
        answers.push(
          new Promise<string>((resolve) => {
            session.waiters.set(keyOf(id), (answer, raw) => resolve(raw ?? JSON.stringify(answer)));
            signal.addEventListener('abort', () => session.waiters.delete(keyOf(id)), { once: true });
          }),
        );
      }
      try {
        await sendOnce(session, message, signal);
      } catch (error) {
        if (!isRequest) throw error;
        const id = message.id as JsonRpcId;
        session.waiters.get(keyOf(id))?.(
          { jsonrpc: '2.0', id, error: { code: -32000, message: `mcp-lifeline: ${scrub(errorText(error))}` } },
          undefined,
        );
        session.waiters.delete(keyOf(id));
      }
    }
    return Promise.all(answers);
  }

  /**
   * Sends a message; when the adapter says it was not sent because its session is being recovered
   * (the server restarted, its stream is re-opening), waits for the recovery (bounded) and sends it
   * once more: the host should not see a gap the adapter closes a moment later.
   */
  async function sendOnce(session: MessageSession, message: JsonRpcMessage, signal: AbortSignal): Promise<void> {
    try {
      await session.upstream.send(message, { signal });
    } catch (error) {
      if (!(error instanceof UpstreamError) || error.mayHaveRun || signal.aborted) throw error;
      const recovered = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), options.timeoutMs);
        session.onRecovered.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!recovered) throw error;
      await session.upstream.send(message, { signal });
    }
  }

  async function open(request: RouteRequest, messages: JsonRpcMessage[], initialize: JsonRpcMessage): Promise<void> {
    const sid = newSessionKey();
    const issuedAt = Date.now();
    let token: string;
    try {
      token = tokens.seal({ sid, initializeParams: initialize.params ?? {}, issuedAt }, { upstream: name, caller: request.caller });
    } catch (error) {
      if (!(error instanceof TokenTooLargeError)) throw error;
      sendJson(request.res, 400, jsonRpcError(-32000, `mcp-lifeline: ${error.message}`), request.answerHeaders);
      return;
    }
    const key = `${name}/${sid}`;
    if (!(await admission.admit(request.caller, key))) {
      metrics.refused('sessions-per-caller');
      sendJson(
        request.res,
        429,
        jsonRpcError(-32000, `mcp-lifeline: caller "${request.caller}" already has ${options.maxSessionsPerCaller} open sessions`),
        request.answerHeaders,
      );
      return;
    }
    const session = createSession();
    const answers = await answer(request, session, messages);
    const failed = answers === undefined || (/"error"\s*:/.test(answers[0] ?? '') && !/"result"\s*:/.test(answers[0] ?? ''));
    if (failed) {
      await admission.release(request.caller, key).catch(() => {});
      await session.upstream.close();
      if (answers === undefined) return;
    } else {
      sessions.set(key, session);
      ended.opened(key);
      await store.put(key, {
        caller: request.caller,
        initializeParams: initialize.params ?? {},
        serverId: undefined,
        protocolVersion: undefined,
        logLevel: undefined,
        subscriptions: [],
        createdAt: issuedAt,
      });
      metrics.session(name, 'opened');
      log.debug('session opened', { upstream: name, era: session.upstream.era, session: redactSessionId(sid) });
    }
    reply(request, answers, messages, failed ? undefined : token);
  }

  /** A session this process does not hold: rebuild its upstream from the client's initialize params. */
  function sessionFor(key: string, claims: SessionClaims): Promise<MessageSession> {
    const known = sessions.get(key);
    if (known !== undefined) return Promise.resolve(known);
    let pending = opening.get(key);
    if (pending === undefined) {
      pending = (async () => {
        const session = createSession();
        const id = `mcp-lifeline-gateway-initialize-${++lastId}`;
        const signal = AbortSignal.timeout(options.timeoutMs * 2);
        const [answer] = await exchange(
          session,
          [{ jsonrpc: '2.0', id, method: 'initialize', params: claims.initializeParams as Record<string, unknown> }],
          signal,
        );
        if (answer === undefined || !/"result"\s*:/.test(answer)) {
          await session.upstream.close();
          throw new Error(`${where} refused to open the session again: ${(answer ?? 'no answer').slice(0, 200)}`);
        }
        await session.upstream.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        sessions.set(key, session);
        metrics.session(name, 'rebuilt');
        log.info('session rebuilt from its session id', {
          upstream: name,
          era: session.upstream.era,
          session: redactSessionId(claims.sid),
        });
        return session;
      })().finally(() => opening.delete(key));
      opening.set(key, pending);
    }
    return pending;
  }

  async function answer(
    request: RouteRequest,
    session: MessageSession,
    messages: readonly JsonRpcMessage[],
  ): Promise<string[] | undefined> {
    const abort = new AbortController();
    request.res.once('close', () => {
      if (!request.res.writableFinished) abort.abort();
    });
    try {
      return await exchange(session, messages, abort.signal);
    } catch (error) {
      if (abort.signal.aborted) return undefined;
      metrics.upstreamError(name);
      const text = scrub(errorText(error));
      log.warn(text, { upstream: name });
      sendJson(request.res, 502, jsonRpcError(-32000, `mcp-lifeline: ${text}`), request.answerHeaders);
      return undefined;
    }
  }

  function reply(request: RouteRequest, answers: readonly string[], messages: readonly JsonRpcMessage[], token: string | undefined): void {
    const headers: Record<string, string> = { ...request.answerHeaders, ...(token === undefined ? {} : { 'mcp-session-id': token }) };
    if (answers.length === 0) {
      request.res.writeHead(202, headers).end();
      return;
    }
    const batch = request.body !== undefined && request.body.toString('utf8').trimStart().startsWith('[');
    const text = scrub(batch || messages.length > 1 ? `[${answers.join(',')}]` : (answers[0] as string));
    request.res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
    request.res.end(text);
  }

  async function continueSession(request: RouteRequest, token: string): Promise<void> {
    const { req, res } = request;
    const claims = tokens.open(token, { upstream: name, caller: request.caller });
    const key = claims === undefined ? undefined : `${name}/${claims.sid}`;
    if (claims === undefined || key === undefined || Date.now() - claims.issuedAt > options.sessionMaxAgeMs || (await ended.isEnded(key))) {
      metrics.refused('unknown-session');
      sendJson(res, 404, jsonRpcError(-32001, 'Session not found'), request.answerHeaders);
      return;
    }
    if (req.method === 'DELETE') {
      // The tombstone first: every replica lets go of the session (this one too, through onEnded).
      await terminate(key);
      res.writeHead(200, request.answerHeaders).end();
      return;
    }
    let session: MessageSession;
    try {
      session = await sessionFor(key, claims);
    } catch (error) {
      metrics.upstreamError(name);
      const text = scrub(errorText(error));
      log.warn(text, { upstream: name });
      sendJson(res, 502, jsonRpcError(-32000, `mcp-lifeline: ${text}`), request.answerHeaders);
      return;
    }
    if (session.open >= options.maxStreamsPerSession) {
      metrics.refused('streams-per-session');
      sendJson(
        res,
        429,
        jsonRpcError(-32000, `mcp-lifeline: this session already has ${session.open} responses in progress`),
        request.answerHeaders,
      );
      return;
    }
    session.open += 1;
    try {
      await serveExchange(request, token, session);
    } finally {
      session.open -= 1;
    }
  }

  /** Ends a session for its client: refused everywhere from now on; whichever replica holds its upstream session ends it. */
  async function terminate(key: string): Promise<void> {
    await ended.end(key);
    metrics.session(name, 'ended');
  }

  async function serveExchange(request: RouteRequest, token: string, session: MessageSession): Promise<void> {
    const { req, res } = request;
    if (req.method === 'GET') {
      res.writeHead(200, {
        ...request.answerHeaders,
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      session.stream?.end();
      session.stream = res;
      for (const event of session.backlog.splice(0)) res.write(event);
      session.backlogBytes = 0;
      await new Promise<void>((resolve) => res.once('close', () => resolve()));
      if (session.stream === res) session.stream = undefined;
      return;
    }
    const messages = parseMessages(request.body);
    if (messages === undefined) {
      sendJson(res, 400, jsonRpcError(-32700, 'Parse error: the body is not JSON-RPC'), request.answerHeaders);
      return;
    }
    const answers = await answer(request, session, messages);
    if (answers !== undefined) reply(request, answers, messages, token);
  }

  return {
    name,
    localSessions: true,
    async handle(request) {
      const token = request.req.headers['mcp-session-id'];
      if (typeof token === 'string' && token !== '') return continueSession(request, token);
      const messages = request.req.method === 'POST' ? parseMessages(request.body) : undefined;
      const initialize = messages?.find((message) => message.method === 'initialize');
      if (messages === undefined || initialize === undefined) {
        sendJson(request.res, 400, jsonRpcError(-32000, 'Bad Request: no session; send initialize first'), request.answerHeaders);
        return;
      }
      await open(request, messages, initialize);
    },
    terminate,
    async endSessions() {
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(
        all.map(async (session) => {
          session.stream?.end();
          await session.upstream.end();
          await session.upstream.close();
        }),
      );
      return all.length;
    },
  };
}

/** A message's serialized form as text, whichever shape the upstream handed it in. */
function rawText(raw: RawMessage | undefined): string | undefined {
  if (raw === undefined || typeof raw === 'string') return raw;
  return Buffer.concat(raw instanceof Uint8Array ? [raw] : [...raw]).toString('utf8');
}

function parseMessages(body: Buffer | undefined): JsonRpcMessage[] | undefined {
  if (body === undefined || body.length === 0) return undefined;
  const parsed = parseJson(body.toString('utf8'));
  if (parsed instanceof NotJson) return undefined;
  const list = messagesIn(parsed);
  return list.every((item) => typeof item === 'object' && item !== null) ? (list as JsonRpcMessage[]) : undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error && error.name === 'UpstreamError' ? error.message : networkErrorText(error);
}
