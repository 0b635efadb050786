import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { mediaType } from '../media-type.js';

/** One SSE event with a `data:` field (its data may be empty): its type (`event:`), its data, its id (`id:`). */
type SseTextEvent = Pick<EventSourceMessage, 'event' | 'data' | 'id'>;

/** How {@linkcode readEventStream} reads. */
export interface EventStreamOptions {
  /** Each event with a `data:` field, in order. What it throws stops the reading: the read rejects with it. */
  readonly onEvent: (event: SseTextEvent) => void;
  /** An event larger than this many characters stops the reading: the read rejects with `tooLarge()`. */
  readonly maxEventChars: number;
  readonly tooLarge: () => Error;
  /** Stop reading once this returns true (the caller has what it waited for); the rest is released. */
  readonly done?: (() => boolean) | undefined;
  /** Backpressure: awaited between chunks, so a slow consumer slows the reading (`UpstreamSink.ready`). */
  readonly ready?: (() => Promise<void> | undefined) | undefined;
  /** An event the stream ends inside (no blank line after it) is dispatched too: servers that answer and close do that. @default false */
  readonly completeLastEvent?: boolean | undefined;
}

/**
 * Reads a `text/event-stream` as decoded events with eventsource-parser: the reader for streams
 * whose events are read whole as text anyway (handshake answers, the 2024 HTTP+SSE stream, the
 * stateless era's answers). The middleware's pass-through and the bridge's large messages have
 * hand-written byte readers (sse-event-scanner.ts, read-sse-events.ts), where the figures say why.
 * Resolves when the stream ends or `done()`; rejects when it breaks. The body is released either way.
 */
export async function readEventStream(body: ReadableStream<Uint8Array>, options: EventStreamOptions): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let failure: unknown;
  const parser = createParser({
    maxBufferSize: options.maxEventChars,
    onEvent(event) {
      if (failure !== undefined) return;
      try {
        options.onEvent(event);
      } catch (error) {
        failure = error;
      }
    },
    onError(error) {
      if (error.type === 'max-buffer-size-exceeded') failure ??= options.tooLarge();
    },
  });
  try {
    for (;;) {
      if (options.done?.()) return;
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      if (failure !== undefined) throw failure;
      const wait = options.ready?.();
      if (wait !== undefined) await wait;
    }
    if (options.completeLastEvent) parser.feed('\n\n');
    if (failure !== undefined) throw failure;
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** How {@linkcode readMessageTexts} reads. */
export interface MessageTextOptions extends Omit<EventStreamOptions, 'onEvent' | 'maxEventChars' | 'tooLarge'> {
  /** Each JSON text: the whole body (JSON), or each event's data that is not empty (SSE). What it throws stops the reading. */
  readonly onText: (text: string) => void;
  /** A JSON body or one event larger than this many characters is refused: the read rejects with `tooLarge(what)`. */
  readonly maxChars: number;
  readonly tooLarge: (what: 'answer' | 'event') => Error;
}

/**
 * Reads an MCP POST's answer, JSON or SSE by its content type, as the JSON texts it carries, with
 * a bound on each. Resolves when the body ends or `done()`; rejects when it breaks.
 */
export async function readMessageTexts(response: Response, options: MessageTextOptions): Promise<void> {
  const body = response.body;
  if (body === null) return;
  if (mediaType(response.headers.get('content-type')) === 'text/event-stream') {
    return readEventStream(body, {
      ...options,
      onEvent: (event) => {
        if (event.data !== '') options.onText(event.data);
      },
      maxEventChars: options.maxChars,
      tooLarge: () => options.tooLarge('event'),
    });
  }
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let json = '';
  try {
    for (;;) {
      if (options.done?.()) return;
      const { done, value } = await reader.read();
      if (done) break;
      json += decoder.decode(value, { stream: true });
      if (json.length > options.maxChars) throw options.tooLarge('answer');
      const wait = options.ready?.();
      if (wait !== undefined) await wait;
    }
    if (json.trim() !== '') options.onText(json);
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** The data of the first event in an SSE text that carries data; undefined when none is complete yet. */
export function firstSseData(text: string): string | undefined {
  let data: string | undefined;
  const parser = createParser({
    onEvent(event) {
      if (data === undefined && event.data !== '') data = event.data;
    },
  });
  parser.feed(text);
  return data;
}
