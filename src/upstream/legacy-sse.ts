import { classifySessionLoss } from '../classifier/classify-session-loss.js';
import { type BackoffOptions, withBackoffDefaults } from '../shared/backoff.js';
import { idKey, isAnswer, isRequest, type JsonRpcId, type JsonRpcMessage, LIFELINE_ERROR } from '../shared/json-rpc.js';
import { readTextPrefix } from '../shared/read-prefix.js';
import { redactIds } from '../shared/redact.js';
import { excerpt } from '../shared/server-text.js';
import { fetchFailureText } from './fetch-failure-text.js';
import { createHostState, recordAcceptedState } from './host-state.js';
import { type Connection, type LegacyHost, LegacySseSessions } from './legacy-sse-sessions.js';
import { RECONNECT_BACKOFF } from './reconnect-backoff.js';
import { type SendOptions, type Upstream, UpstreamError, type UpstreamOptions } from './upstream.js';
import { openUpstream, type UpstreamBasics } from './upstream-basics.js';

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

/** A host request sent on a session, waiting for its answer on that session's stream. */
interface Pending {
  readonly generation: number;
  readonly message: JsonRpcMessage;
}

/** How one POST of a host message goes: a replay is the second and last; `posted` lets the next message go. */
interface Turn {
  readonly replay: boolean;
  readonly posted: () => void;
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
  return new LegacySseUpstream(options);
}

/** The host's messages and the server's answers of one HTTP+SSE upstream; its sessions are {@linkcode LegacySseSessions}. */
class LegacySseUpstream implements Upstream {
  readonly era = '2024-http-sse' as const;
  private readonly options: LegacySseUpstreamOptions;
  private readonly basics: UpstreamBasics;
  private readonly host: LegacyHost = { ...createHostState(), initialized: false };
  private readonly sessions: LegacySseSessions;
  // Host requests the server accepted, by id key, until their answer arrives on the stream.
  private readonly pending = new Map<string, Pending>();
  // Server-to-host requests of the current session, by key: the host's answers go to it alone.
  private serverRequests = new Map<string, JsonRpcId>();
  // The POST before the next one: messages reach the server in the order the host sent them.
  private order: Promise<void> = Promise.resolve();

  constructor(options: LegacySseUpstreamOptions) {
    this.options = options;
    this.basics = openUpstream(options);
    this.sessions = new LegacySseSessions({
      options,
      basics: this.basics,
      backoff: withBackoffDefaults(options.reconnect, RECONNECT_BACKOFF),
      maxEventSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      host: this.host,
      onServerMessage: (generation, message, raw) => this.serverSent(generation, message, raw),
      abandon: (generation, why) => this.abandon(generation, why),
    });
  }

  async send(message: JsonRpcMessage, sendOptions?: SendOptions): Promise<void> {
    this.basics.assertOpen();
    if (message.method === 'initialize') this.host.initializeParams = (message.params ?? {}) as Record<string, unknown>;
    if (message.method === 'notifications/initialized') this.host.initialized = true;
    if (isAnswer(message)) {
      // An answer to a request of a session that is gone means nothing to the new one.
      if (!this.serverRequests.delete(idKey(message.id))) {
        this.basics.report('debug', 'message-dropped', 'an answer to a request of a lost session was dropped', { id: String(message.id) });
        return;
      }
    }
    // Messages reach the server in the order the host sent them (initialize before initialized):
    // each POST starts once the one before it was answered (202 comes at once on this transport).
    const before = this.order;
    let posted: () => void = () => {};
    this.order = new Promise<void>((resolve) => {
      posted = resolve;
    });
    try {
      await before;
      await this.deliver(await this.sessions.ready(message, sendOptions?.signal), message, sendOptions, { replay: false, posted });
    } finally {
      posted();
    }
  }

  async end(): Promise<void> {
    // HTTP+SSE has no DELETE: the session ends with its stream, which is not re-opened.
    this.basics.lifetime.abort();
    this.sessions.current?.stream.close();
  }

  async close(): Promise<void> {
    this.basics.lifetime.abort();
    this.sessions.close();
    this.pending.clear();
  }

  /** A message on the stream of session `from`: answers go to who waits for them, server requests are noted. */
  private serverSent(from: number, message: JsonRpcMessage, raw: string): void {
    if (from !== this.sessions.generation) return;
    if (isAnswer(message)) {
      if (this.sessions.takeOwnAnswer(message)) return;
      const key = idKey(message.id);
      const request = this.pending.get(key);
      if (request === undefined) {
        this.basics.report('debug', 'message-dropped', 'an answer to no pending request was dropped', { id: String(message.id) });
        return;
      }
      this.pending.delete(key);
      if (message.result !== undefined) {
        recordAcceptedState(this.host, request.message);
        if (request.message.method === 'initialize') {
          this.sessions.serverCapabilities = (message.result as Record<string, unknown>)['capabilities'];
        }
      }
    } else if (isRequest(message)) {
      this.serverRequests.set(idKey(message.id), message.id);
    }
    this.options.sink.message(message, raw);
  }

  /**
   * Session `lost` is gone: requests the server accepted on it may have run, so they are answered
   * with an error, never sent again; server requests to the host are withdrawn.
   */
  private abandon(lost: number, why: string): void {
    const { sink } = this.options;
    for (const [key, request] of this.pending) {
      if (request.generation > lost) continue;
      this.pending.delete(key);
      const method = request.message.method ?? 'the request';
      this.basics.report('warn', 'request-lost', `${method} was accepted by the server but its answer was lost`, { method });
      sink.message({
        jsonrpc: '2.0',
        id: request.message.id ?? null,
        error: {
          code: LIFELINE_ERROR,
          message: `mcp-lifeline: ${why} before the answer to ${method} arrived; the server had accepted it, so it may or may not have run, and it was not sent again`,
        },
      });
    }
    for (const requestId of this.serverRequests.values()) {
      sink.message({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: why } });
    }
    this.serverRequests = new Map();
  }

  /**
   * POSTs `message` on `on`; on a lost-session answer, once more on a new session. `posted` is
   * called once the first POST was answered (or failed): the next message may go then.
   */
  private async deliver(on: Connection, message: JsonRpcMessage, sendOptions: SendOptions | undefined, turn: Turn): Promise<void> {
    const { replay, posted } = turn;
    const { where } = this.basics;
    const { timeoutMs } = this.options;
    const key = idKey(message.id);
    const request = isRequest(message);
    // Registered before the POST: the answer may arrive on the stream before the 202 does.
    if (request) this.pending.set(key, { generation: on.generation, message });
    const body = replay || sendOptions?.raw === undefined ? JSON.stringify(message) : sendOptions.raw;
    const method = message.method ?? 'a response';
    let response: Response;
    try {
      const bound = AbortSignal.timeout(timeoutMs);
      response = await this.sessions.post(on, body, sendOptions?.signal ? AbortSignal.any([bound, sendOptions.signal]) : bound);
    } catch (error) {
      posted();
      if (request) this.pending.delete(key);
      if (!replay && refusedConnection(error)) {
        // Nothing reached the server (connection refused): it is restarting; send once it is back.
        const fresh = await this.sessions.bounded(this.sessions.recoverOrRetry('the server refused connections'), sendOptions?.signal);
        return this.deliver(fresh, message, sendOptions, { replay: true, posted });
      }
      throw new UpstreamError(`${method} to ${where}: ${fetchFailureText(error, timeoutMs)}; it may or may not have run`, {
        mayHaveRun: true,
        cause: error,
      });
    }
    posted();
    if (response.ok) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    if (request) this.pending.delete(key);
    const rule = await this.lostSessionRule(on, response, method, replay);
    this.basics.report('info', 'session-lost', `${where} no longer knows the session (rule ${rule}, HTTP ${response.status})`, {
      rule,
      status: response.status,
      method,
    });
    const fresh = await this.sessions.replacing(on, `rule ${rule}`, sendOptions?.signal);
    // The answer proved the message did not run: requests and notifications go to the new session
    // once. Answers to the lost session's requests, and its initialized notification, mean nothing there.
    if (!request && (isAnswer(message) || message.method === 'notifications/initialized')) return;
    return this.deliver(fresh, message, sendOptions, { replay: true, posted });
  }

  /** The rule by which a refused POST proves the session lost; throws the refusal when it does not (or the replay met it too). */
  private async lostSessionRule(on: Connection, response: Response, method: string, replay: boolean): Promise<string> {
    const { where, scrub } = this.basics;
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
    return verdict.rule;
  }
}

/** The connection was refused: the message never reached the server. */
function refusedConnection(error: unknown): boolean {
  return fetchFailureText(error).includes('(ECONNREFUSED)');
}
