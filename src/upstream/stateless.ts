import { type BackoffOptions, withBackoffDefaults } from '../shared/backoff.js';
import { idKey, isAnswer, isRequest, type JsonRpcId, type JsonRpcMessage, LIFELINE_ERROR, METHOD_NOT_FOUND } from '../shared/json-rpc.js';
import { mediaType } from '../shared/media-type.js';
import { readTextPrefix } from '../shared/read-prefix.js';
import { describeUrl } from '../shared/redact.js';
import { scrubberForRequest } from '../shared/secret-scrubber.js';
import type { DiscoverAnswer } from './classify-discover-answer.js';
import { probeServerEra } from './discover-probe.js';
import { fetchFailureText } from './fetch-failure-text.js';
import { createHostState, hostCapabilities, hostProtocolVersion } from './host-state.js';
import { fulfilInputRequests, type InputRequiredResult, retryParams } from './input-required.js';
import { readJsonRpcBody } from './json-rpc-body.js';
import { createListenStream, type ListenFilter } from './listen-stream.js';
import { paramHeaders } from './mcp-param-headers.js';
import { modernErrorForHost } from './modern-errors.js';
import { initializeResultFrom } from './modern-initialize.js';
import { stampEnvelope, standardHeaders } from './modern-request.js';
import { toLegacyNotification, toLegacyResult } from './modern-result.js';
import { RECONNECT_BACKOFF } from './reconnect-backoff.js';
import { followSameOriginRedirects } from './same-origin-redirects.js';
import { createToolHeaderCache } from './tool-header-cache.js';
import { type SendOptions, type Upstream, UpstreamError, type UpstreamOptions } from './upstream.js';
import { eventReporter } from './upstream-events.js';

/** Options of {@linkcode createStatelessUpstream}. */
export interface StatelessUpstreamOptions extends UpstreamOptions {
  /**
   * The server's `server/discover` answer when the caller already has it (the `auto` probe), so
   * the server is not asked twice. Without it, the host's `initialize` sends the one probe.
   * @default undefined
   */
  readonly discover?: DiscoverAnswer | undefined;
  /**
   * Most `input_required` rounds one host request may take before it is answered with an error.
   * @default 10
   */
  readonly maxInputRounds?: number | undefined;
  /**
   * Delays between attempts to re-open the `subscriptions/listen` stream.
   * @default RECONNECT_BACKOFF (500 ms doubling to 30 s, less up to 20 %)
   */
  readonly listenBackoff?: BackoffOptions | undefined;
  /**
   * Largest JSON answer or SSE event accepted, in characters.
   * @default 16 MiB
   */
  readonly maxMessageSize?: number | undefined;
}

export const DEFAULT_MAX_INPUT_ROUNDS = 10;
const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
// Requests that change nothing on the server: a broken answer stream may be sent again
// (2026-07-28 changelog #9 asks clients to re-issue; a tools/call is never re-issued).
const READ_ONLY = new Set([
  'tools/list',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'completion/complete',
  'server/discover',
]);
// Notifications a 2026-07-28 server takes none of over HTTP (it defines no client notifications).
const HOST_ONLY_NOTIFICATIONS = new Set(['notifications/initialized', 'notifications/roots/list_changed', 'notifications/cancelled']);

/** The outcome of one POST of one round. */
type RoundOutcome =
  | { readonly kind: 'answer'; readonly message: JsonRpcMessage; readonly status: number }
  | { readonly kind: 'http'; readonly status: number; readonly text: string }
  | { readonly kind: 'broken'; readonly error: unknown };

/**
 * Lets a 2025-era host use a 2026-07-28 server, which has no `initialize` and no session: the
 * host's `initialize` is answered from `server/discover`; every request is sent with the `_meta`
 * envelope (protocol version, the host's capabilities and identity, its log level) and the
 * standard headers, `Mcp-Param-*` included (from the cached tool list); `ping`,
 * `logging/setLevel` and `resources/subscribe` are served here; list changes and resource
 * updates come from one `subscriptions/listen` stream; `input_required` results are fulfilled
 * through the host (elicitation, sampling, roots) and retried; what a 2025 host does not know
 * (`resultType`, cache hints, subscription ids) is removed.
 */
export function createStatelessUpstream(options: StatelessUpstreamOptions): Upstream {
  const where = describeUrl(options.url.href);
  const scrub = scrubberForRequest(options.headers).scrub;
  const report = eventReporter(options.sink, scrub);
  // Credentials belong to the server's origin: redirects elsewhere are refused, never followed.
  const fetch = followSameOriginRedirects(options.fetch);
  const maxRounds = options.maxInputRounds ?? DEFAULT_MAX_INPUT_ROUNDS;
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const state = createHostState();
  const tools = createToolHeaderCache();
  const lifetime = new AbortController();
  // Host requests in flight: notifications/cancelled aborts the exchange (closing it cancels).
  const inflight = new Map<string, AbortController>();
  // Our requests to the host (input requests), waiting for its answer.
  const asked = new Map<string, (answer: JsonRpcMessage) => void>();
  let discover = options.discover;
  let toolRefresh: Promise<void> | undefined;
  let lastId = 0;
  const newId = (purpose: string) => `mcp-lifeline-${purpose}-${++lastId}`;

  const listen = createListenStream({
    open: (filter, id, signal) => post({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { notifications: filter } }, signal),
    deliver(notification) {
      if (notification.method === 'notifications/tools/list_changed') tools.markStale();
      options.sink.message(toLegacyNotification(notification));
    },
    report,
    backoff: withBackoffDefaults(options.listenBackoff, RECONNECT_BACKOFF),
    timeoutMs: options.timeoutMs,
    maxMessageSize,
    ready: options.sink.ready,
  });

  const answer = (id: JsonRpcId | null | undefined, result: unknown) => options.sink.message({ jsonrpc: '2.0', id: id ?? null, result });
  // Error texts quote the server, which may quote the credentials it was sent.
  const fail = (id: JsonRpcId | null | undefined, code: number, text: string, data?: unknown) => {
    const message = scrub(text);
    options.sink.message({ jsonrpc: '2.0', id: id ?? null, error: data === undefined ? { code, message } : { code, message, data } });
  };

  function capabilities(): Record<string, Record<string, unknown> | undefined> {
    return (discover?.result['capabilities'] ?? {}) as Record<string, Record<string, unknown> | undefined>;
  }

  /** POSTs one message with the envelope and every header its method needs. */
  function post(message: JsonRpcMessage & { method: string }, signal: AbortSignal): Promise<Response> {
    if (discover === undefined) throw new UpstreamError('the server was not discovered yet', { mayHaveRun: false });
    const params = stampEnvelope(message.params, {
      protocolVersion: discover.version,
      clientCapabilities: clientCapabilitiesOf(hostCapabilities(state)),
      clientInfo: state.initializeParams?.['clientInfo'],
      logLevel: state.logLevel,
    });
    const declared = message.method === 'tools/call' ? tools.declarationsOf(String(message.params?.['name'])) : undefined;
    return fetch(options.url, {
      method: 'POST',
      headers: {
        ...options.headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...standardHeaders(message.method, message.params, discover.version),
        ...(declared === undefined ? {} : paramHeaders(declared, message.params?.['arguments'])),
      },
      body: JSON.stringify({ ...message, params }),
      signal: AbortSignal.any([signal, lifetime.signal]),
    });
  }

  /** One POST and its answer; notifications on the way (progress, log messages) go to the host. */
  async function roundTrip(message: JsonRpcMessage & { method: string; id: JsonRpcId }, signal: AbortSignal): Promise<RoundOutcome> {
    let response: Response;
    try {
      response = await post(message, signal);
    } catch (error) {
      if (signal.aborted || lifetime.signal.aborted) throw error;
      if (fetchFailureText(error).includes('(ECONNREFUSED)')) {
        throw new UpstreamError(`${message.method} was not sent: ${where}: ${fetchFailureText(error)}`, {
          mayHaveRun: false,
          cause: error,
        });
      }
      // The connection broke before any answer: like a broken answer stream, it may have run.
      return { kind: 'broken', error };
    }
    if (!response.ok) return { kind: 'http', status: response.status, text: await readTextPrefix(response, 64 * 1024) };
    const type = mediaType(response.headers.get('content-type'));
    if (type !== 'application/json' && type !== 'text/event-stream') {
      return { kind: 'http', status: response.status, text: `(content type ${type || 'none'}) ${await readTextPrefix(response, 512)}` };
    }
    let final: JsonRpcMessage | undefined;
    try {
      await readJsonRpcBody(response, {
        maxMessageSize,
        ready: options.sink.ready,
        onMessage(received) {
          if (isAnswer(received)) {
            if (received.id === message.id) final = received;
          } else if (isRequest(received)) {
            // 2026-07-28 servers ask through input_required, never with requests on a response stream.
            report('warn', 'message-dropped', `the server sent a ${received.method} request on a response stream; dropped`, {});
          } else {
            options.sink.message(toLegacyNotification(received));
          }
        },
        done: () => final !== undefined,
      });
    } catch (error) {
      if (final === undefined) return { kind: 'broken', error };
    }
    return final === undefined
      ? { kind: 'broken', error: new Error('the answer stream ended without an answer') }
      : { kind: 'answer', message: final, status: response.status };
  }

  /** The tool list, fetched page by page, so tools/call knows its `Mcp-Param-*` headers. */
  function refreshTools(): Promise<void> {
    toolRefresh ??= (async () => {
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const id = newId('tools-list');
        const outcome = await roundTrip(
          { jsonrpc: '2.0', id, method: 'tools/list', params: cursor === undefined ? {} : { cursor } },
          AbortSignal.timeout(options.timeoutMs),
        );
        if (outcome.kind !== 'answer' || outcome.message.result === undefined) return;
        const result = outcome.message.result as { tools?: unknown[]; nextCursor?: unknown };
        tools.record(result.tools ?? []);
        if (typeof result.nextCursor !== 'string') return;
        cursor = result.nextCursor;
      }
    })()
      .catch((error: unknown) => report('debug', 'tools-refresh-failed', `could not list the tools: ${fetchFailureText(error)}`, {}))
      .finally(() => {
        toolRefresh = undefined;
      });
    return toolRefresh;
  }

  /** Asks the host (an input request), resolving with its answer. */
  function askHost(method: string, params: Record<string, unknown>, signal: AbortSignal): Promise<JsonRpcMessage> {
    const id = newId('input');
    const key = idKey(id);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        asked.delete(key);
        options.sink.message({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: id, reason: 'the request was cancelled' },
        });
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      asked.set(key, (hostAnswer) => {
        signal.removeEventListener('abort', onAbort);
        asked.delete(key);
        resolve(hostAnswer);
      });
      options.sink.message({ jsonrpc: '2.0', id, method, params });
    });
  }

  /**
   * A host request, to its one answer: rounds of input_required fulfilled through the host,
   * a tools/call refused for its headers (-32020) retried once with a fresh tool list, a broken
   * answer stream re-issued once for read-only methods only.
   */
  async function exchange(request: JsonRpcMessage & { method: string; id: JsonRpcId }, signal: AbortSignal) {
    const { id: hostId, method } = request;
    let params = request.params;
    let refreshed = false;
    let reissued = false;
    if (method === 'tools/call' && tools.declarationsOf(String(params?.['name'])) === undefined) {
      await refreshTools();
      refreshed = true;
    }
    for (let round = 0, posts = 0; ; posts++) {
      // Each POST is its own request: a retry carries a new id (patterns/mrtr §Client Requirements).
      const id = posts === 0 ? hostId : newId('retry');
      const outcome = await roundTrip({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }, signal);
      if (outcome.kind === 'broken') {
        if (READ_ONLY.has(method) && !reissued) {
          reissued = true;
          report('info', 'request-reissued', `the answer stream for ${method} broke; sending it again (it changes nothing)`, { method });
          continue;
        }
        return fail(
          hostId,
          LIFELINE_ERROR,
          `mcp-lifeline: the server's answer stream for ${method} broke before its answer arrived (${fetchFailureText(outcome.error)}); the request may or may not have run, so it was not sent again`,
        );
      }
      if (outcome.kind === 'http') {
        const error = modernErrorForHost(outcome.status, outcome.text, { method, where });
        if (error.code === -32020 && method === 'tools/call' && !refreshed) {
          // A 400 HeaderMismatch proves the call did not run; the tool's schema may have changed (§Client Behavior).
          refreshed = true;
          tools.markStale();
          await refreshTools();
          continue;
        }
        return fail(hostId, error.code, error.message, error.data);
      }
      const { result, error } = outcome.message;
      if (error !== undefined) return fail(hostId, error.code, error.message, error.data);
      if ((result as { resultType?: unknown } | undefined)?.resultType === 'input_required') {
        round += 1;
        if (round > maxRounds) {
          return fail(
            hostId,
            LIFELINE_ERROR,
            `mcp-lifeline: the server still asked for input after ${maxRounds} rounds; giving up on ${method}`,
          );
        }
        const input = result as InputRequiredResult;
        let responses: Record<string, unknown>;
        try {
          responses = await fulfilInputRequests(input, {
            capabilities: hostCapabilities(state),
            protocolVersion: hostProtocolVersion(state),
            ask: (askMethod, askParams) => askHost(askMethod, askParams, signal),
          });
        } catch (reason) {
          if (signal.aborted) throw reason;
          return fail(hostId, LIFELINE_ERROR, `mcp-lifeline: cannot complete ${method}: ${(reason as Error).message}`);
        }
        params = retryParams(request.params, responses, input.requestState);
        continue;
      }
      if (method === 'tools/list') return answer(hostId, listedTools(result));
      return answer(hostId, toLegacyResult(result));
    }
  }

  /** A tools/list page: its header declarations cached, tools with invalid ones left out (§Schema Extension). */
  function listedTools(result: unknown): Record<string, unknown> {
    const legacy = toLegacyResult(result);
    const { kept, rejected } = tools.record((legacy['tools'] as unknown[] | undefined) ?? []);
    for (const { name, reason } of rejected) {
      report('warn', 'tool-rejected', `tool "${name}" left out: its x-mcp-header annotations are invalid (${reason})`, { tool: name });
    }
    return { ...legacy, tools: kept };
  }

  function listFilter(): ListenFilter {
    const offered = capabilities();
    return {
      ...(offered['tools']?.['listChanged'] === true ? { toolsListChanged: true } : {}),
      ...(offered['prompts']?.['listChanged'] === true ? { promptsListChanged: true } : {}),
      ...(offered['resources']?.['listChanged'] === true ? { resourcesListChanged: true } : {}),
      ...(state.subscriptions.size > 0 ? { resourceSubscriptions: [...state.subscriptions] } : {}),
    };
  }

  async function initialize(request: JsonRpcMessage & { id: JsonRpcId }): Promise<void> {
    state.initializeParams = (request.params ?? {}) as Record<string, unknown>;
    if (discover === undefined) {
      const verdict = await probeServerEra({ ...options, hostInitialize: state.initializeParams });
      if (verdict.kind !== 'modern') {
        const why = verdict.kind === 'error' ? verdict.message : `it is not a 2026-07-28 server (${verdict.evidence})`;
        throw new UpstreamError(scrub(`cannot speak 2026-07-28 to ${where}: ${why}`), { mayHaveRun: false });
      }
      discover = verdict.discover;
    }
    answer(request.id, initializeResultFrom(discover.result, hostProtocolVersion(state)));
  }

  async function subscription(request: JsonRpcMessage & { method: string; id: JsonRpcId }): Promise<void> {
    const uri = request.params?.['uri'];
    if (typeof uri !== 'string') return fail(request.id, -32602, `${request.method}: params.uri must be a string`);
    if (capabilities()['resources']?.['subscribe'] !== true) {
      return fail(request.id, METHOD_NOT_FOUND, `${request.method}: the server offers no resource subscriptions`);
    }
    const subscribing = request.method === 'resources/subscribe';
    if (subscribing) state.subscriptions.add(uri);
    else state.subscriptions.delete(uri);
    const update = listen.update(listFilter());
    if (!subscribing) {
      update.catch(() => {});
      return answer(request.id, {});
    }
    try {
      const honored = await update;
      if (honored.resourceSubscriptions?.includes(uri)) return answer(request.id, {});
      state.subscriptions.delete(uri);
      return fail(request.id, LIFELINE_ERROR, `mcp-lifeline: the server did not accept a subscription to ${uri}`);
    } catch (error) {
      state.subscriptions.delete(uri);
      return fail(request.id, LIFELINE_ERROR, `mcp-lifeline: could not subscribe to ${uri}: ${(error as Error).message}`);
    }
  }

  /** Requests 2026-07-28 removed are served here; the rest go to the server. */
  async function request(message: JsonRpcMessage & { method: string; id: JsonRpcId }, sendOptions: SendOptions | undefined): Promise<void> {
    switch (message.method) {
      case 'initialize':
        return initialize(message);
      case 'ping':
        return answer(message.id, {});
      case 'logging/setLevel': {
        if (capabilities()['logging'] === undefined)
          return fail(message.id, METHOD_NOT_FOUND, 'logging/setLevel: the server offers no logging');
        const level = message.params?.['level'];
        if (typeof level !== 'string') return fail(message.id, -32602, 'logging/setLevel: params.level must be a string');
        // Sent with every request from now on, as the envelope's logLevel.
        state.logLevel = level;
        return answer(message.id, {});
      }
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return subscription(message);
    }
    const key = idKey(message.id);
    const controller = new AbortController();
    inflight.set(key, controller);
    const signal = sendOptions?.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, sendOptions.signal]);
    // send resolves at once: with JSON answers the HTTP status comes only with the result, and a
    // host must be able to cancel meanwhile. Every outcome reaches the host through the sink.
    void exchange(message, signal)
      .catch((error: unknown) => {
        if (signal.aborted || lifetime.signal.aborted) return; // cancelled: the host expects no answer
        fail(message.id, LIFELINE_ERROR, `mcp-lifeline: ${(error as Error).message}`);
      })
      .finally(() => inflight.delete(key));
  }

  function notification(message: JsonRpcMessage): void {
    if (message.method === 'notifications/initialized') {
      listen.update(listFilter()).catch(() => {});
    } else if (message.method === 'notifications/cancelled') {
      // Closing the request's HTTP exchange is the cancellation (2026-07-28 patterns/cancellation).
      inflight.get(idKey(message.params?.['requestId'] as JsonRpcId))?.abort(new DOMException('cancelled by the host', 'AbortError'));
    } else if (!HOST_ONLY_NOTIFICATIONS.has(message.method ?? '')) {
      report('debug', 'message-dropped', `${message.method}: 2026-07-28 servers take no client notifications over HTTP`, {});
    }
  }

  return {
    get era() {
      return '2026-stateless' as const;
    },
    async send(message, sendOptions) {
      if (lifetime.signal.aborted) throw new UpstreamError('the connection to the server is closed', { mayHaveRun: false });
      if (isAnswer(message)) {
        const waiting = asked.get(idKey(message.id));
        if (waiting === undefined)
          report('debug', 'message-dropped', 'an answer to no input request was dropped', { id: String(message.id) });
        else waiting(message);
        return;
      }
      if (isRequest(message)) return request(message, sendOptions);
      notification(message);
    },
    async end() {
      listen.close();
    },
    async close() {
      lifetime.abort();
      listen.close();
      for (const controller of inflight.values()) controller.abort();
      inflight.clear();
    },
  };
}

/**
 * The host's capabilities as a 2026-07-28 envelope carries them: everything but 2025-11-25's
 * experimental `tasks`, which the 2026-07-28 revision moved to an extension of another shape.
 */
function clientCapabilitiesOf(capabilities: Record<string, unknown>): Record<string, unknown> {
  const { tasks: _tasks, ...rest } = capabilities;
  return rest;
}
