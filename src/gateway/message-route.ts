import { type JsonRpcMessage, messagesIn, NotJson, parseJson } from '../shared/json-rpc.js';
import { describeUrl, redactSessionId } from '../shared/redact.js';
import type { EraChoice } from '../upstream/negotiate.js';
import { createToolFilter } from '../upstream/tool-filter.js';
import type { GatewayUpstream } from './gateway-options.js';
import { jsonRpcError, sendJson } from './http-exchange.js';
import { createMessageSession, type MessageSession, upstreamErrorText } from './message-session.js';
import { createMessageSessions } from './message-sessions.js';
import type { RouteContext, RouteRequest, UpstreamRoute } from './route.js';
import { upstreamScrubber } from './route-secrets.js';
import { newSessionKey, TokenTooLargeError } from './session-token.js';

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
export function createMessageRoute(upstream: GatewayUpstream, era: EraChoice, context: RouteContext): UpstreamRoute {
  const { options, store, tokens, metrics, ended, admission } = context;
  const { log } = options;
  const name = upstream.name;
  const where = describeUrl(upstream.url.href);
  // Everything the upstream says reaches the client without the gateway's secrets.
  const scrub = upstreamScrubber(upstream) ?? ((text: string) => text);
  const tools = createToolFilter({ ignore: upstream.ignoreTools, allow: upstream.allowTools });
  const sessionContext = {
    upstream,
    era,
    timeoutMs: options.timeoutMs,
    restartWindowMs: options.restartWindowMs,
    maxMessageBytes: options.maxMessageBytes,
    scrub,
    log,
    tools,
  };
  const sessions = createMessageSessions(sessionContext, { where, metrics });

  // A session ended anywhere: this process lets go of its upstream session for it.
  ended.onEnded((key) => {
    void sessions.take(key)?.release();
  });

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
    const session = createMessageSession(sessionContext);
    const answers = await answer(request, session, messages);
    const failed = answers === undefined || (/"error"\s*:/.test(answers[0] ?? '') && !/"result"\s*:/.test(answers[0] ?? ''));
    if (failed) {
      await admission.release(request.caller, key).catch(() => {});
      await session.upstream.close();
      if (answers === undefined) return;
    } else {
      sessions.add(key, session);
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
    sendAnswers(request, answers, messages, { token: failed ? undefined : token, scrub });
  }

  /** The answers to `messages`, or undefined when the client got a 502 instead (or went away). */
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
      return await session.exchange(messages, abort.signal);
    } catch (error) {
      if (abort.signal.aborted) return undefined;
      upstreamFailed(request, error);
      return undefined;
    }
  }

  function upstreamFailed(request: RouteRequest, error: unknown): void {
    metrics.upstreamError(name);
    const text = scrub(upstreamErrorText(error));
    log.warn(text, { upstream: name });
    sendJson(request.res, 502, jsonRpcError(-32000, `mcp-lifeline: ${text}`), request.answerHeaders);
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
      session = await sessions.rebuilt(key, claims);
    } catch (error) {
      upstreamFailed(request, error);
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
    const done = session.begin();
    try {
      await serveExchange(request, token, session);
    } finally {
      done();
    }
  }

  /** Ends a session for its client: refused everywhere from now on; whichever replica holds its upstream session ends it. */
  async function terminate(key: string): Promise<void> {
    await ended.end(key);
    metrics.session(name, 'ended');
  }

  async function serveExchange(request: RouteRequest, token: string, session: MessageSession): Promise<void> {
    const { req, res } = request;
    if (req.method === 'GET') return session.stream(res, request.answerHeaders);
    const messages = parseMessages(request.body);
    if (messages === undefined) {
      sendJson(res, 400, jsonRpcError(-32700, 'Parse error: the body is not JSON-RPC'), request.answerHeaders);
      return;
    }
    const answers = await answer(request, session, messages);
    if (answers !== undefined) sendAnswers(request, answers, messages, { token, scrub });
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
      const all = sessions.takeAll();
      await Promise.all(all.map((session) => session.end()));
      return all.length;
    },
  };
}

/** The answers to a POST: 202 when it held no request, else JSON (an array when the client sent a batch). */
function sendAnswers(
  request: RouteRequest,
  answers: readonly string[],
  messages: readonly JsonRpcMessage[],
  options: { readonly token: string | undefined; readonly scrub: (text: string) => string },
): void {
  const headers: Record<string, string> = {
    ...request.answerHeaders,
    ...(options.token === undefined ? {} : { 'mcp-session-id': options.token }),
  };
  if (answers.length === 0) {
    request.res.writeHead(202, headers).end();
    return;
  }
  const batch = request.body?.toString('utf8').trimStart().startsWith('[') ?? false;
  const text = options.scrub(batch || messages.length > 1 ? `[${answers.join(',')}]` : (answers[0] as string));
  request.res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  request.res.end(text);
}

function parseMessages(body: Buffer | undefined): JsonRpcMessage[] | undefined {
  if (body === undefined || body.length === 0) return undefined;
  const parsed = parseJson(body.toString('utf8'));
  if (parsed instanceof NotJson) return undefined;
  const list = messagesIn(parsed);
  return list.every((item) => typeof item === 'object' && item !== null) ? (list as JsonRpcMessage[]) : undefined;
}
