import type { ServerResponse } from 'node:http';
import { isFetchLayerError } from '../errors/LifelineError.js';
import { networkErrorText } from '../errors/network-error-text.js';
import type { AnyFetch } from '../recovery/outgoing-request.js';
import { type JsonRpcSummary, summarizeJsonRpc } from '../shared/json-rpc.js';
import { readTextPrefix } from '../shared/read-prefix.js';
import type { ToolFilter } from '../upstream/tool-filter.js';
import { AnswerTooLargeError, relayAnswer } from './answer-relay.js';
import { connectionSignal } from './connection-abort.js';
import type { GatewayMetrics, RefusalReason } from './gateway-metrics.js';
import type { ResolvedGatewayOptions } from './gateway-options.js';
import { jsonRpcError, jsonRpcErrors, sendJson } from './http-exchange.js';
import type { RouteRequest } from './route.js';
import { storeFailure } from './store-outage.js';
import { clientAnswerHeaders, type RequestHeaders } from './upstream-headers.js';

const SESSION_NOT_FOUND = -32001;
// What of an upstream's refusal of the gateway's credentials is quoted in the error.
const REFUSAL_QUOTE_BYTES = 4096;

/** One HTTP exchange of the pass-through route: a client request sent upstream, its answer relayed back. */
export interface PassThrough {
  /**
   * Sends one exchange upstream through `via`; resolves with the answer, or undefined when the
   * client already got an error instead (upstream unreachable, recovery impossible, the gateway's
   * credentials refused) or went away. Rejects with a `StoreUnreachableError` when the store
   * failed it (the gateway answers 503). The upstream exchange ends when the client's connection
   * closes; `abort`, when given, ends it too, and also when the response closes (a GET stream).
   */
  send(request: RouteRequest, headers: RequestHeaders, via: AnyFetch, abort?: AbortController): Promise<Response | undefined>;
  /** Passes an upstream answer to the client as it arrives, bounded and scrubbed; `token` is the client's session id. */
  deliver(request: RouteRequest, response: Response, token: string | undefined): Promise<void>;
  /** Refuses a request before it reaches the upstream: counted, and answered with a JSON-RPC error. */
  refuse(request: RouteRequest, status: number, reason: RefusalReason, message: string): void;
}

/** Where the exchanges of one upstream go, and what they may say. */
export interface PassThroughTarget {
  readonly name: string;
  readonly url: string;
  /** The URL for messages (no query). */
  readonly where: string;
  /** Whether clients bring the upstream's credentials (then a 401 is theirs to answer). */
  readonly forwardsCredentials: boolean;
  /** Removes the gateway's secrets; undefined when there are none. */
  readonly scrub: ((text: string) => string) | undefined;
  /** The upstream's tool filter (`ignoreTools`, `allowTools`); undefined when it has none. */
  readonly tools?: ToolFilter | undefined;
}

export function createPassThrough(
  target: PassThroughTarget,
  context: { readonly options: ResolvedGatewayOptions; readonly metrics: GatewayMetrics },
): PassThrough {
  const { name, url, where, forwardsCredentials, scrub, tools } = target;
  const { options, metrics } = context;
  const { log } = options;
  const scrubText = scrub ?? ((text: string) => text);
  // GET streams whose upstream exchange ends if the client's response closes first. Only they are
  // kept: an entry costs a weak table write, and V8's collector a weak entry to trace.
  const openStreams = new WeakSet<ServerResponse>();

  async function send(
    request: RouteRequest,
    headers: RequestHeaders,
    via: AnyFetch,
    abort?: AbortController,
  ): Promise<Response | undefined> {
    const { req, res } = request;
    const method = req.method ?? 'GET';
    const signal = abort === undefined ? connectionSignal(req.socket) : abort.signal;
    // When the client leaves, the upstream exchange ends too: a POST whose upstream hangs would
    // otherwise hold its connection with no bound, and a GET stream never ends on its own. A GET
    // stream has a controller of its own, also for when the gateway ends it first (at shutdown, or
    // its session ended): then its upstream answer was not all relayed, and nothing waits for the rest.
    if (abort !== undefined) {
      openStreams.add(res);
      res.once('close', () => {
        if (openStreams.has(res)) abort.abort();
      });
    }
    let response: Response;
    try {
      response = await via(url, {
        method,
        headers,
        body: request.body === undefined || request.body.length === 0 ? null : request.body,
        signal,
        redirect: 'manual',
      });
    } catch (error) {
      if (signal.aborted) return undefined;
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

  async function deliver(request: RouteRequest, response: Response, token: string | undefined): Promise<void> {
    // The request's JSON-RPC content is needed only to relay an event stream or to explain a failure:
    // a JSON answer passes without the body being parsed again (the middleware parsed it once).
    let summary: JsonRpcSummary | undefined;
    const summarize = () => {
      summary ??= summarizeJsonRpc(request.body?.toString('utf8'));
      return summary;
    };
    const what = () => summarize().rpcMethod ?? request.req.method ?? 'GET';
    const tooLarge = () =>
      `mcp-lifeline: upstream "${name}" (${where}) answered ${what()} with a message larger than the ${options.maxMessageBytes}-byte limit (--max-message-size); it was not passed on`;
    const headers = clientAnswerHeaders(response, request.answerHeaders, { token, challenges: forwardsCredentials, scrub });
    try {
      await relayAnswer(request.res, response, headers, {
        maxMessageBytes: options.maxMessageBytes,
        scrub,
        requestIds: () => (request.req.method === 'POST' ? summarize().requestIds : []),
        // Only with a tool filter is the request's body read here (to know which answer is a list).
        rewrite: tools === undefined ? undefined : listRewrite(tools, request.req.method, summarize().messages),
        onOversized: () => {
          metrics.oversized(name);
          log.warn('an upstream message over the size limit was not passed on', {
            upstream: name,
            request: what(),
            limit: options.maxMessageBytes,
          });
          return tooLarge();
        },
      });
      // Relayed to its end: the response's closing no longer ends the upstream exchange.
      openStreams.delete(request.res);
    } catch (error) {
      if (error instanceof AnswerTooLargeError) {
        metrics.oversized(name);
        log.warn('an upstream answer over the size limit was not passed on', {
          upstream: name,
          request: what(),
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

  function refuse(request: RouteRequest, status: number, reason: RefusalReason, message: string): void {
    metrics.refused(reason);
    log.debug('request refused', { upstream: name, reason, status });
    const code = status === 404 ? SESSION_NOT_FOUND : -32000;
    sendJson(request.res, status, jsonRpcErrors(request.body, code, message) ?? jsonRpcError(code, message), request.answerHeaders);
  }

  return { send, deliver, refuse };
}

/**
 * What of an answer the tool filter reads: every answer of a POST that holds a `tools/list`
 * request; on a GET stream (which may carry answers again when a client resumes a broken POST
 * stream), the answers that mention tools at all; nothing else.
 */
function listRewrite(
  tools: ToolFilter,
  method: string | undefined,
  messages: readonly Record<string, unknown>[],
): ((json: string) => string) | undefined {
  if (method === 'GET') return (json) => (json.includes('"tools"') ? tools.filterAnswerText(json) : json);
  if (messages.some((message) => message['method'] === 'tools/list')) return (json) => tools.filterAnswerText(json);
  return undefined;
}
