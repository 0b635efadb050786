import { isFetchLayerError } from '../errors/LifelineError.js';
import { networkErrorText } from '../errors/network-error-text.js';
import type { LifelineEvent } from '../recovery/events.js';
import type { SessionRecoveryOptions } from '../recovery/options.js';
import { withSessionRecovery } from '../recovery/with-session-recovery.js';
import { joinText } from '../shared/concat-bytes.js';
import { type JsonRpcId, type JsonRpcMessage, LIFELINE_ERROR } from '../shared/json-rpc.js';
import { mediaType } from '../shared/media-type.js';
import { type BodyBytes, readWholeBody, readWholeText } from '../shared/read-whole-body.js';
import { describeUrl, redactSessionId } from '../shared/redact.js';
import { scrubberForRequest } from '../shared/secret-scrubber.js';
import { excerpt } from '../shared/server-text.js';
import { readSseEvents, type SseEvent, type SseProgress } from '../shared/sse/read-sse-events.js';
import { sleep } from '../shared/timers.js';
import { fetchFailureText, speaksForItself } from './fetch-failure-text.js';
import { httpErrorText } from './http-error-text.js';
import { createMessageDelivery, type MessageDelivery } from './message-delivery.js';
import { recoveryReport } from './recovery-report.js';
import { followSameOriginRedirects } from './same-origin-redirects.js';
import { runServerStream, type ServerStreamOptions } from './server-stream.js';
import { type Upstream, UpstreamError, type UpstreamOptions } from './upstream.js';

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
/** Above this, a message is held as bytes and passed on without being parsed (only its ends are read). */
const LARGE_MESSAGE_BYTES = 64 * 1024;
/** Times a response stream that ended early is resumed from its last event id (spec: GET with Last-Event-ID). */
const MAX_RESUMES = 3;
const BODY_EXCERPT_BYTES = 4096;
const LIST_CHANGED = ['tools', 'prompts', 'resources'] as const;

/**
 * The 2025-era Streamable HTTP client behind the bridge and the gateway (MCP 2025-03-26 …
 * 2025-11-25, basic/transports), with {@linkcode withSessionRecovery} underneath: each host message
 * is one POST; JSON and SSE answers are read as they come and handed to the sink as raw text (no
 * re-serializing); the server's own stream (GET) is kept open with backoff. Messages the host sends
 * after `initialize` wait until the handshake is done, so a host that pipes its first messages
 * without waiting still gets them delivered in order.
 */
export function createStreamableHttpUpstream(options: StreamableHttpUpstreamOptions): Upstream {
  const { url, sink } = options;
  const endpoint = url.href;
  const where = describeUrl(endpoint);
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const scrubber = scrubberForRequest(options.headers);
  const closing = new AbortController();
  let lastLoss: LifelineEvent | undefined;
  const fetchWithRecovery = withSessionRecovery({
    ...options.recovery,
    timeout: options.timeoutMs,
    onEvent: (event) => onRecoveryEvent(event),
  })(followSameOriginRedirects(options.fetch));

  let sessionId: string | undefined;
  let protocolVersion: string | undefined;
  let serverCapabilities: Record<string, { listChanged?: boolean } | undefined> | undefined;
  let initializeId: JsonRpcId | undefined;
  let headers = requestHeaders();
  // The handshake in flight (initialize, then notifications/initialized): later messages wait for it.
  let handshake: Promise<unknown> | undefined;
  let serverStream: Promise<void> | undefined;
  let lastTraffic = Date.now();

  const delivery: MessageDelivery = createMessageDelivery({
    sink,
    scrub: (text) => scrubber.scrub(text),
    onAnswer(message) {
      if (message.id !== initializeId || initializeId === undefined) return;
      initializeId = undefined;
      const result = message.result as { protocolVersion?: unknown; capabilities?: typeof serverCapabilities } | undefined;
      if (typeof result?.protocolVersion === 'string') protocolVersion = result.protocolVersion;
      serverCapabilities = result?.capabilities;
      headers = requestHeaders();
    },
  });

  function requestHeaders(): Record<string, string> {
    const base: Record<string, string> = {
      ...options.headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    if (sessionId !== undefined) base['mcp-session-id'] = sessionId;
    if (protocolVersion !== undefined) base['mcp-protocol-version'] = protocolVersion;
    return base;
  }

  function onRecoveryEvent(event: LifelineEvent): void {
    sink.event(scrubEvent(recoveryReport(event, lastLoss)));
    if (event.type === 'session-lost') lastLoss = event;
    if (event.type === 'reinitialized') announceListChanges(event.capabilities);
  }

  function scrubEvent<T extends { message: string; fields?: Readonly<Record<string, string | number | boolean | undefined>> }>(
    event: T,
  ): T {
    const fields =
      event.fields === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries(event.fields).map(([key, value]) => [key, typeof value === 'string' ? scrubber.scrub(value) : value]),
          );
    return { ...event, message: scrubber.scrub(event.message), ...(fields === undefined ? {} : { fields }) };
  }

  /** After a recovery the server may have been redeployed with other lists: let the host refetch them. */
  function announceListChanges(capabilities: unknown): void {
    const current = (capabilities ?? {}) as typeof serverCapabilities & object;
    for (const kind of LIST_CHANGED) {
      if (current[kind]?.listChanged || serverCapabilities?.[kind]?.listChanged) {
        delivery.deliver({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` });
      }
    }
  }

  async function send(message: JsonRpcMessage, sendOptions: { raw?: string | undefined; signal?: AbortSignal | undefined } = {}) {
    if (closing.signal.aborted) throw new UpstreamError('the connection to the server is closed', { mayHaveRun: false });
    lastTraffic = Date.now();
    if (handshake !== undefined) await handshake;
    const step = message.method === 'initialize' || message.method === 'notifications/initialized';
    if (!step) return exchange(message, sendOptions);
    const done = exchange(message, sendOptions);
    const settled = done.catch(() => {});
    handshake = settled;
    void settled.then(() => {
      if (handshake === settled) handshake = undefined;
    });
    await done;
    if (message.method === 'notifications/initialized') serverStream ??= openServerStream();
  }

  /** One POST: the message out, whatever the server answers handed to the sink. */
  async function exchange(message: JsonRpcMessage, sendOptions: { raw?: string | undefined; signal?: AbortSignal | undefined }) {
    // Any id with any method (the gateway passes messages unvalidated): it waits for an answer.
    const request = message.id !== undefined && message.id !== null && message.method !== undefined;
    const isInitialize = request && message.method === 'initialize';
    if (isInitialize) {
      initializeId = message.id as JsonRpcId;
      // A second initialize (a host that reconnects) starts a new session.
      sessionId = undefined;
      protocolVersion = undefined;
      headers = requestHeaders();
    }
    const signal = sendOptions.signal ?? closing.signal;
    let response: Response;
    try {
      response = await fetchWithRecovery(endpoint, { method: 'POST', headers, body: sendOptions.raw ?? JSON.stringify(message), signal });
    } catch (error) {
      throw failure(error, message);
    }
    lastTraffic = Date.now();
    if (isInitialize && response.ok) {
      const issued = response.headers.get('mcp-session-id');
      if (issued !== null && issued !== '') {
        sessionId = issued;
        headers = requestHeaders();
      }
    }
    if (response.status === 202 || response.status === 204) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    if (!response.ok) throw await refusal(response, message);
    const pending = new Set<JsonRpcId>(request ? [message.id as JsonRpcId] : []);
    const type = mediaType(response.headers.get('content-type'));
    if (type === 'text/event-stream' && response.body !== null) {
      const reading = readResponseStream(response.body, pending, message, signal);
      // The handshake waits for its answer; everything else is read as it comes.
      if (isInitialize) await reading;
      else void reading;
      return;
    }
    if (type === 'application/json' || type.endsWith('+json')) return readJsonAnswer(response, pending, message);
    await response.body?.cancel().catch(() => {});
    if (pending.size === 0) return;
    throw new UpstreamError(
      `${where} answered ${message.method} with content type ${type || '(none)'}, not MCP (JSON or SSE): is this the MCP endpoint URL?`,
      { mayHaveRun: true, status: response.status },
    );
  }

  async function readJsonAnswer(response: Response, pending: Set<JsonRpcId>, message: JsonRpcMessage): Promise<void> {
    let text: string | undefined;
    let body: BodyBytes | undefined;
    try {
      // A small body with a declared length is read with text(), which the middleware watches for
      // a session error in a 200; a large one is held as bytes and passed on as they are.
      const declared = Number(response.headers.get('content-length'));
      if (declared > 0 && declared <= LARGE_MESSAGE_BYTES) text = await response.text();
      else body = await readWholeBody(response, maxMessageBytes);
    } catch (error) {
      throw failure(error, message);
    }
    if (text === undefined && body === undefined) {
      sink.event({
        level: 'warn',
        type: 'message-too-large',
        message: `dropped an answer larger than ${maxMessageBytes} bytes from the server`,
      });
      return answerMissing(
        pending,
        message,
        `its answer was larger than the ${maxMessageBytes}-byte message limit (--max-message-size) and was dropped`,
      );
    }
    if (body !== undefined && body.bytes <= LARGE_MESSAGE_BYTES) text = joinText(body.chunks, body.bytes);
    const delivered =
      text !== undefined
        ? delivery.deliverText(text, pending)
        : delivery.deliverBytes((body?.chunks ?? []).map(foldLineBreaks), body?.bytes ?? 0, pending);
    if (!delivered && pending.size > 0) {
      const start = text ?? joinText(body?.chunks.slice(0, 1) ?? [], 0);
      return answerMissing(
        pending,
        message,
        `the server answered with invalid JSON: ${excerpt(scrubber.scrub(start.slice(0, 200))).trim()}`,
      );
    }
    if (pending.size > 0) answerMissing(pending, message, 'the server answered HTTP 200 without an answer to it');
  }

  /**
   * Reads a POST's SSE answer. When it ends (or breaks) before the answer, it is resumed from its
   * last event id where the server gave one (2025-11-25 lets servers close early and expects the
   * client to resume with GET and Last-Event-ID); otherwise the request is answered with an error
   * at once, instead of waiting for a timeout the server already made certain.
   */
  async function readResponseStream(
    body: ReadableStream<Uint8Array>,
    pending: Set<JsonRpcId>,
    message: JsonRpcMessage,
    signal: AbortSignal,
  ) {
    const progress: SseProgress = { lastEventId: undefined, retryMs: undefined };
    const trouble = { invalid: 0, oversized: 0, broke: undefined as unknown };
    let stream: ReadableStream<Uint8Array> | undefined = body;
    for (let resumes = 0; stream !== undefined; resumes++) {
      try {
        await readSseEvents(stream, {
          maxEventBytes: maxMessageBytes,
          textLimit: LARGE_MESSAGE_BYTES,
          progress,
          handlers: eventHandlers(pending, trouble),
        });
        trouble.broke = undefined;
      } catch (error) {
        trouble.broke = error;
      }
      lastTraffic = Date.now();
      if (pending.size === 0 || signal.aborted || closing.signal.aborted) return;
      stream = undefined;
      if (progress.lastEventId === undefined || resumes >= MAX_RESUMES) break;
      try {
        stream = await resume(progress, signal);
      } catch (error) {
        trouble.broke = error;
      }
    }
    answerMissing(pending, message, streamTrouble(trouble));
  }

  function eventHandlers(pending: Set<JsonRpcId>, trouble: { invalid: number; oversized: number }) {
    return {
      onEvent: (event: SseEvent) => {
        const delivered =
          event.data !== undefined
            ? delivery.deliverText(event.data, pending)
            : delivery.deliverBytes(event.chunks ?? [], event.bytes, pending);
        if (!delivered) trouble.invalid += 1;
      },
      onOversized: () => {
        trouble.oversized += 1;
        sink.event({
          level: 'warn',
          type: 'message-too-large',
          message: `dropped a message larger than ${maxMessageBytes} bytes from the server`,
        });
      },
      ready: sink.ready,
    };
  }

  /** GET with Last-Event-ID, after the delay the server asked for (bounded). */
  async function resume(progress: SseProgress, signal: AbortSignal): Promise<ReadableStream<Uint8Array> | undefined> {
    await sleep(Math.min(progress.retryMs ?? 0, options.timeoutMs), { signal, onAbort: 'resolve' });
    const resumeHeaders: Record<string, string> = { ...headers, accept: 'text/event-stream', 'last-event-id': progress.lastEventId ?? '' };
    delete resumeHeaders['content-type'];
    const response = await fetchWithRecovery(endpoint, { method: 'GET', headers: resumeHeaders, signal });
    if (response.ok && mediaType(response.headers.get('content-type')) === 'text/event-stream') return response.body ?? undefined;
    await response.body?.cancel().catch(() => {});
    throw new Error(`resuming the stream was answered with HTTP ${response.status}`);
  }

  function streamTrouble(trouble: { invalid: number; oversized: number; broke: unknown }): string {
    const parts = [
      trouble.broke === undefined
        ? 'the server ended the response stream without answering it'
        : `the server's response stream broke before the answer arrived (${networkErrorText(trouble.broke, options.timeoutMs)})`,
    ];
    if (trouble.invalid > 0) parts.push(`${trouble.invalid} event(s) in it were not valid JSON`);
    if (trouble.oversized > 0)
      parts.push(`${trouble.oversized} message(s) in it exceeded the ${maxMessageBytes}-byte limit (--max-message-size) and were dropped`);
    return parts.join('; ');
  }

  /** Answers each request still waiting with a JSON-RPC error that says what happened. */
  function answerMissing(pending: Set<JsonRpcId>, message: JsonRpcMessage, why: string): void {
    for (const id of pending) {
      delivery.deliver({
        jsonrpc: '2.0',
        id,
        error: {
          code: LIFELINE_ERROR,
          message: `mcp-lifeline: ${message.method ?? 'request'} to ${where}: ${why}; it may or may not have run, so it was not sent again`,
        },
      });
    }
    pending.clear();
  }

  function openServerStream(): Promise<void> {
    return runServerStream({
      open: (lastEventId) => {
        const streamHeaders: Record<string, string> = { ...headers, accept: 'text/event-stream' };
        delete streamHeaders['content-type'];
        if (lastEventId !== undefined) streamHeaders['last-event-id'] = lastEventId;
        return fetchWithRecovery(endpoint, { method: 'GET', headers: streamHeaders, signal: closing.signal });
      },
      read: async (body, progress) => {
        const handlers = eventHandlers(new Set(), { invalid: 0, oversized: 0 });
        let events = 0;
        const onEvent = handlers.onEvent;
        handlers.onEvent = (event) => {
          events += 1;
          onEvent(event);
        };
        await readSseEvents(body, { maxEventBytes: maxMessageBytes, textLimit: LARGE_MESSAGE_BYTES, progress, handlers });
        return events;
      },
      report: (event) => sink.event(scrubEvent(event)),
      describe: (error) => scrubber.scrub(failureText(error)),
      signal: closing.signal,
      initialDelayMs: options.serverStream?.initialDelayMs ?? 1000,
      maxDelayMs: options.serverStream?.maxDelayMs ?? 60_000,
    }).catch(() => {});
  }

  /** The server's refusal of a message, as an UpstreamError with its words (scrubbed). */
  async function refusal(response: Response, message: JsonRpcMessage): Promise<UpstreamError> {
    let body = '';
    try {
      body = ((await readWholeText(response, BODY_EXCERPT_BYTES)) ?? '').slice(0, BODY_EXCERPT_BYTES);
    } catch {
      // Too long or broken: the status says enough.
    }
    const text = httpErrorText(response.status, scrubber.scrub(body), where);
    const hint =
      message.method === 'initialize' && (response.status === 404 || response.status === 405)
        ? ' (an HTTP+SSE server of the 2024 era? try --transport sse)'
        : '';
    // A 4xx is the server refusing the message: it did not run. A 5xx may come after it ran.
    return new UpstreamError(`${text}${hint}`, { mayHaveRun: response.status >= 500, status: response.status });
  }

  function failure(error: unknown, message: JsonRpcMessage): UpstreamError {
    if (error instanceof UpstreamError) return error;
    const mayHaveRun = isFetchLayerError(error) ? error.code === 'REPLAY_FAILED' : !isRefusedConnection(error);
    const text = speaksForItself(error)
      ? error.message
      : `cannot reach ${where} for ${message.method ?? 'a message'}: ${failureText(error)}`;
    return new UpstreamError(scrubber.scrub(text), { mayHaveRun, cause: error });
  }

  function failureText(error: unknown): string {
    return fetchFailureText(error, options.timeoutMs);
  }

  return {
    get era() {
      return '2025-streamable-http' as const;
    },
    send,
    async end() {
      if (sessionId === undefined) return;
      const ending = sessionId;
      sessionId = undefined;
      const endHeaders: Record<string, string> = { ...headers, 'mcp-session-id': ending };
      delete endHeaders['content-type'];
      try {
        const response = await fetchWithRecovery(endpoint, {
          method: 'DELETE',
          headers: endHeaders,
          signal: AbortSignal.timeout(options.timeoutMs),
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
            ? `the server did not confirm the session's end within ${options.timeoutMs} ms`
            : failureText(error);
        sink.event({ level: 'warn', type: 'session-end-failed', message: scrubber.scrub(text) });
      }
    },
    async close() {
      closing.abort(new UpstreamError('the connection to the server is closed', { mayHaveRun: true }));
      await serverStream;
    },
  };
}

function isRefusedConnection(error: unknown): boolean {
  return /\((?:ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)\)$/.test(networkErrorText(error));
}

/** JSON has line breaks only as whitespace (strings escape them): a space keeps the message on one stdio line. */
function foldLineBreaks(chunk: Uint8Array): Uint8Array {
  if (chunk.indexOf(0x0a) === -1 && chunk.indexOf(0x0d) === -1) return chunk;
  const folded = Uint8Array.from(chunk);
  for (let index = 0; index < folded.length; index++) if (folded[index] === 0x0a || folded[index] === 0x0d) folded[index] = 0x20;
  return folded;
}
