// The contract between a host-facing side (the stdio bridge, the `serve` gateway) and the remote
// server, whatever era and transport the server speaks. Each era implements it in its own module:
// 2025 Streamable HTTP with session recovery, 2024 HTTP+SSE, 2026-07-28 stateless.
import { LifelineError } from '../errors/LifelineError.js';
import type { JsonRpcMessage } from '../shared/json-rpc.js';

/** A message as it was serialized: text, or the bytes (possibly in pieces) it arrived in. */
export type RawMessage = string | Uint8Array | readonly Uint8Array[];

/** The eras and transports an upstream can speak. */
type UpstreamEra = '2025-streamable-http' | '2024-http-sse' | '2026-stateless';

/** What an upstream tells the side that drives it. */
export interface UpstreamSink {
  /**
   * A message from the server (an answer to a host request, a server-to-client request, a
   * notification), or one the upstream makes itself on the server's behalf (an `initialize` answer
   * synthesized from `server/discover`, a JSON-RPC error for a request whose answer can no longer
   * come). `raw` is its serialized form without a trailing newline and without line breaks when the
   * upstream has it (text, or the bytes it arrived in), so the host side can write it without
   * serializing again. When `raw` is given, `message` may be a summary (jsonrpc and id) of a
   * successful answer too large to parse cheaply.
   */
  message(message: JsonRpcMessage, raw?: RawMessage): void;
  /** Something worth a log line or a metric: a recovery, an era decision, a background failure. */
  event(event: UpstreamEvent): void;
  /**
   * Backpressure: a promise while the host side cannot take more (stdout is full), undefined when
   * it can. Upstreams await it between reads of a server stream, so a slow host slows the server's
   * stream down instead of filling memory.
   */
  readonly ready?: (() => Promise<void> | undefined) | undefined;
}

/** What an upstream reports besides messages. Session ids in it are already redacted. */
export interface UpstreamEvent {
  /** `info` for decisions and recoveries, `warn` for degraded service, `debug` for detail. */
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  /** Stable short name: `era-decided`, `session-recovered`, `stream-backoff`, … */
  readonly type: string;
  /** One line for a human, free of secrets. */
  readonly message: string;
  readonly fields?: Readonly<Record<string, string | number | boolean | undefined>>;
}

/** Per-message options of {@linkcode Upstream.send}. */
export interface SendOptions {
  /** The message as the host serialized it, when the host side has it (avoids serializing again). */
  readonly raw?: string | undefined;
  /** Aborts the HTTP exchange (the host cancelled, or the host side's per-request bound fired). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * One logical connection to a remote MCP server on behalf of one host (one MCP session as the host
 * sees it). Delivery is asynchronous: `send` hands a message over, and whatever the server says
 * back arrives through the sink, in order per HTTP exchange.
 */
export interface Upstream {
  /** The era and transport in use; undefined until decided (for `auto`, at the host's `initialize`). */
  readonly era: UpstreamEra | undefined;
  /**
   * Hands one host message to the server. Resolves once the server took it (for a request: its
   * answer will arrive through the sink, or the upstream will put an error answer there itself).
   * Rejects with an `UpstreamError` when the message could not be delivered at all; the host side
   * then answers the request with that error, whose message names the cause.
   */
  send(message: JsonRpcMessage, options?: SendOptions): Promise<void>;
  /** Ends the server-side session where there is one (HTTP DELETE), bounded; never rejects. */
  end(): Promise<void>;
  /** Stops background work (the server's stream, timers) and aborts exchanges still in flight. */
  close(): Promise<void>;
}

/** Why a message could not be delivered: what the server said, or what failed, in words. */
export class UpstreamError extends LifelineError<'UPSTREAM_FAILED'> {
  override name = 'UpstreamError' as const;
  /** Whether the server may have executed the message (false when its answer proves it did not). */
  readonly mayHaveRun: boolean;
  /** The HTTP status the server answered with, if it answered. */
  readonly status: number | undefined;

  constructor(message: string, options: { mayHaveRun: boolean; status?: number | undefined; cause?: unknown }) {
    super('UPSTREAM_FAILED', message, { cause: options.cause });
    this.mayHaveRun = options.mayHaveRun;
    this.status = options.status;
  }
}

/** What every upstream factory takes. Era-specific factories may take more. */
export interface UpstreamOptions {
  /** The server's MCP endpoint (for 2024 HTTP+SSE servers: the SSE endpoint, usually `/sse`). */
  readonly url: URL;
  /** Sent with every request the upstream makes (credentials, API keys); never logged. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The fetch to use: `globalThis.fetch`, or one already wrapped by the caller (OAuth). An
   * upstream adds what its era needs on top (the 2025 one: `withSessionRecovery`).
   */
  readonly fetch: (url: string | URL, init?: RequestInit) => Promise<Response>;
  /** Bound, in ms, for every request the upstream sends on its own (handshakes, probes, DELETE). */
  readonly timeoutMs: number;
  /** Where messages and events go. */
  readonly sink: UpstreamSink;
}
