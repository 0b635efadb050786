import { classifySessionLoss } from '../classifier/classify-session-loss.js';
import { abortable } from '../shared/abortable.js';
import { type BackoffOptions, backoffDelay, withBackoffDefaults } from '../shared/backoff.js';
import { idKey, isAnswer, isRequest, type JsonRpcMessage, LIFELINE_ERROR } from '../shared/json-rpc.js';
import { readTextPrefix } from '../shared/read-prefix.js';
import { describeUrl, redactIds } from '../shared/redact.js';
import { scrubberForRequest } from '../shared/secret-scrubber.js';
import { excerpt, responseExcerpt } from '../shared/server-text.js';
import { sleep } from '../shared/timers.js';
import { fetchFailureText } from './fetch-failure-text.js';
import { createHostState, recordAcceptedState } from './host-state.js';
import { type LegacySseStream, openLegacySseStream } from './legacy-sse-stream.js';
import { announceListChanges } from './list-changes.js';
import { RECONNECT_BACKOFF } from './reconnect-backoff.js';
import { followSameOriginRedirects } from './same-origin-redirects.js';
import { type SendOptions, type Upstream, UpstreamError, type UpstreamOptions } from './upstream.js';
import { eventReporter } from './upstream-events.js';

/** Options of {@linkcode createLegacySseUpstream}. */
export interface LegacySseUpstreamOptions extends UpstreamOptions {
  /**
   * Delays between attempts to re-open the stream after it dropped.
   * @default RECONNECT_BACKOFF (500 ms doubling to 30 s, less up to 20 %)
   */
  readonly reconnect?: BackoffOptions | undefined;
  /**
   * Largest SSE event accepted, in characters; a larger one breaks the stream.
   * @default 16 MiB
   */
  readonly maxMessageSize?: number | undefined;
}

const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

/** One open stream and the session its endpoint names. */
interface Connection {
  readonly stream: LegacySseStream;
  readonly generation: number;
}

/** A host request sent on a connection, waiting for its answer on that connection's stream. */
interface Pending {
  readonly generation: number;
  readonly message: JsonRpcMessage;
}

/**
 * The 2024-11-05 HTTP+SSE transport (GET opens the stream; an `endpoint` event names the POST
 * URL and session; POSTs are answered 202 and replies come on the stream), with the session
 * recovery the middleware gives Streamable HTTP:
 *
 * - the stream drops (server restart): requests the server had accepted get an error answer
 *   (they may have run; never sent again); the stream is re-opened in the background with
 *   backoff, and the new session is initialized with the host's own `initialize`, its
 *   `notifications/initialized`, log level and resource subscriptions;
 * - a POST is refused with a lost-session answer (404, 400 dialects, per the classifier): that
 *   answer proves the message did not run, so a new session is opened and the message is sent
 *   once more, never a third time.
 */
export function createLegacySseUpstream(options: LegacySseUpstreamOptions): Upstream {
  const where = describeUrl(options.url.href);
  const scrub = scrubberForRequest(options.headers).scrub;
  const report = eventReporter(options.sink, scrub);
  // Credentials belong to the server's origin: redirects elsewhere are refused, never followed.
  const fetch = followSameOriginRedirects(options.fetch);
  const backoff = withBackoffDefaults(options.reconnect, RECONNECT_BACKOFF);
  const maxEventSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const state = createHostState();
  const pending = new Map<string, Pending>();
  const ownAnswers = new Map<string, (answer: JsonRpcMessage) => void>();
  const lifetime = new AbortController();
  // Server-to-host requests of the current session, by key: the host's answers go to it alone.
  let serverRequests = new Map<string, string | number>();
  let serverCapabilities: unknown;
  let hostInitialized = false;
  let generation = 0;
  let connection: Connection | undefined;
  let opening: Promise<Connection> | undefined;
  let reconnecting: Promise<Connection> | undefined;
  let lastId = 0;
  let order: Promise<void> = Promise.resolve();

  const post = (endpoint: URL, body: string, signal: AbortSignal) =>
    fetch(endpoint, {
      method: 'POST',
      headers: { ...options.headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
      signal,
    });

  function onServerMessage(from: number, message: JsonRpcMessage, raw: string): void {
    if (from !== generation) return;
    if (isAnswer(message)) {
      const key = idKey(message.id);
      const own = ownAnswers.get(key);
      if (own !== undefined) {
        own(message);
        return;
      }
      const request = pending.get(key);
      if (request === undefined) {
        report('debug', 'message-dropped', 'an answer to no pending request was dropped', { id: String(message.id) });
        return;
      }
      pending.delete(key);
      if (message.result !== undefined) {
        recordAcceptedState(state, request.message);
        if (request.message.method === 'initialize') serverCapabilities = (message.result as Record<string, unknown>)['capabilities'];
      }
    } else if (isRequest(message)) {
      serverRequests.set(idKey(message.id), message.id);
    }
    options.sink.message(message, raw);
  }

  async function openConnection(): Promise<Connection> {
    const current = ++generation;
    serverRequests = new Map();
    const stream = await openLegacySseStream({
      url: options.url,
      headers: options.headers,
      fetch,
      timeoutMs: options.timeoutMs,
      maxEventSize,
      scrub,
      ready: options.sink.ready,
      onMessage: (message, raw) => onServerMessage(current, message, raw),
    });
    const opened = { stream, generation: current };
    stream.ended.then(
      () => onStreamLost(opened, 'the server closed the stream'),
      (error: unknown) => onStreamLost(opened, fetchFailureText(error)),
    );
    return opened;
  }

  /** The current stream ended: what it owed the host is answered, and a new one is opened. */
  function onStreamLost(lost: Connection, why: string): void {
    if (lifetime.signal.aborted || connection !== lost) return;
    connection = undefined;
    report('warn', 'stream-lost', `the server's SSE stream at ${where} ended (${why}); opening a new session`, {});
    abandon(lost.generation, `the server's SSE stream ended (${why})`);
    reconnectInBackground();
  }

  /**
   * The session of `lost` is gone: requests the server accepted on it may have run, so they are
   * answered with an error, never sent again; server requests to the host are withdrawn.
   */
  function abandon(lost: number, why: string): void {
    for (const [key, request] of pending) {
      if (request.generation > lost) continue;
      pending.delete(key);
      const method = request.message.method ?? 'the request';
      report('warn', 'request-lost', `${method} was accepted by the server but its answer was lost`, { method });
      options.sink.message({
        jsonrpc: '2.0',
        id: request.message.id ?? null,
        error: {
          code: LIFELINE_ERROR,
          message: `mcp-lifeline: ${why} before the answer to ${method} arrived; the server had accepted it, so it may or may not have run, and it was not sent again`,
        },
      });
    }
    for (const requestId of serverRequests.values()) {
      options.sink.message({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: why } });
    }
    serverRequests = new Map();
  }

  /** Opens a new stream and session: the host's initialize, initialized, log level, subscriptions. */
  async function openSession(reason: string): Promise<Connection> {
    const started = Date.now();
    const previous = connection;
    connection = undefined;
    previous?.stream.close();
    if (previous !== undefined) abandon(previous.generation, 'the session was replaced');
    const opened = await openConnection();
    try {
      const failures = await handshake(opened);
      if (failures.length > 0) report('warn', 'state-not-restored', `state not fully restored: ${failures.join('; ')}`, {});
    } catch (error) {
      opened.stream.close();
      throw error;
    }
    connection = opened;
    report('info', 'session-recovered', `new session on ${where} (${reason})`, { ms: Date.now() - started, transport: 'sse' });
    announceListChanges(options.sink, serverCapabilities);
    return opened;
  }

  async function handshake(opened: Connection): Promise<string[]> {
    if (state.initializeParams === undefined) return [];
    const result = await call(opened, 'initialize', state.initializeParams);
    serverCapabilities = result['capabilities'] ?? serverCapabilities;
    if (hostInitialized) await notify(opened, 'notifications/initialized');
    const steps: [string, Record<string, unknown>][] = [];
    if (state.logLevel !== undefined) steps.push(['logging/setLevel', { level: state.logLevel }]);
    for (const uri of state.subscriptions) steps.push(['resources/subscribe', { uri }]);
    const outcomes = await Promise.allSettled(steps.map(([method, params]) => call(opened, method, params)));
    return outcomes.flatMap((outcome, index) =>
      outcome.status === 'rejected' ? [`${steps[index]?.[0]}: ${(outcome.reason as Error).message}`] : [],
    );
  }

  /** One request of our own on `opened`, answered on its stream within `timeoutMs`. */
  async function call(opened: Connection, method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = `mcp-lifeline-${method.replace(/\W/g, '-')}-${++lastId}`;
    const key = idKey(id);
    const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs), lifetime.signal]);
    const answer = new Promise<JsonRpcMessage>((resolve, reject) => {
      ownAnswers.set(key, resolve);
      signal.addEventListener('abort', () => reject(new Error(`no answer within ${options.timeoutMs} ms`)), { once: true });
      opened.stream.ended.then(
        () => reject(new Error('the stream ended')),
        () => reject(new Error('the stream broke')),
      );
    });
    answer.catch(() => {}); // awaited below unless the POST fails first
    try {
      const response = await post(opened.stream.endpoint, JSON.stringify({ jsonrpc: '2.0', id, method, params }), signal);
      if (!response.ok) throw new Error(`HTTP ${response.status}${scrub(await responseExcerpt(response))}`);
      await response.body?.cancel().catch(() => {});
      const { result, error } = await answer;
      if (error !== undefined) throw new Error(`JSON-RPC error ${error.code} "${error.message}"`);
      return (result ?? {}) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`${method}: ${fetchFailureText(error, options.timeoutMs)}`, { cause: error });
    } finally {
      ownAnswers.delete(key);
    }
  }

  async function notify(opened: Connection, method: string): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs), lifetime.signal]);
    const response = await post(opened.stream.endpoint, JSON.stringify({ jsonrpc: '2.0', method }), signal);
    await response.body?.cancel().catch(() => {});
  }

  /** After a drop: keep trying, with backoff, for as long as the upstream lives. */
  function reconnectInBackground(): void {
    reconnecting ??= (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await sessionOnce('the stream dropped');
        } catch (error) {
          if (lifetime.signal.aborted) throw error;
          const delay = backoffDelay(backoff, attempt);
          report(attempt === 0 ? 'warn' : 'debug', 'reconnect-failed', `could not open a new session: ${(error as Error).message}`, {
            retryInMs: delay,
          });
          await sleep(delay, { signal: lifetime.signal, onAbort: 'resolve' });
          if (lifetime.signal.aborted) throw error;
        }
      }
    })();
    const settled = () => {
      reconnecting = undefined;
    };
    reconnecting.then(settled, settled);
  }

  /** One attempt at a new session, shared by every request that needs it (single flight). */
  function sessionOnce(reason: string): Promise<Connection> {
    if (opening === undefined) {
      opening = openSession(reason);
      const settled = () => {
        opening = undefined;
      };
      opening.then(settled, settled);
    }
    return opening;
  }

  /**
   * The connection to send `message` on: the current one; for the host's own `initialize`, a new
   * stream (that initialize opens the session); otherwise a session being opened, or a new one.
   */
  async function ready(message: JsonRpcMessage, signal: AbortSignal | undefined): Promise<Connection> {
    if (connection !== undefined) return connection;
    if (message.method === 'initialize' && opening === undefined && reconnecting === undefined) {
      opening = openConnection().then((opened) => {
        connection = opened;
        return opened;
      });
      const settled = () => {
        opening = undefined;
      };
      opening.then(settled, settled);
      return opening;
    }
    return bounded(opening ?? reconnecting ?? recoverOrRetry('a message had no session to go to'), signal);
  }

  /** A new session now; if that fails, keep trying in the background. */
  function recoverOrRetry(reason: string): Promise<Connection> {
    const attempt = sessionOnce(reason);
    attempt.catch(() => reconnectInBackground());
    return attempt;
  }

  /** Waits for a session being opened, boundedly: a message is never held longer. */
  async function bounded(wait: Promise<Connection>, signal: AbortSignal | undefined): Promise<Connection> {
    // Opening a session is three bounded steps: the stream, initialize, the state restore.
    const limit = AbortSignal.any([AbortSignal.timeout(3 * options.timeoutMs), ...(signal === undefined ? [] : [signal])]);
    try {
      return await abortable(wait, limit);
    } catch (error) {
      throw new UpstreamError(`no session with ${where}: ${fetchFailureText(error, 3 * options.timeoutMs)}; the message was not sent`, {
        mayHaveRun: false,
        cause: error,
      });
    }
  }

  /**
   * POSTs `message` on `on`; on a lost-session answer, once more on a new session. `posted` is
   * called once the first POST was answered (or failed): the next message may go then.
   */
  async function deliver(
    on: Connection,
    message: JsonRpcMessage,
    sendOptions: SendOptions | undefined,
    turn: { readonly replay: boolean; readonly posted: () => void },
  ): Promise<void> {
    const { replay, posted } = turn;
    const key = idKey(message.id);
    const request = isRequest(message);
    // Registered before the POST: the answer may arrive on the stream before the 202 does.
    if (request) pending.set(key, { generation: on.generation, message });
    const body = replay || sendOptions?.raw === undefined ? JSON.stringify(message) : sendOptions.raw;
    const method = message.method ?? 'a response';
    let response: Response;
    try {
      const bound = AbortSignal.timeout(options.timeoutMs);
      response = await post(on.stream.endpoint, body, sendOptions?.signal ? AbortSignal.any([bound, sendOptions.signal]) : bound);
    } catch (error) {
      posted();
      if (request) pending.delete(key);
      if (!replay && refusedConnection(error)) {
        // Nothing reached the server (connection refused): it is restarting; send once it is back.
        const fresh = await bounded(recoverOrRetry('the server refused connections'), sendOptions?.signal);
        return deliver(fresh, message, sendOptions, { replay: true, posted });
      }
      throw new UpstreamError(`${method} to ${where}: ${fetchFailureText(error, options.timeoutMs)}; it may or may not have run`, {
        mayHaveRun: true,
        cause: error,
      });
    }
    posted();
    if (response.ok) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    if (request) pending.delete(key);
    const contentType = response.headers.get('content-type');
    const text = await readTextPrefix(response, 4096);
    const verdict = classifySessionLoss({ method: 'POST', hadSessionId: true, status: response.status, contentType, body: text });
    // The endpoint's query carries the session id: a server quoting it must not spread it.
    const said = redactIds(scrub(excerpt(text)), [...on.stream.endpoint.searchParams.values()]);
    if (!verdict.lost) {
      throw new UpstreamError(`${where} refused ${method}: HTTP ${response.status}${said}`, {
        mayHaveRun: response.status >= 500,
        status: response.status,
      });
    }
    if (replay) {
      throw new UpstreamError(
        `${where} refused ${method} for the new session too (HTTP ${response.status}${said}, rule ${verdict.rule}); it was not sent a third time`,
        { mayHaveRun: false, status: response.status },
      );
    }
    report('info', 'session-lost', `${where} no longer knows the session (rule ${verdict.rule}, HTTP ${response.status})`, {
      rule: verdict.rule,
      status: response.status,
      method,
    });
    const fresh =
      on.generation < generation && connection !== undefined
        ? connection
        : await bounded(opening ?? reconnecting ?? recoverOrRetry(`rule ${verdict.rule}`), sendOptions?.signal);
    // The answer proved the message did not run: requests and notifications go to the new session
    // once. Answers to the lost session's requests, and its initialized notification, mean nothing there.
    if (!request && (isAnswer(message) || message.method === 'notifications/initialized')) return;
    return deliver(fresh, message, sendOptions, { replay: true, posted });
  }

  return {
    get era() {
      return '2024-http-sse' as const;
    },
    async send(message, sendOptions) {
      if (lifetime.signal.aborted) throw new UpstreamError('the connection to the server is closed', { mayHaveRun: false });
      if (message.method === 'initialize') state.initializeParams = (message.params ?? {}) as Record<string, unknown>;
      if (message.method === 'notifications/initialized') hostInitialized = true;
      if (isAnswer(message)) {
        // An answer to a request of a session that is gone means nothing to the new one.
        if (!serverRequests.delete(idKey(message.id))) {
          report('debug', 'message-dropped', 'an answer to a request of a lost session was dropped', { id: String(message.id) });
          return;
        }
      }
      // Messages reach the server in the order the host sent them (initialize before initialized):
      // each POST starts once the one before it was answered (202 comes at once on this transport).
      const before = order;
      let posted: () => void = () => {};
      order = new Promise<void>((resolve) => {
        posted = resolve;
      });
      try {
        await before;
        await deliver(await ready(message, sendOptions?.signal), message, sendOptions, { replay: false, posted });
      } finally {
        posted();
      }
    },
    async end() {
      // HTTP+SSE has no DELETE: the session ends with its stream, which is not re-opened.
      lifetime.abort();
      connection?.stream.close();
    },
    async close() {
      lifetime.abort();
      connection?.stream.close();
      connection = undefined;
      pending.clear();
    },
  };
}

/** The connection was refused: the message never reached the server. */
function refusedConnection(error: unknown): boolean {
  return fetchFailureText(error).includes('(ECONNREFUSED)');
}
