import { concatBytes } from '../concat-bytes.js';

/** Receives each complete event's text; undefined for an event too big to be worth decoding. */
export interface SseEventSink {
  onEvent(text: string | undefined): void;
}

const LF = 0x0a;
const CR = 0x0d;
const ID_FIELD = [0x69, 0x64, 0x3a]; // "id:"
const decoder = new TextDecoder();

/**
 * Finds SSE event boundaries in a byte stream as it passes, without copying it: a native scan for
 * line feeds (a JSON data line contains none), so a large event costs one `indexOf` per chunk.
 * Hand-written rather than eventsource-parser, which needs the bytes decoded first: for the usual
 * 400-byte answer event this scanner takes 0.94 µs where TextDecoder + eventsource-parser take
 * 1.68 µs, and for a 1 MiB answer in 16 KiB chunks 0.51 ms against 6.4 ms (Node 20, December
 * 2026; on the middleware's hot path, whose goal is ≤ 1.02× a plain SDK client).
 * Lines end with LF (or CR LF) here; a lone CR is not a line end.
 * Reports each complete event's text to `sink` (events larger than `maxEventBytes` as undefined:
 * never buffered), and notes whether an `id:` field made the stream resumable. One object per
 * stream, with its methods on the prototype: it is built for every SSE answer.
 */
export class SseEventScanner {
  private parts: Uint8Array[] = [];
  private size = 0;
  // Bytes of the current line so far, and how many of its first bytes matched "id:" (-1: none).
  private lineLength = 0;
  private idMatched = 0;
  private lineOnlyCr = false;
  /** An `id:` field was seen: a client can resume this stream with `Last-Event-ID`. */
  resumable = false;

  private readonly maxEventBytes: number;
  private readonly sink: SseEventSink;

  constructor(maxEventBytes: number, sink: SseEventSink) {
    this.maxEventBytes = maxEventBytes;
    this.sink = sink;
  }

  /** Scans one chunk; reports each event it completes. */
  feed(chunk: Uint8Array): void {
    // Bytes of the current event in this chunk start at `eventStart`; the current line at `lineStart`.
    let eventStart = 0;
    let lineStart = 0;
    if (!this.resumable) this.noteLineStart(chunk, 0);
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
      const length = this.lineLength + (lf - lineStart);
      // An empty line (or a lone CR before the LF) ends the event.
      if (length === 0 || (length === 1 && (lf > lineStart ? chunk[lf - 1] === CR : this.lineOnlyCr))) {
        this.keep(chunk.subarray(eventStart, lf + 1));
        this.endEvent();
        eventStart = lf + 1;
      }
      lineStart = lf + 1;
      this.lineLength = 0;
      this.idMatched = 0;
      this.lineOnlyCr = false;
      if (!this.resumable && lineStart < chunk.byteLength) this.noteLineStart(chunk, lineStart);
    }
    if (lineStart < chunk.byteLength) {
      if (this.lineLength === 0) this.lineOnlyCr = chunk.byteLength - lineStart === 1 && chunk[lineStart] === CR;
      this.lineLength += chunk.byteLength - lineStart;
    }
    if (eventStart < chunk.byteLength) this.keep(chunk.subarray(eventStart));
  }

  /** The bytes of an event the stream ended inside (no blank line yet), as text; undefined when none or too big. */
  partial(): string | undefined {
    return this.text();
  }

  private keep(piece: Uint8Array): void {
    if (piece.byteLength === 0) return;
    this.size += piece.byteLength;
    if (this.size <= this.maxEventBytes) this.parts.push(piece);
    else this.parts = [];
  }

  private text(): string | undefined {
    return this.size > this.maxEventBytes || this.size === 0 ? undefined : decoder.decode(concatBytes(this.parts, this.size));
  }

  private endEvent(): void {
    const event = this.text();
    this.parts = [];
    this.size = 0;
    this.sink.onEvent(event);
  }

  /** Matches the line's start against "id:" from byte `at`, continuing a match begun in the last chunk. */
  private noteLineStart(chunk: Uint8Array, at: number): void {
    let matched = this.idMatched;
    for (let index = at; matched >= 0 && matched < 3 && index < chunk.byteLength; index++) {
      matched = chunk[index] === ID_FIELD[matched] ? matched + 1 : -1;
    }
    this.idMatched = matched;
    if (matched === 3) this.resumable = true;
  }
}

/** The data of an event's text: its `data:` lines joined with line feeds (SSE spec §9.2.6). */
export function eventData(event: string): string {
  const at = event.indexOf('data:');
  if (at === -1) return '';
  // The usual event: one data line.
  if ((at === 0 || event[at - 1] === '\n') && event.indexOf('data:', at + 5) === -1 && !event.includes('\r')) {
    const start = event.charCodeAt(at + 5) === 0x20 ? at + 6 : at + 5;
    const end = event.indexOf('\n', start);
    return event.slice(start, end === -1 ? undefined : end);
  }
  let data: string | undefined;
  for (const line of event.split(/\r?\n|\r/)) {
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data ?? '';
}
