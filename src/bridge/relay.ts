import { errorReply, INVALID_REQUEST, idKey, type JsonRpcId, type JsonRpcMessage, LIFELINE_ERROR } from '../shared/json-rpc.js';
import type { RawMessage, Upstream, UpstreamEvent, UpstreamSink } from '../upstream/upstream.js';
import { UpstreamError } from '../upstream/upstream.js';
import type { HostWriter } from './host-writer.js';

/** Options of {@linkcode createRelay}. */
export interface RelayOptions {
  readonly host: HostWriter;
  /** Makes the upstream, given where it should deliver. */
  readonly createUpstream: (sink: UpstreamSink) => Upstream;
  /** Bound for each host request, reset by the server's progress notifications for it. */
  readonly requestTimeoutMs: number;
  /** Host requests sent to the server at once; the rest wait in order. */
  readonly maxInFlight: number;
  /** The endpoint, for messages. */
  readonly where: string;
  readonly report: (event: UpstreamEvent) => void;
  /** Called when so many requests wait that the host should stop sending for a while, and when it may go on. */
  readonly throttle: (paused: boolean) => void;
}

/** A host request on its way: it gets exactly one answer, from the server or from the relay. */
interface Pending {
  readonly id: JsonRpcId;
  readonly method: string;
  readonly message: JsonRpcMessage;
  readonly raw: string;
  readonly controller: AbortController;
  readonly progressToken: string | number | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  dispatched: boolean;
}

/** The relay between one host and one upstream. */
export interface Relay {
  /** A message from the host. */
  fromHost(message: JsonRpcMessage, raw: string): void;
  /** Resolves true once nothing waits or is in flight, false when `graceMs` passed first. */
  settle(graceMs: number): Promise<boolean>;
  /** Answers whatever is left with `reason`, ends the server's session and closes the upstream. */
  close(reason: string): Promise<void>;
  /** Requests still waiting for an answer. */
  readonly pending: number;
}

/** Requests queued beyond the in-flight cap before the host is asked to slow down. */
const QUEUE_HIGH_WATER = 1024;
/** JSON-RPC code the official SDKs use for a request timeout (ErrorCode.RequestTimeout). */
export const REQUEST_TIMEOUT = -32001;
/** The server could not be reached or refused (JSON-RPC 2.0 §5.1's implementation-defined range). */
const UPSTREAM_FAILED = LIFELINE_ERROR;

/**
 * Gives every host request exactly one answer: the server's, or an error that says why none came
 * (the server refused, the connection failed, the stream ended without it, the request timed out).
 * Caps the requests in flight to the server (the rest wait in order; notifications and answers to
 * the server's own requests never wait, or a server waiting on the host could deadlock), refuses a
 * second in-flight request with the same id, and drops answers nobody is waiting for.
 */
export function createRelay(options: RelayOptions): Relay {
  const { host, report } = options;
  const pending = new Map<string, Pending>();
  const byProgressToken = new Map<string | number, Pending>();
  const queue: Pending[] = [];
  let inFlight = 0;
  let throttled = false;
  let closed = false;
  const idleWaiters = new Set<() => void>();

  const upstream = options.createUpstream({
    message: fromServer,
    event: report,
    ready: host.ready,
  });

  function fromHost(message: JsonRpcMessage, raw: string): void {
    if (closed) return;
    if (message.method !== undefined && message.id !== undefined && message.id !== null) {
      request(message, message.id, raw);
      return;
    }
    if (message.method === 'notifications/cancelled' && !cancelled(message)) return;
    upstream.send(message, { raw }).catch((error: unknown) => {
      report({
        level: 'warn',
        type: 'message-not-delivered',
        message: `could not pass ${message.method ?? 'an answer'} to the server: ${textOf(error)}`,
      });
    });
  }

  function request(message: JsonRpcMessage, id: JsonRpcId, raw: string): void {
    const key = idKey(id);
    if (pending.has(key)) {
      // JSON-RPC 2.0 §4: ids identify requests; two in flight with one id could not be told apart.
      host.write(
        errorReply(
          id,
          INVALID_REQUEST,
          `mcp-lifeline: a request with id ${JSON.stringify(id)} is already in flight; this one was not sent`,
        ),
      );
      return;
    }
    const meta = (message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta;
    const token = meta?.progressToken;
    const entry: Pending = {
      id,
      method: message.method ?? 'request',
      message,
      raw,
      controller: new AbortController(),
      progressToken: typeof token === 'string' || typeof token === 'number' ? token : undefined,
      timer: undefined,
      dispatched: false,
    };
    pending.set(key, entry);
    if (entry.progressToken !== undefined) byProgressToken.set(entry.progressToken, entry);
    entry.timer = setTimeout(() => timedOut(entry), options.requestTimeoutMs);
    if (inFlight < options.maxInFlight) {
      dispatch(entry);
      return;
    }
    queue.push(entry);
    if (!throttled && queue.length >= QUEUE_HIGH_WATER) {
      throttled = true;
      options.throttle(true);
    }
  }

  function dispatch(entry: Pending): void {
    entry.dispatched = true;
    inFlight += 1;
    upstream.send(entry.message, { raw: entry.raw, signal: entry.controller.signal }).catch((error: unknown) => {
      if (!isCurrent(entry)) return;
      finish(entry);
      const text = textOf(error);
      report({ level: 'error', type: 'request-failed', message: text, fields: { method: entry.method } });
      host.write(errorReply(entry.id, UPSTREAM_FAILED, `mcp-lifeline: ${text}`));
    });
  }

  function fromServer(message: JsonRpcMessage, raw?: RawMessage): void {
    if (message.method === undefined) {
      const entry = message.id === undefined || message.id === null ? undefined : pending.get(idKey(message.id));
      if (entry === undefined) {
        report({
          level: 'debug',
          type: 'answer-dropped',
          message: 'dropped an answer no host request is waiting for',
          fields: { id: String(message.id) },
        });
        return;
      }
      finish(entry);
    } else if (message.method === 'notifications/progress') {
      const token = (message.params as { progressToken?: string | number } | undefined)?.progressToken;
      const entry = token === undefined ? undefined : byProgressToken.get(token);
      // MCP basic/lifecycle §Timeouts: progress may reset the timeout clock.
      entry?.timer?.refresh();
    }
    host.write(message, raw);
  }

  /** The host cancelled a request: true when the server should hear of it (it was sent). */
  function cancelled(message: JsonRpcMessage): boolean {
    const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return true;
    const entry = pending.get(idKey(requestId));
    if (entry === undefined) return true;
    // The host expects no answer to a cancelled request (MCP utilities/cancellation).
    finish(entry);
    if (!entry.dispatched) return false;
    // Abort after the notification is on its way, so the server hears the reason before the hang-up.
    queueMicrotask(() => entry.controller.abort(new UpstreamError('cancelled by the host', { mayHaveRun: true })));
    return true;
  }

  function timedOut(entry: Pending): void {
    if (!isCurrent(entry)) return;
    finish(entry);
    const seconds = Math.round(options.requestTimeoutMs / 1000);
    host.write(
      errorReply(
        entry.id,
        REQUEST_TIMEOUT,
        `mcp-lifeline: no answer from ${options.where} to ${entry.method} within ${seconds} s (--request-timeout); ` +
          `${entry.dispatched ? 'the request was cancelled; it may or may not have run' : 'it was never sent'}`,
      ),
    );
    if (!entry.dispatched || entry.method === 'initialize') return;
    upstream
      .send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: entry.id, reason: 'timed out in mcp-lifeline' } })
      .catch(() => {})
      .finally(() => entry.controller.abort(new UpstreamError('timed out', { mayHaveRun: true })));
  }

  function isCurrent(entry: Pending): boolean {
    return pending.get(idKey(entry.id)) === entry;
  }

  function finish(entry: Pending): void {
    pending.delete(idKey(entry.id));
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.progressToken !== undefined && byProgressToken.get(entry.progressToken) === entry)
      byProgressToken.delete(entry.progressToken);
    if (entry.dispatched) {
      inFlight -= 1;
      pump();
    } else {
      const index = queue.indexOf(entry);
      if (index !== -1) queue.splice(index, 1);
    }
    if (pending.size === 0) for (const wake of idleWaiters) wake();
  }

  function pump(): void {
    if (closed) return;
    while (inFlight < options.maxInFlight && queue.length > 0) dispatch(queue.shift() as Pending);
    if (throttled && queue.length < QUEUE_HIGH_WATER / 2) {
      throttled = false;
      options.throttle(false);
    }
  }

  return {
    fromHost,
    get pending() {
      return pending.size;
    },
    settle(graceMs) {
      if (pending.size === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (value: boolean) => {
          clearTimeout(timer);
          idleWaiters.delete(wake);
          resolve(value);
        };
        const wake = () => done(true);
        const timer = setTimeout(() => done(false), graceMs);
        idleWaiters.add(wake);
      });
    },
    async close(reason) {
      if (closed) return;
      closed = true;
      for (const entry of [...pending.values()]) {
        finish(entry);
        host.write(
          errorReply(
            entry.id,
            UPSTREAM_FAILED,
            `mcp-lifeline: ${reason} before the answer to ${entry.method} arrived; it may or may not have run`,
          ),
        );
        entry.controller.abort(new UpstreamError(reason, { mayHaveRun: true }));
      }
      await upstream.end();
      await upstream.close();
    },
  };
}

function textOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
