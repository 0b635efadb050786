import { concatBytes } from './concat-bytes.js';

/**
 * Finds SSE event boundaries in a byte stream as it passes, without copying it: a native scan for
 * line feeds (a JSON data line contains none), so a large event costs one `indexOf` per chunk.
 * Reports each complete event's text (events larger than `maxEventBytes` as `undefined`: too big
 * to be worth decoding, never buffered), and whether an `id:` field made the stream resumable.
 */
export interface SseEventScanner {
  /** Scans one chunk; calls `onEvent` for each event it completes. */
  feed(chunk: Uint8Array): void;
  /** The bytes of an event the stream ended inside (no blank line yet), as text; undefined when none or too big. */
  partial(): string | undefined;
  /** An `id:` field was seen: a client can resume this stream with `Last-Event-ID`. */
  readonly resumable: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder();

export function createSseEventScanner(maxEventBytes: number, onEvent: (text: string | undefined) => void): SseEventScanner {
  let parts: Uint8Array[] = [];
  let size = 0;
  // Bytes of the current line so far, and its first bytes (to spot "id:"), across chunks.
  let lineLength = 0;
  let lineHead = '';
  let lineOnlyCr = false;
  let resumable = false;

  const keep = (piece: Uint8Array) => {
    if (piece.byteLength === 0) return;
    size += piece.byteLength;
    if (size <= maxEventBytes) parts.push(piece);
    else parts = [];
  };
  const text = () => (size > maxEventBytes || size === 0 ? undefined : decoder.decode(concatBytes(parts, size)));
  const endEvent = () => {
    const event = size > maxEventBytes ? undefined : text();
    parts = [];
    size = 0;
    onEvent(event);
  };
  const noteLineStart = (chunk: Uint8Array, at: number) => {
    if (lineHead.length >= 3) return;
    const end = Math.min(chunk.byteLength, at + 3 - lineHead.length);
    for (let index = at; index < end; index++) lineHead += String.fromCharCode(chunk[index] as number);
    if (lineHead === 'id:') resumable = true;
  };

  return {
    get resumable() {
      return resumable;
    },
    feed(chunk) {
      // Bytes of the current event in this chunk start at `eventStart`; the current line at `lineStart`.
      let eventStart = 0;
      let lineStart = 0;
      noteLineStart(chunk, 0);
      for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
        const length = lineLength + (lf - lineStart);
        // An empty line (or a lone CR before the LF) ends the event.
        if (length === 0 || (length === 1 && (lf > lineStart ? chunk[lf - 1] === CR : lineOnlyCr))) {
          keep(chunk.subarray(eventStart, lf + 1));
          endEvent();
          eventStart = lf + 1;
        }
        lineStart = lf + 1;
        lineLength = 0;
        lineHead = '';
        lineOnlyCr = false;
        if (lineStart < chunk.byteLength) noteLineStart(chunk, lineStart);
      }
      if (lineStart < chunk.byteLength) {
        if (lineLength === 0) lineOnlyCr = chunk.byteLength - lineStart === 1 && chunk[lineStart] === CR;
        lineLength += chunk.byteLength - lineStart;
      }
      if (eventStart < chunk.byteLength) keep(chunk.subarray(eventStart));
    },
    partial: () => text(),
  };
}

/** The data of an event's text: its `data:` lines joined with line feeds (SSE spec §9.2.6). */
export function eventData(event: string): string {
  if (!event.includes('data:')) return '';
  let data: string | undefined;
  for (const line of event.split(/\r?\n|\r/)) {
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data ?? '';
}
