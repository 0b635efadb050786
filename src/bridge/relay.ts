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

/**
 * Whether the host got a session: `none` until its first `initialize` is answered; `failed` when
 * every `initialize` so far failed (the server could not be reached, refused, answered with an
 * error, or a sign-in is still needed); `opened` once one succeeded, for good.
 */
type SessionStart = 'none' | 'failed' | 'opened';

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
  /** Whether the host got a session (the bridge's exit code tells it). */
  readonly start: SessionStart;
}

/** Requests queued beyond the in-flight cap before the host is asked to slow down. */
const QUEUE_HIGH_WATER = 1024;
/** JSON-RPC code the official SDKs use for a request timeout (ErrorCode.RequestTimeout). */
const REQUEST_TIMEOUT = -32001;
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
  return new HostRelay(options);
}

/** The requests of one host on their way to one upstream, each to its one answer. */
class HostRelay implements Relay {
  private readonly options: RelayOptions;
  private readonly upstream: Upstream;
  // Host requests waiting for an answer, by id key; with a progress token, also by that token.
  private readonly waiting = new Map<string, Pending>();
  private readonly byProgressToken = new Map<string | number, Pending>();
  // Requests beyond the in-flight cap, in the order the host sent them.
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private throttled = false;
  private closed = false;
  // Whether the host got a session; once opened, later failures are passing.
  private session: SessionStart = 'none';
  private readonly idleWaiters = new Set<() => void>();

  constructor(options: RelayOptions) {
    this.options = options;
    this.upstream = options.createUpstream({
      message: (message, raw) => this.fromServer(message, raw),
      event: options.report,
      ready: options.host.ready,
    });
  }

  get pending(): number {
    return this.waiting.size;
  }

  get start(): SessionStart {
    return this.session;
  }

  fromHost(message: JsonRpcMessage, raw: string): void {
    if (this.closed) return;
    if (message.method !== undefined && message.id !== undefined && message.id !== null) {
      this.request(message, message.id, raw);
      return;
    }
    if (message.method === 'notifications/cancelled' && !this.cancelled(message)) return;
    this.upstream.send(message, { raw }).catch((error: unknown) => {
      this.options.report({
        level: 'warn',
        type: 'message-not-delivered',
        message: `could not pass ${message.method ?? 'an answer'} to the server: ${textOf(error)}`,
      });
    });
  }

  settle(graceMs: number): Promise<boolean> {
    if (this.waiting.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.idleWaiters.delete(wake);
        resolve(value);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), graceMs);
      this.idleWaiters.add(wake);
    });
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const entry of [...this.waiting.values()]) {
      this.finish(entry);
      this.options.host.write(
        errorReply(
          entry.id,
          UPSTREAM_FAILED,
          `mcp-lifeline: ${reason} before the answer to ${entry.method} arrived; it may or may not have run`,
        ),
      );
      entry.controller.abort(new UpstreamError(reason, { mayHaveRun: true }));
    }
    await this.upstream.end();
    await this.upstream.close();
  }

  private request(message: JsonRpcMessage, id: JsonRpcId, raw: string): void {
    const key = idKey(id);
    if (this.waiting.has(key)) {
      // JSON-RPC 2.0 §4: ids identify requests; two in flight with one id could not be told apart.
      this.options.host.write(
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
    this.waiting.set(key, entry);
    if (entry.progressToken !== undefined) this.byProgressToken.set(entry.progressToken, entry);
    entry.timer = setTimeout(() => this.timedOut(entry), this.options.requestTimeoutMs);
    if (this.inFlight < this.options.maxInFlight) {
      this.dispatch(entry);
      return;
    }
    this.queue.push(entry);
    if (!this.throttled && this.queue.length >= QUEUE_HIGH_WATER) {
      this.throttled = true;
      this.options.throttle(true);
    }
  }

  private dispatch(entry: Pending): void {
    entry.dispatched = true;
    this.inFlight += 1;
    this.upstream.send(entry.message, { raw: entry.raw, signal: entry.controller.signal }).catch((error: unknown) => {
      if (!this.isCurrent(entry)) return;
      this.finish(entry);
      const text = textOf(error);
      this.options.report({ level: 'error', type: 'request-failed', message: text, fields: { method: entry.method } });
      this.options.host.write(errorReply(entry.id, UPSTREAM_FAILED, `mcp-lifeline: ${text}`));
      if (entry.method === 'initialize') this.initializeEnded(false);
    });
  }

  /** The host's `initialize` got its answer: a session, or none (yet). */
  private initializeEnded(opened: boolean): void {
    if (this.session !== 'opened') this.session = opened ? 'opened' : 'failed';
  }

  private fromServer(message: JsonRpcMessage, raw?: RawMessage): void {
    if (message.method === undefined) {
      const entry = message.id === undefined || message.id === null ? undefined : this.waiting.get(idKey(message.id));
      if (entry === undefined) {
        this.options.report({
          level: 'debug',
          type: 'answer-dropped',
          message: 'dropped an answer no host request is waiting for',
          fields: { id: String(message.id) },
        });
        return;
      }
      this.finish(entry);
      if (entry.method === 'initialize') this.initializeEnded(message.result !== undefined);
    } else if (message.method === 'notifications/progress') {
      const token = (message.params as { progressToken?: string | number } | undefined)?.progressToken;
      const entry = token === undefined ? undefined : this.byProgressToken.get(token);
      // MCP basic/lifecycle §Timeouts: progress may reset the timeout clock.
      entry?.timer?.refresh();
    }
    this.options.host.write(message, raw);
  }

  /** The host cancelled a request: true when the server should hear of it (it was sent). */
  private cancelled(message: JsonRpcMessage): boolean {
    const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return true;
    const entry = this.waiting.get(idKey(requestId));
    if (entry === undefined) return true;
    // The host expects no answer to a cancelled request (MCP utilities/cancellation).
    this.finish(entry);
    if (!entry.dispatched) return false;
    // Abort after the notification is on its way, so the server hears the reason before the hang-up.
    queueMicrotask(() => entry.controller.abort(new UpstreamError('cancelled by the host', { mayHaveRun: true })));
    return true;
  }

  private timedOut(entry: Pending): void {
    if (!this.isCurrent(entry)) return;
    this.finish(entry);
    if (entry.method === 'initialize') this.initializeEnded(false);
    const seconds = Math.round(this.options.requestTimeoutMs / 1000);
    this.options.host.write(
      errorReply(
        entry.id,
        REQUEST_TIMEOUT,
        `mcp-lifeline: no answer from ${this.options.where} to ${entry.method} within ${seconds} s (--request-timeout); ` +
          `${entry.dispatched ? 'the request was cancelled; it may or may not have run' : 'it was never sent'}`,
      ),
    );
    if (!entry.dispatched || entry.method === 'initialize') return;
    this.upstream
      .send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: entry.id, reason: 'timed out in mcp-lifeline' } })
      .catch(() => {})
      .finally(() => entry.controller.abort(new UpstreamError('timed out', { mayHaveRun: true })));
  }

  private isCurrent(entry: Pending): boolean {
    return this.waiting.get(idKey(entry.id)) === entry;
  }

  /** `entry` has its answer (or will get none): it leaves the books, and the next queued request may go. */
  private finish(entry: Pending): void {
    this.waiting.delete(idKey(entry.id));
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.progressToken !== undefined && this.byProgressToken.get(entry.progressToken) === entry)
      this.byProgressToken.delete(entry.progressToken);
    if (entry.dispatched) {
      this.inFlight -= 1;
      this.pump();
    } else {
      const index = this.queue.indexOf(entry);
      if (index !== -1) this.queue.splice(index, 1);
    }
    if (this.waiting.size === 0) for (const wake of this.idleWaiters) wake();
  }

  private pump(): void {
    if (this.closed) return;
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) this.dispatch(this.queue.shift() as Pending);
    if (this.throttled && this.queue.length < QUEUE_HIGH_WATER / 2) {
      this.throttled = false;
      this.options.throttle(false);
    }
  }
}

function textOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
