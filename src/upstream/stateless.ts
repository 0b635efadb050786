import { type BackoffOptions, withBackoffDefaults } from '../shared/backoff.js';
import { idKey, isAnswer, isRequest, type JsonRpcId, type JsonRpcMessage, LIFELINE_ERROR, METHOD_NOT_FOUND } from '../shared/json-rpc.js';
import type { DiscoverAnswer } from './classify-discover-answer.js';
import { probeServerEra } from './discover-probe.js';
import { fetchFailureText } from './fetch-failure-text.js';
import { createHostState, hostCapabilities, hostProtocolVersion } from './host-state.js';
import { fulfilInputRequests, type InputRequiredResult, retryParams } from './input-required.js';
import { createListenStream, type ListenFilter, type ListenStream } from './listen-stream.js';
import { modernErrorForHost } from './modern-errors.js';
import { initializeResultFrom } from './modern-initialize.js';
import { toLegacyNotification, toLegacyResult } from './modern-result.js';
import { RECONNECT_BACKOFF } from './reconnect-backoff.js';
import { StatelessServer } from './stateless-server.js';
import { type SendOptions, type Upstream, UpstreamError, type UpstreamOptions } from './upstream.js';
import { openUpstream, type UpstreamBasics } from './upstream-basics.js';

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

const DEFAULT_MAX_INPUT_ROUNDS = 10;
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
  return new StatelessUpstream(options);
}

/** The host's side of a stateless upstream; the server's is {@linkcode StatelessServer}. */
class StatelessUpstream implements Upstream {
  readonly era = '2026-stateless' as const;
  private readonly options: StatelessUpstreamOptions;
  private readonly basics: UpstreamBasics;
  private readonly host = createHostState();
  private readonly server: StatelessServer;
  private readonly listen: ListenStream;
  private readonly maxRounds: number;
  // Host requests in flight: notifications/cancelled aborts the exchange (closing it cancels).
  private readonly inflight = new Map<string, AbortController>();
  // Our requests to the host (input requests), waiting for its answer.
  private readonly asked = new Map<string, (answer: JsonRpcMessage) => void>();

  constructor(options: StatelessUpstreamOptions) {
    this.options = options;
    this.basics = openUpstream(options);
    this.maxRounds = options.maxInputRounds ?? DEFAULT_MAX_INPUT_ROUNDS;
    const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.server = new StatelessServer({ options, basics: this.basics, host: this.host, maxMessageSize, discover: options.discover });
    this.listen = createListenStream({
      open: (filter, id, signal) =>
        this.server.post({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { notifications: filter } }, signal),
      deliver: (notification) => {
        if (notification.method === 'notifications/tools/list_changed') this.server.tools.markStale();
        options.sink.message(toLegacyNotification(notification));
      },
      report: this.basics.report,
      backoff: withBackoffDefaults(options.listenBackoff, RECONNECT_BACKOFF),
      timeoutMs: options.timeoutMs,
      maxMessageSize,
      ready: options.sink.ready,
    });
  }

  async send(message: JsonRpcMessage, sendOptions?: SendOptions): Promise<void> {
    this.basics.assertOpen();
    if (isAnswer(message)) {
      const waiting = this.asked.get(idKey(message.id));
      if (waiting === undefined)
        this.basics.report('debug', 'message-dropped', 'an answer to no input request was dropped', { id: String(message.id) });
      else waiting(message);
      return;
    }
    if (isRequest(message)) return this.request(message, sendOptions);
    this.notification(message);
  }

  async end(): Promise<void> {
    this.listen.close();
  }

  async close(): Promise<void> {
    this.basics.lifetime.abort();
    this.listen.close();
    for (const controller of this.inflight.values()) controller.abort();
    this.inflight.clear();
  }

  private answer(id: JsonRpcId | null | undefined, result: unknown): void {
    this.options.sink.message({ jsonrpc: '2.0', id: id ?? null, result });
  }

  /** An error answer for the host; its text quotes the server, which may quote the credentials it was sent. */
  private fail(id: JsonRpcId | null | undefined, code: number, text: string, data?: unknown): void {
    const message = this.basics.scrub(text);
    this.options.sink.message({ jsonrpc: '2.0', id: id ?? null, error: data === undefined ? { code, message } : { code, message, data } });
  }

  /** Requests 2026-07-28 removed are served here; the rest go to the server. */
  private async request(message: JsonRpcMessage & { method: string; id: JsonRpcId }, sendOptions: SendOptions | undefined): Promise<void> {
    switch (message.method) {
      case 'initialize':
        return this.initialize(message);
      case 'ping':
        return this.answer(message.id, {});
      case 'logging/setLevel':
        return this.setLevel(message);
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return this.subscription(message);
    }
    const key = idKey(message.id);
    const controller = new AbortController();
    this.inflight.set(key, controller);
    const signal = sendOptions?.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, sendOptions.signal]);
    // send resolves at once: with JSON answers the HTTP status comes only with the result, and a
    // host must be able to cancel meanwhile. Every outcome reaches the host through the sink.
    void this.exchange(message, signal)
      .catch((error: unknown) => {
        if (signal.aborted || this.basics.lifetime.signal.aborted) return; // cancelled: the host expects no answer
        this.fail(message.id, LIFELINE_ERROR, `mcp-lifeline: ${(error as Error).message}`);
      })
      .finally(() => this.inflight.delete(key));
  }

  private notification(message: JsonRpcMessage): void {
    if (message.method === 'notifications/initialized') {
      this.listen.update(this.listFilter()).catch(() => {});
    } else if (message.method === 'notifications/cancelled') {
      // Closing the request's HTTP exchange is the cancellation (2026-07-28 patterns/cancellation).
      this.inflight.get(idKey(message.params?.['requestId'] as JsonRpcId))?.abort(new DOMException('cancelled by the host', 'AbortError'));
    } else if (!HOST_ONLY_NOTIFICATIONS.has(message.method ?? '')) {
      this.basics.report('debug', 'message-dropped', `${message.method}: 2026-07-28 servers take no client notifications over HTTP`, {});
    }
  }

  private async initialize(request: JsonRpcMessage & { id: JsonRpcId }): Promise<void> {
    const { host, server, basics } = this;
    host.initializeParams = (request.params ?? {}) as Record<string, unknown>;
    if (server.discover === undefined) {
      const verdict = await probeServerEra({ ...this.options, hostInitialize: host.initializeParams });
      if (verdict.kind !== 'modern') {
        const why = verdict.kind === 'error' ? verdict.message : `it is not a 2026-07-28 server (${verdict.evidence})`;
        throw new UpstreamError(basics.scrub(`cannot speak 2026-07-28 to ${basics.where}: ${why}`), { mayHaveRun: false });
      }
      server.discover = verdict.discover;
    }
    this.answer(request.id, initializeResultFrom(server.discover.result, hostProtocolVersion(host)));
  }

  private setLevel(request: JsonRpcMessage & { id: JsonRpcId }): void {
    if (this.server.capabilities()['logging'] === undefined) {
      this.fail(request.id, METHOD_NOT_FOUND, 'logging/setLevel: the server offers no logging');
      return;
    }
    const level = request.params?.['level'];
    if (typeof level !== 'string') {
      this.fail(request.id, -32602, 'logging/setLevel: params.level must be a string');
      return;
    }
    // Sent with every request from now on, as the envelope's logLevel.
    this.host.logLevel = level;
    this.answer(request.id, {});
  }

  private async subscription(request: JsonRpcMessage & { method: string; id: JsonRpcId }): Promise<void> {
    const { subscriptions } = this.host;
    const uri = request.params?.['uri'];
    if (typeof uri !== 'string') return this.fail(request.id, -32602, `${request.method}: params.uri must be a string`);
    if (this.server.capabilities()['resources']?.['subscribe'] !== true) {
      return this.fail(request.id, METHOD_NOT_FOUND, `${request.method}: the server offers no resource subscriptions`);
    }
    const subscribing = request.method === 'resources/subscribe';
    if (subscribing) subscriptions.add(uri);
    else subscriptions.delete(uri);
    const update = this.listen.update(this.listFilter());
    if (!subscribing) {
      update.catch(() => {});
      return this.answer(request.id, {});
    }
    try {
      const honored = await update;
      if (honored.resourceSubscriptions?.includes(uri)) return this.answer(request.id, {});
      subscriptions.delete(uri);
      return this.fail(request.id, LIFELINE_ERROR, `mcp-lifeline: the server did not accept a subscription to ${uri}`);
    } catch (error) {
      subscriptions.delete(uri);
      return this.fail(request.id, LIFELINE_ERROR, `mcp-lifeline: could not subscribe to ${uri}: ${(error as Error).message}`);
    }
  }

  private listFilter(): ListenFilter {
    const offered = this.server.capabilities();
    return {
      ...(offered['tools']?.['listChanged'] === true ? { toolsListChanged: true } : {}),
      ...(offered['prompts']?.['listChanged'] === true ? { promptsListChanged: true } : {}),
      ...(offered['resources']?.['listChanged'] === true ? { resourcesListChanged: true } : {}),
      ...(this.host.subscriptions.size > 0 ? { resourceSubscriptions: [...this.host.subscriptions] } : {}),
    };
  }

  /**
   * A host request, to its one answer: rounds of input_required fulfilled through the host,
   * a tools/call refused for its headers (-32020) retried once with a fresh tool list, a broken
   * answer stream re-issued once for read-only methods only.
   */
  private async exchange(request: JsonRpcMessage & { method: string; id: JsonRpcId }, signal: AbortSignal): Promise<void> {
    const { server } = this;
    const { id: hostId, method } = request;
    const turns = { params: request.params, rounds: 0, refreshed: false, reissued: false };
    if (method === 'tools/call' && server.tools.declarationsOf(String(turns.params?.['name'])) === undefined) {
      await server.refreshTools();
      turns.refreshed = true;
    }
    for (let posts = 0; ; posts++) {
      // Each POST is its own request: a retry carries a new id (patterns/mrtr §Client Requirements).
      const id = posts === 0 ? hostId : server.newId('retry');
      const { params } = turns;
      const outcome = await server.roundTrip({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }, signal);
      if (outcome.kind === 'broken') {
        if (READ_ONLY.has(method) && !turns.reissued) {
          turns.reissued = true;
          this.basics.report('info', 'request-reissued', `the answer stream for ${method} broke; sending it again (it changes nothing)`, {
            method,
          });
          continue;
        }
        return this.fail(
          hostId,
          LIFELINE_ERROR,
          `mcp-lifeline: the server's answer stream for ${method} broke before its answer arrived (${fetchFailureText(outcome.error)}); the request may or may not have run, so it was not sent again`,
        );
      }
      if (outcome.kind === 'http') {
        const error = modernErrorForHost(outcome.status, outcome.text, { method, where: this.basics.where });
        if (error.code === -32020 && method === 'tools/call' && !turns.refreshed) {
          // A 400 HeaderMismatch proves the call did not run; the tool's schema may have changed (§Client Behavior).
          turns.refreshed = true;
          server.tools.markStale();
          await server.refreshTools();
          continue;
        }
        return this.fail(hostId, error.code, error.message, error.data);
      }
      const { result, error } = outcome.message;
      if (error !== undefined) return this.fail(hostId, error.code, error.message, error.data);
      if ((result as { resultType?: unknown } | undefined)?.resultType !== 'input_required') {
        return this.answer(hostId, method === 'tools/list' ? this.listedTools(result) : toLegacyResult(result));
      }
      const retry = await this.inputRound(request, result as InputRequiredResult, turns, signal);
      if (retry === undefined) return;
      turns.params = retry;
    }
  }

  /** One input_required round through the host: the retry's params, or undefined when the host was answered with an error. */
  private async inputRound(
    request: JsonRpcMessage & { method: string; id: JsonRpcId },
    input: InputRequiredResult,
    turns: { rounds: number },
    signal: AbortSignal,
  ): Promise<Record<string, unknown> | undefined> {
    const { id: hostId, method } = request;
    turns.rounds += 1;
    if (turns.rounds > this.maxRounds) {
      this.fail(
        hostId,
        LIFELINE_ERROR,
        `mcp-lifeline: the server still asked for input after ${this.maxRounds} rounds; giving up on ${method}`,
      );
      return undefined;
    }
    let responses: Record<string, unknown>;
    try {
      responses = await fulfilInputRequests(input, {
        capabilities: hostCapabilities(this.host),
        protocolVersion: hostProtocolVersion(this.host),
        ask: (askMethod, askParams) => this.askHost(askMethod, askParams, signal),
      });
    } catch (reason) {
      if (signal.aborted) throw reason;
      this.fail(hostId, LIFELINE_ERROR, `mcp-lifeline: cannot complete ${method}: ${(reason as Error).message}`);
      return undefined;
    }
    return retryParams(request.params, responses, input.requestState);
  }

  /** Asks the host (an input request), resolving with its answer. */
  private askHost(method: string, params: Record<string, unknown>, signal: AbortSignal): Promise<JsonRpcMessage> {
    const { sink } = this.options;
    const id = this.server.newId('input');
    const key = idKey(id);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.asked.delete(key);
        sink.message({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'the request was cancelled' } });
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.asked.set(key, (hostAnswer) => {
        signal.removeEventListener('abort', onAbort);
        this.asked.delete(key);
        resolve(hostAnswer);
      });
      sink.message({ jsonrpc: '2.0', id, method, params });
    });
  }

  /** A tools/list page: its header declarations cached, tools with invalid ones left out (§Schema Extension). */
  private listedTools(result: unknown): Record<string, unknown> {
    const legacy = toLegacyResult(result);
    const { kept, rejected } = this.server.tools.record((legacy['tools'] as unknown[] | undefined) ?? []);
    for (const { name, reason } of rejected) {
      this.basics.report('warn', 'tool-rejected', `tool "${name}" left out: its x-mcp-header annotations are invalid (${reason})`, {
        tool: name,
      });
    }
    return { ...legacy, tools: kept };
  }
}
