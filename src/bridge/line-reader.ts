import type { Readable } from 'node:stream';

/** A line longer than the limit: skipped without being held, with its ends kept to name it. */
export interface OversizedLine {
  /** Its full length in bytes. */
  readonly bytes: number;
  /** Its first and last few KiB, enough to find the message's id. */
  readonly head: string;
  readonly tail: string;
}

/** What {@linkcode readLines} reports. */
export interface LineHandlers {
  onLine(line: string): void;
  onOversized(line: OversizedLine): void;
  onEnd(): void;
}

/** How much of each end of an oversized line is kept. */
const KEPT_ENDS = 4096;

/**
 * Splits `input` into lines (newline-delimited JSON-RPC, MCP basic/transports §stdio). A line over
 * `maxLineBytes` is not buffered: its bytes are dropped as they arrive, keeping only both ends, and
 * the next line is read as usual, so one oversized message costs bounded memory and an answer, not
 * the connection. Empty lines are skipped; a trailing CR is dropped.
 */
export function readLines(input: Readable, maxLineBytes: number, handlers: LineHandlers): { pause(): void; resume(): void } {
  let parts: Buffer[] = [];
  let size = 0;
  let skipped: { bytes: number; head: Buffer; tail: Buffer } | undefined;

  const append = (piece: Buffer) => {
    if (piece.length === 0) return;
    if (skipped !== undefined) {
      skipped.bytes += piece.length;
      skipped.tail = lastBytes(Buffer.concat([skipped.tail, piece.subarray(-KEPT_ENDS)]));
      return;
    }
    parts.push(piece);
    size += piece.length;
    if (size > maxLineBytes) {
      const held = Buffer.concat(parts);
      skipped = { bytes: size, head: held.subarray(0, KEPT_ENDS), tail: lastBytes(held) };
      parts = [];
      size = 0;
    }
  };

  const endLine = () => {
    if (skipped !== undefined) {
      const { bytes, head, tail } = skipped;
      skipped = undefined;
      handlers.onOversized({ bytes, head: head.toString('utf8'), tail: tail.toString('utf8') });
      return;
    }
    const line = parts.length === 1 ? (parts[0] as Buffer).toString('utf8') : Buffer.concat(parts).toString('utf8');
    parts = [];
    size = 0;
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (trimmed.trim() !== '') handlers.onLine(trimmed);
  };

  input.on('data', (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let newline = bytes.indexOf(10); newline !== -1; newline = bytes.indexOf(10, start)) {
      append(bytes.subarray(start, newline));
      endLine();
      start = newline + 1;
    }
    append(bytes.subarray(start));
  });
  input.once('end', () => {
    if (size > 0 || skipped !== undefined) endLine();
    handlers.onEnd();
  });
  return { pause: () => input.pause(), resume: () => input.resume() };
}

function lastBytes(buffer: Buffer): Buffer {
  return buffer.length <= KEPT_ENDS ? buffer : buffer.subarray(buffer.length - KEPT_ENDS);
}
