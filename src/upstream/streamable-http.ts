import { isFetchLayerError } from '../errors/LifelineError.js';
import { networkErrorText } from '../errors/network-error-text.js';
import type { LifelineEvent } from '../recovery/events.js';
import type { SessionRecoveryOptions } from '../recovery/options.js';
import { WatchedResponse } from '../recovery/watched-response.js';
import { withSessionRecovery } from '../recovery/with-session-recovery.js';
import type { ChunkReader } from '../shared/chunk-reader.js';
import type { JsonRpcId, JsonRpcMessage } from '../shared/json-rpc.js';
import { mediaType } from '../shared/media-type.js';
import { readWholeText } from '../shared/read-whole-body.js';
import { redactSessionId } from '../shared/redact.js';
import type { SseProgress } from '../shared/sse/read-sse-events.js';
import { sleep } from '../shared/timers.js';
import { fetchFailureText, speaksForItself } from './fetch-failure-text.js';
import { httpErrorText } from './http-error-text.js';
import { createMessageDelivery, type MessageDelivery } from './message-delivery.js';
import { recoveryReport } from './recovery-report.js';
import { runServerStream, type ServerStreamOptions } from './server-stream.js';
import { AnswerReader } from './streamable-http-answers.js';
import { type SendOptions, type Upstream, UpstreamError, type UpstreamEvent, type UpstreamOptions } from './upstream.js';
import { openUpstream, type UpstreamBasics } from './upstream-basics.js';

/** Options of {@linkcode createStreamableHttpUpstream}. */
export interface StreamableHttpUpstreamOptions extends UpstreamOptions {
  /**
   * Largest message, in bytes, the upstream holds to read it (a JSON body, one SSE event). A
   * larger one is dropped unread; a request it answered gets a JSON-RPC error naming the limit.
   * @default DEFAULT_MAX_MESSAGE_BYTES (8 MiB)
   */
  readonly maxMessageBytes?: number | undefined;
  /** Options for `withSessionRecovery` underneath (`onEvent` and `timeout` are the upstream's). */
  readonly recovery?: Omit<SessionRecoveryOptions, 'onEvent' | 'timeout'> | undefined;
  /** Reconnection of the server's own stream (HTTP GET). */
  readonly serverStream?: Partial<Pick<ServerStreamOptions, 'initialDelayMs' | 'maxDelayMs'>> | undefined;
}

/** 8 MiB: below the 10 MiB stdin buffer of hosts built on the official SDKs, which drop longer lines. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
const BODY_EXCERPT_BYTES = 4096;
const LIST_CHANGED = ['tools', 'prompts', 'resources'] as const;

type ServerCapabilities = Record<string, { listChanged?: boolean } | undefined>;

/**
 * The 2025-era Streamable HTTP client behind the bridge and the gateway (MCP 2025-03-26 …
 * 2025-11-25, basic/transports), with {@linkcode withSessionRecovery} underneath: each host message
 * is one POST; JSON and SSE answers are read as they come and handed to the sink as raw text (no
 * re-serializing); the server's own stream (GET) is kept open with backoff. Messages the host sends
 * after `initialize` wait until the handshake is done, so a host that pipes its first messages
 * without waiting still gets them delivered in order.
 */
export function createStreamableHttpUpstream(options: StreamableHttpUpstreamOptions): Upstream {
  return new StreamableHttpUpstream(options);
}

/**
 * One host's session with a Streamable HTTP server: the session the server issued (its id and
 * protocol version, which every request carries), the handshake later messages wait for, the
 * server's stream. The answers are read by {@linkcode AnswerReader}.
 */
class StreamableHttpUpstream implements Upstream {
  readonly era = '2025-streamable-http' as const;
  private readonly options: StreamableHttpUpstreamOptions;
  private readonly basics: UpstreamBasics;
  private readonly endpoint: string;
  private readonly fetchWithRecovery: (url: string, init: RequestInit) => Promise<Response>;
  private readonly delivery: MessageDelivery;
  private readonly answers: AnswerReader;
  private sessionId: string | undefined;
  private protocolVersion: string | undefined;
  private serverCapabilities: ServerCapabilities | undefined;
  // The host's initialize in flight: its answer says the protocol version and capabilities.
  private initializeId: JsonRpcId | undefined;
  private headers: Record<string, string>;
  // The handshake in flight (initialize, then notifications/initialized): later messages wait for it.
  private handshake: Promise<unknown> | undefined;
  private serverStream: Promise<void> | undefined;
  private lastLoss: LifelineEvent | undefined;

  constructor(options: StreamableHttpUpstreamOptions) {
    this.options = options;
    this.basics = openUpstream(options);
    this.endpoint = options.url.href;
    this.headers = this.requestHeaders();
    this.fetchWithRecovery = withSessionRecovery({
      ...options.recovery,
      timeout: options.timeoutMs,
      onEvent: (event) => this.recoveryEvent(event),
    })(this.basics.fetch);
    this.delivery = createMessageDelivery({
      sink: options.sink,
      scrub: this.basics.scrub,
      onAnswer: (message) => this.answered(message),
    });
    this.answers = new AnswerReader({
      sink: options.sink,
      delivery: this.delivery,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      where: this.basics.where,
      timeoutMs: options.timeoutMs,
      scrub: this.basics.scrub,
      closing: this.basics.lifetime.signal,
      resume: (progress, signal) => this.resume(progress, signal),
      failure: (error, message) => this.failure(error, message),
    });
  }

  async send(message: JsonRpcMessage, sendOptions: SendOptions = {}): Promise<void> {
    this.basics.assertOpen();
    if (this.handshake !== undefined) await this.handshake;
    const step = message.method === 'initialize' || message.method === 'notifications/initialized';
    if (!step) return this.exchange(message, sendOptions);
    const done = this.exchange(message, sendOptions);
    const settled = done.catch(() => {});
    this.handshake = settled;
    void settled.then(() => {
      if (this.handshake === settled) this.handshake = undefined;
    });
    await done;
    if (message.method === 'notifications/initialized') this.serverStream ??= this.openServerStream();
  }

  async end(): Promise<void> {
    if (this.sessionId === undefined) return;
    const ending = this.sessionId;
    this.sessionId = undefined;
    const endHeaders: Record<string, string> = { ...this.headers, 'mcp-session-id': ending };
    delete endHeaders['content-type'];
    const { timeoutMs, sink } = this.options;
    try {
      const response = await this.fetchWithRecovery(this.endpoint, {
        method: 'DELETE',
        headers: endHeaders,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel().catch(() => {});
      sink.event({
        level: 'debug',
        type: 'session-ended',
        message: 'session ended',
        fields: { status: response.status, session: redactSessionId(ending) },
      });
    } catch (error) {
      const text =
        error instanceof Error && error.name === 'TimeoutError'
          ? `the server did not confirm the session's end within ${timeoutMs} ms`
          : this.failureText(error);
      sink.event({ level: 'warn', type: 'session-end-failed', message: this.basics.scrub(text) });
    }
  }

  async close(): Promise<void> {
    this.basics.lifetime.abort(new UpstreamError('the connection to the server is closed', { mayHaveRun: true }));
    await this.serverStream;
  }

  /** Every request carries the session the server issued and the protocol version it agreed to. */
  private requestHeaders(): Record<string, string> {
    const base: Record<string, string> = {
      ...this.options.headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    if (this.sessionId !== undefined) base['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion !== undefined) base['mcp-protocol-version'] = this.protocolVersion;
    return base;
  }

  /** The host sent `initialize` (a second one, from a host that reconnects, starts a new session). */
  private initializeSent(id: JsonRpcId): void {
    this.initializeId = id;
    this.sessionId = undefined;
    this.protocolVersion = undefined;
    this.headers = this.requestHeaders();
  }

  /** The server issued a session at initialize. */
  private sessionIssued(id: string): void {
    this.sessionId = id;
    this.headers = this.requestHeaders();
  }

  /** Every answer, before the sink: the host's initialize answer says the version and capabilities. */
  private answered(message: JsonRpcMessage): void {
    if (message.id !== this.initializeId || this.initializeId === undefined) return;
    this.initializeId = undefined;
    const result = message.result as { protocolVersion?: unknown; capabilities?: ServerCapabilities } | undefined;
    if (typeof result?.protocolVersion === 'string') this.protocolVersion = result.protocolVersion;
    this.serverCapabilities = result?.capabilities;
    this.headers = this.requestHeaders();
  }

  private recoveryEvent(event: LifelineEvent): void {
    this.options.sink.event(this.scrubEvent(recoveryReport(event, this.lastLoss)));
    if (event.type === 'session-lost') this.lastLoss = event;
    if (event.type === 'reinitialized') this.announceListChanges(event.capabilities);
  }

  private scrubEvent<T extends Pick<UpstreamEvent, 'message' | 'fields'>>(event: T): T {
    const { scrub } = this.basics;
    const fields =
      event.fields === undefined
        ? undefined
        : Object.fromEntries(Object.entries(event.fields).map(([key, value]) => [key, typeof value === 'string' ? scrub(value) : value]));
    return { ...event, message: scrub(event.message), ...(fields === undefined ? {} : { fields }) };
  }

  /** After a recovery the server may have been redeployed with other lists: let the host refetch them. */
  private announceListChanges(capabilities: unknown): void {
    const current = (capabilities ?? {}) as ServerCapabilities;
    for (const kind of LIST_CHANGED) {
      if (current[kind]?.listChanged || this.serverCapabilities?.[kind]?.listChanged) {
        this.delivery.deliver({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` });
      }
    }
  }

  /** One POST: the message out, whatever the server answers handed to the sink. */
  private async exchange(message: JsonRpcMessage, sendOptions: SendOptions): Promise<void> {
    // Any id with any method (the gateway passes messages unvalidated): it waits for an answer.
    const request = message.id !== undefined && message.id !== null && message.method !== undefined;
    const isInitialize = request && message.method === 'initialize';
    if (isInitialize) this.initializeSent(message.id as JsonRpcId);
    const signal = sendOptions.signal ?? this.basics.lifetime.signal;
    let response: Response;
    try {
      const body = sendOptions.raw ?? JSON.stringify(message);
      response = await this.fetchWithRecovery(this.endpoint, { method: 'POST', headers: this.headers, body, signal });
    } catch (error) {
      throw this.failure(error, message);
    }
    if (isInitialize && response.ok) {
      const issued = response.headers.get('mcp-session-id');
      if (issued !== null && issued !== '') this.sessionIssued(issued);
    }
    if (response.status === 202 || response.status === 204) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    if (!response.ok) throw await this.refusal(response, message);
    const pending = new Set<JsonRpcId>(request ? [message.id as JsonRpcId] : []);
    const type = mediaType(response.headers.get('content-type'));
    const events = type === 'text/event-stream' ? WatchedResponse.readerOf(response) : null;
    if (events !== null) {
      const reading = this.answers.readStream(events, pending, message, signal);
      // The handshake waits for its answer; everything else is read as it comes.
      if (isInitialize) await reading;
      else void reading;
      return;
    }
    if (type === 'application/json' || type.endsWith('+json')) return this.answers.readJson(response, pending, message);
    await response.body?.cancel().catch(() => {});
    if (pending.size === 0) return;
    throw new UpstreamError(
      `${this.basics.where} answered ${message.method} with content type ${type || '(none)'}, not MCP (JSON or SSE): is this the MCP endpoint URL?`,
      { mayHaveRun: true, status: response.status },
    );
  }

  /** GET with Last-Event-ID, after the delay the server asked for (bounded). */
  private async resume(progress: SseProgress, signal: AbortSignal): Promise<ChunkReader | undefined> {
    await sleep(Math.min(progress.retryMs ?? 0, this.options.timeoutMs), { signal, onAbort: 'resolve' });
    const resumeHeaders: Record<string, string> = {
      ...this.headers,
      accept: 'text/event-stream',
      'last-event-id': progress.lastEventId ?? '',
    };
    delete resumeHeaders['content-type'];
    const response = await this.fetchWithRecovery(this.endpoint, { method: 'GET', headers: resumeHeaders, signal });
    if (response.ok && mediaType(response.headers.get('content-type')) === 'text/event-stream')
      return WatchedResponse.readerOf(response) ?? undefined;
    await response.body?.cancel().catch(() => {});
    throw new Error(`resuming the stream was answered with HTTP ${response.status}`);
  }

  private openServerStream(): Promise<void> {
    const { serverStream } = this.options;
    const closing = this.basics.lifetime.signal;
    return runServerStream({
      open: (lastEventId) => {
        const streamHeaders: Record<string, string> = { ...this.headers, accept: 'text/event-stream' };
        delete streamHeaders['content-type'];
        if (lastEventId !== undefined) streamHeaders['last-event-id'] = lastEventId;
        return this.fetchWithRecovery(this.endpoint, { method: 'GET', headers: streamHeaders, signal: closing });
      },
      read: (body, progress) => this.answers.readServerStream(body, progress),
      report: (event) => this.options.sink.event(this.scrubEvent(event)),
      describe: (error) => this.basics.scrub(this.failureText(error)),
      signal: closing,
      initialDelayMs: serverStream?.initialDelayMs ?? 1000,
      maxDelayMs: serverStream?.maxDelayMs ?? 60_000,
    }).catch(() => {});
  }

  /** The server's refusal of a message, as an UpstreamError with its words (scrubbed). */
  private async refusal(response: Response, message: JsonRpcMessage): Promise<UpstreamError> {
    let body = '';
    try {
      body = ((await readWholeText(response, BODY_EXCERPT_BYTES)) ?? '').slice(0, BODY_EXCERPT_BYTES);
    } catch {
      // Too long or broken: the status says enough.
    }
    const text = httpErrorText(response.status, this.basics.scrub(body), this.basics.where);
    const hint =
      message.method === 'initialize' && (response.status === 404 || response.status === 405)
        ? ' (an HTTP+SSE server of the 2024 era? try --transport sse)'
        : '';
    // A 4xx is the server refusing the message: it did not run. A 5xx may come after it ran.
    return new UpstreamError(`${text}${hint}`, { mayHaveRun: response.status >= 500, status: response.status });
  }

  private failure(error: unknown, message: JsonRpcMessage): UpstreamError {
    if (error instanceof UpstreamError) return error;
    const mayHaveRun = isFetchLayerError(error) ? error.code === 'REPLAY_FAILED' : !isRefusedConnection(error);
    const text = speaksForItself(error)
      ? error.message
      : `cannot reach ${this.basics.where} for ${message.method ?? 'a message'}: ${this.failureText(error)}`;
    return new UpstreamError(this.basics.scrub(text), { mayHaveRun, cause: error });
  }

  private failureText(error: unknown): string {
    return fetchFailureText(error, this.options.timeoutMs);
  }
}

function isRefusedConnection(error: unknown): boolean {
  return /\((?:ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)\)$/.test(networkErrorText(error));
}
