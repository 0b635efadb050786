import type { JsonRpcMessage } from '../shared/json-rpc.js';
import { mediaType } from '../shared/media-type.js';
import { describeUrl } from '../shared/redact.js';
import { responseExcerpt } from '../shared/server-text.js';
import { readEventStream } from '../shared/sse/read-event-stream.js';
import { fetchFailureText } from './fetch-failure-text.js';
import { parseMessages } from './json-rpc-body.js';
import { UpstreamError } from './upstream.js';

/** An open 2024-11-05 HTTP+SSE stream, with the POST endpoint the server named on it. */
export interface LegacySseStream {
  /** Where to POST messages: the `endpoint` event's URL, which carries the session. */
  readonly endpoint: URL;
  /** Settles when the stream ends: resolves on a clean end, rejects when it breaks. Never both. */
  readonly ended: Promise<void>;
  /** Stops reading and closes the connection (no further messages are delivered). */
  close(): void;
}

/** What {@linkcode openLegacySseStream} needs. */
export interface OpenStreamPlan {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly fetch: (url: string | URL, init?: RequestInit) => Promise<Response>;
  /** Bound for the answer and its `endpoint` event. */
  readonly timeoutMs: number;
  /** Every JSON-RPC message the server sends on the stream, in order. */
  readonly onMessage: (message: JsonRpcMessage, raw: string) => void;
  /** Larger events are refused (the stream is closed as broken). */
  readonly maxEventSize: number;
  /** Backpressure: awaited between chunks (`UpstreamSink.ready`). @default none */
  readonly ready?: (() => Promise<void> | undefined) | undefined;
  /** Removes credentials from server text quoted in errors. @default none */
  readonly scrub?: ((text: string) => string) | undefined;
}

/**
 * Opens the server's SSE stream (2024-11-05 transports §HTTP with SSE: GET, then an `endpoint`
 * event naming the POST URL) and keeps reading it in the background. Resolves once the endpoint
 * is known; rejects, naming what the server answered, when it is not an SSE endpoint or names no
 * endpoint within `timeoutMs`.
 */
export async function openLegacySseStream(plan: OpenStreamPlan): Promise<LegacySseStream> {
  const where = describeUrl(plan.url.href);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('timed out', 'TimeoutError')), plan.timeoutMs);
  let response: Response;
  try {
    response = await plan.fetch(plan.url, {
      method: 'GET',
      headers: { ...plan.headers, accept: 'text/event-stream' },
      signal: controller.signal,
    });
  } catch (error) {
    clearTimeout(timer);
    throw new UpstreamError(`cannot open the SSE stream at ${where}: ${fetchFailureText(error, plan.timeoutMs)}`, {
      mayHaveRun: false,
      cause: error,
    });
  }
  if (!response.ok || mediaType(response.headers.get('content-type')) !== 'text/event-stream') {
    clearTimeout(timer);
    const said = (plan.scrub ?? ((text: string) => text))(await responseExcerpt(response));
    const what = response.ok ? `content type ${response.headers.get('content-type') ?? '(none)'}` : `HTTP ${response.status}${said}`;
    throw new UpstreamError(`${where} is not an HTTP+SSE endpoint: GET answered ${what}`, { mayHaveRun: false, status: response.status });
  }

  let announce: (endpoint: URL) => void = () => {};
  let refuse: (error: Error) => void = () => {};
  const endpoint = new Promise<URL>((resolve, reject) => {
    announce = resolve;
    refuse = reject;
  });
  let known: URL | undefined;
  const ended = readEventStream(response.body as ReadableStream<Uint8Array>, {
    onEvent(event) {
      if (event.event === 'endpoint') {
        if (known === undefined) known = endpointUrl(event.data, plan.url, refuse);
        if (known !== undefined) announce(known);
        return;
      }
      if ((event.event ?? 'message') !== 'message' || event.data === '' || known === undefined) return;
      for (const message of parseMessages(event.data)) plan.onMessage(message, event.data);
    },
    maxEventChars: plan.maxEventSize,
    tooLarge: () => new Error(`an event exceeded ${plan.maxEventSize} characters`),
    ready: plan.ready,
  });
  // Ending before the endpoint event is a failure to open, reported by the await below.
  ended.then(
    () => refuse(new Error('the stream ended before naming its POST endpoint')),
    (error: unknown) => refuse(error as Error),
  );

  try {
    const url = await endpoint;
    return { endpoint: url, ended, close: () => controller.abort() };
  } catch (error) {
    controller.abort();
    ended.catch(() => {});
    const reason = controller.signal.reason instanceof DOMException && controller.signal.reason.name === 'TimeoutError';
    const text = reason ? `no endpoint event within ${plan.timeoutMs} ms` : fetchFailureText(error, plan.timeoutMs);
    throw new UpstreamError(`the SSE stream at ${where} did not name a POST endpoint: ${text}`, { mayHaveRun: false, cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The POST endpoint an `endpoint` event names, resolved against the stream's URL. Another origin
 * is refused: the headers (credentials) sent to the stream must not go anywhere else.
 */
function endpointUrl(data: string, base: URL, refuse: (error: Error) => void): URL | undefined {
  let url: URL;
  try {
    url = new URL(data.trim(), base);
  } catch {
    refuse(new Error(`the endpoint event named an invalid URL "${data.slice(0, 120)}"`));
    return undefined;
  }
  if (url.origin !== base.origin) {
    refuse(new Error(`the endpoint event named another origin (${url.origin}); refusing to send credentials there`));
    return undefined;
  }
  return url;
}
