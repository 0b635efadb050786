import { isAnswer, isRequest, type JsonRpcId, type JsonRpcMessage } from '../shared/json-rpc.js';
import { mediaType } from '../shared/media-type.js';
import { readTextPrefix } from '../shared/read-prefix.js';
import type { DiscoverAnswer } from './classify-discover-answer.js';
import { fetchFailureText } from './fetch-failure-text.js';
import { type HostState, hostCapabilities } from './host-state.js';
import { readJsonRpcBody } from './json-rpc-body.js';
import { paramHeaders } from './mcp-param-headers.js';
import { stampEnvelope, standardHeaders } from './modern-request.js';
import { toLegacyNotification } from './modern-result.js';
import { createToolHeaderCache, type ToolHeaderCache } from './tool-header-cache.js';
import { UpstreamError, type UpstreamOptions } from './upstream.js';
import type { UpstreamBasics } from './upstream-basics.js';

/** The outcome of one POST of one round. */
export type RoundOutcome =
  | { readonly kind: 'answer'; readonly message: JsonRpcMessage; readonly status: number }
  | { readonly kind: 'http'; readonly status: number; readonly text: string }
  | { readonly kind: 'broken'; readonly error: unknown };

/** What {@linkcode StatelessServer} needs. */
export interface StatelessServerPlan {
  readonly options: UpstreamOptions;
  readonly basics: UpstreamBasics;
  /** The host's state, which every request's envelope carries. */
  readonly host: HostState;
  /** Largest JSON answer or SSE event accepted, in characters. */
  readonly maxMessageSize: number;
  /** The server's `server/discover` answer, when the caller already has it. */
  readonly discover: DiscoverAnswer | undefined;
}

/**
 * A 2026-07-28 server as the stateless upstream talks to it: what it said in `server/discover`,
 * its tools' `Mcp-Param-*` header declarations, and one POST at a time, each carrying the
 * envelope (protocol version, the host's capabilities and identity, its log level) and the
 * standard headers.
 */
export class StatelessServer {
  /** The server's `server/discover` answer; undefined until the host's initialize probed it. */
  discover: DiscoverAnswer | undefined;
  readonly tools: ToolHeaderCache = createToolHeaderCache();
  private toolRefresh: Promise<void> | undefined;
  private lastId = 0;
  private readonly plan: StatelessServerPlan;

  constructor(plan: StatelessServerPlan) {
    this.plan = plan;
    this.discover = plan.discover;
  }

  /** A JSON-RPC id of our own, for `purpose`. */
  newId(purpose: string): string {
    return `mcp-lifeline-${purpose}-${++this.lastId}`;
  }

  /** What the server offers (from `server/discover`). */
  capabilities(): Record<string, Record<string, unknown> | undefined> {
    return (this.discover?.result['capabilities'] ?? {}) as Record<string, Record<string, unknown> | undefined>;
  }

  /** POSTs one message with the envelope and every header its method needs. */
  post(message: JsonRpcMessage & { method: string }, signal: AbortSignal): Promise<Response> {
    const { discover } = this;
    const { options, basics, host } = this.plan;
    if (discover === undefined) throw new UpstreamError('the server was not discovered yet', { mayHaveRun: false });
    const params = stampEnvelope(message.params, {
      protocolVersion: discover.version,
      clientCapabilities: clientCapabilitiesOf(hostCapabilities(host)),
      clientInfo: host.initializeParams?.['clientInfo'],
      logLevel: host.logLevel,
    });
    const declared = message.method === 'tools/call' ? this.tools.declarationsOf(String(message.params?.['name'])) : undefined;
    return basics.fetch(options.url, {
      method: 'POST',
      headers: {
        ...options.headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...standardHeaders(message.method, message.params, discover.version),
        ...(declared === undefined ? {} : paramHeaders(declared, message.params?.['arguments'])),
      },
      body: JSON.stringify({ ...message, params }),
      signal: AbortSignal.any([signal, basics.lifetime.signal]),
    });
  }

  /** One POST and its answer; notifications on the way (progress, log messages) go to the host. */
  async roundTrip(message: JsonRpcMessage & { method: string; id: JsonRpcId }, signal: AbortSignal): Promise<RoundOutcome> {
    const { options, basics } = this.plan;
    let response: Response;
    try {
      response = await this.post(message, signal);
    } catch (error) {
      if (signal.aborted || basics.lifetime.signal.aborted) throw error;
      if (fetchFailureText(error).includes('(ECONNREFUSED)')) {
        throw new UpstreamError(`${message.method} was not sent: ${basics.where}: ${fetchFailureText(error)}`, {
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
        maxMessageSize: this.plan.maxMessageSize,
        ready: options.sink.ready,
        onMessage(received) {
          if (isAnswer(received)) {
            if (received.id === message.id) final = received;
          } else if (isRequest(received)) {
            // 2026-07-28 servers ask through input_required, never with requests on a response stream.
            basics.report('warn', 'message-dropped', `the server sent a ${received.method} request on a response stream; dropped`, {});
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

  /** The tool list, fetched page by page, so tools/call knows its `Mcp-Param-*` headers; shared while in flight. */
  refreshTools(): Promise<void> {
    this.toolRefresh ??= this.listTools()
      .catch((error: unknown) =>
        this.plan.basics.report('debug', 'tools-refresh-failed', `could not list the tools: ${fetchFailureText(error)}`, {}),
      )
      .finally(() => {
        this.toolRefresh = undefined;
      });
    return this.toolRefresh;
  }

  private async listTools(): Promise<void> {
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const id = this.newId('tools-list');
      const outcome = await this.roundTrip(
        { jsonrpc: '2.0', id, method: 'tools/list', params: cursor === undefined ? {} : { cursor } },
        AbortSignal.timeout(this.plan.options.timeoutMs),
      );
      if (outcome.kind !== 'answer' || outcome.message.result === undefined) return;
      const result = outcome.message.result as { tools?: unknown[]; nextCursor?: unknown };
      this.tools.record(result.tools ?? []);
      if (typeof result.nextCursor !== 'string') return;
      cursor = result.nextCursor;
    }
  }
}

/**
 * The host's capabilities as a 2026-07-28 envelope carries them: everything but 2025-11-25's
 * experimental `tasks`, which the 2026-07-28 revision moved to an extension of another shape.
 */
function clientCapabilitiesOf(capabilities: Record<string, unknown>): Record<string, unknown> {
  const { tasks: _tasks, ...rest } = capabilities;
  return rest;
}
