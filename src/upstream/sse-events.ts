import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** How {@linkcode readSseEvents} reports what it reads. */
export interface SseHandlers {
  /** An event that carries data (an event with empty data, e.g. a priming event, is not reported). */
  onEvent(event: EventSourceMessage): void;
  /** An event grew past `maxEventSize` characters: it was skipped whole, never buffered. */
  onOversized(): void;
  /** Awaited between chunks: a slow consumer slows the reading instead of filling memory. */
  ready?: (() => Promise<void> | undefined) | undefined;
}

/** What the stream said about itself, for resuming it (SSE `id:` and `retry:` fields). */
export interface SseProgress {
  /** The id of the last event that carried one: resume from it with `Last-Event-ID`. */
  lastEventId: string | undefined;
  /** The server's reconnection delay, in ms, when it sent one. */
  retryMs: number | undefined;
}

// A blank line ends an event: LF LF, CR CR, CRLF CRLF, or mixes (HTML §9.2.6 allows all three).
const EVENT_END = /(?:\r\n|\r|\n)(?:\r\n|\r|\n)/;

/**
 * Reads a `text/event-stream` body to its end with eventsource-parser. Events bigger than
 * `maxEventSize` characters are skipped to their end without being held (the parser's own bound
 * stops at the limit; this skips the rest of that event), so a hostile or runaway stream costs
 * bounded memory. Resolves on a clean end; rejects when the stream breaks; `progress` is updated
 * as it goes, so a caller can resume after a break.
 */
export async function readSseEvents(
  body: ReadableStream<Uint8Array>,
  options: { readonly maxEventSize: number; readonly handlers: SseHandlers; readonly progress: SseProgress },
): Promise<void> {
  const { handlers, progress } = options;
  let skipping = false;
  const parser = createParser({
    maxBufferSize: options.maxEventSize,
    onEvent(event) {
      if (event.id !== undefined) progress.lastEventId = event.id;
      if (event.data !== '') handlers.onEvent(event);
    },
    onRetry(ms) {
      progress.retryMs = ms;
    },
    onError(error) {
      if (error.type === 'max-buffer-size-exceeded') skipping = true;
    },
  });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  // The last characters of the previous chunk: a blank line can straddle two chunks.
  let tail = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let text = decoder.decode(value, { stream: true });
      if (skipping) {
        const joined = tail + text;
        const end = EVENT_END.exec(joined);
        tail = joined.slice(-3);
        if (end === null) continue;
        skipping = false;
        parser.reset();
        text = joined.slice(end.index + end[0].length);
        handlers.onOversized();
      } else {
        tail = text.slice(-3);
      }
      parser.feed(text);
      const wait = handlers.ready?.();
      if (wait !== undefined) await wait;
    }
    if (skipping) handlers.onOversized();
  } finally {
    reader.releaseLock();
  }
}
