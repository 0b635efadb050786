import { joinText } from '../shared/concat-bytes.js';
import { isJsonRpcMessage, type JsonRpcId, type JsonRpcMessage, NotJson, parseJson } from '../shared/json-rpc.js';
import { readMessageEnds } from './message-ends.js';
import type { UpstreamSink } from './upstream.js';

/** Hands what the server sent to the sink, one JSON-RPC message at a time. */
export interface MessageDelivery {
  /**
   * Parses a JSON body or SSE event (one message, or a batch) and delivers each JSON-RPC message
   * in it, crossing answered ids off `pending`. Returns false when any part of it was not a
   * JSON-RPC 2.0 message; such parts never reach the host.
   */
  deliverText(text: string, pending: Set<JsonRpcId>): boolean;
  /**
   * The same for a message held as bytes (a large SSE event or JSON body, line breaks already
   * folded): a successful answer is passed on as those bytes, read only at its ends; anything else
   * is decoded and parsed.
   */
  deliverBytes(chunks: readonly Uint8Array[], bytes: number, pending: Set<JsonRpcId>): boolean;
  /** Delivers a message the upstream made itself. */
  deliver(message: JsonRpcMessage): void;
}

/** `onAnswer` sees every answer before the sink (the upstream reads its initialize answer there). */
export function createMessageDelivery(options: {
  readonly sink: UpstreamSink;
  readonly onAnswer: (message: JsonRpcMessage) => void;
  /** Removes secrets the server quoted back in an error (never applied to results). */
  readonly scrub: (text: string) => string;
}): MessageDelivery {
  const { sink, onAnswer, scrub } = options;

  const deliverOne = (value: unknown, raw: string | undefined, pending: Set<JsonRpcId>): boolean => {
    if (!isJsonRpcMessage(value)) return false;
    if (value.method === undefined) {
      if (value.id !== undefined && value.id !== null) pending.delete(value.id);
      onAnswer(value);
    }
    const scrubbed = value.error === undefined ? value : scrubError(value, value.error, scrub);
    sink.message(scrubbed, scrubbed === value ? raw : undefined);
    return true;
  };

  return {
    deliverBytes(chunks, bytes, pending) {
      const summary = summarizeLarge(endText(chunks, 'head'), endText(chunks, 'tail'));
      if (summary === undefined) return this.deliverText(joinText(chunks, bytes), pending);
      if (summary.id !== undefined && summary.id !== null) pending.delete(summary.id);
      sink.message(summary, chunks);
      return true;
    },
    deliverText(text, pending) {
      const parsed = parseJson(text);
      if (parsed instanceof NotJson) return false;
      if (!Array.isArray(parsed)) {
        return deliverOne(parsed, foldLines(text), pending);
      }
      let valid = parsed.length > 0;
      for (const item of parsed) valid = deliverOne(item, undefined, pending) && valid;
      return valid;
    },
    deliver(message) {
      sink.message(message);
    },
  };
}

const ENDS_BYTES = 4096;

/**
 * The summary of a large successful answer (`{…"result"…,"id":7}`), read from its ends: a tool
 * result of megabytes is passed on as the bytes it arrived in, never decoded, parsed into objects
 * and serialized again. Anything else (an error, which is scrubbed; a request; an unreadable id)
 * is parsed as usual: undefined.
 */
function summarizeLarge(head: string, tail: string): JsonRpcMessage | undefined {
  const ends = readMessageEnds(head, tail);
  const opening = head.slice(0, 512);
  const isResult = /"result"\s*:/.test(opening) && !/"error"\s*:/.test(opening);
  const isJsonRpc = /"jsonrpc"\s*:\s*"2\.0"/.test(opening) || /"jsonrpc"\s*:\s*"2\.0"/.test(tail.slice(-256));
  if (ends.kind !== 'answer' || ends.id === null || !isResult || !isJsonRpc) return undefined;
  return { jsonrpc: '2.0', id: ends.id, result: undefined };
}

/** The first or last few KiB of chunks, as text (a split character at the cut decodes as U+FFFD, harmlessly). */
function endText(chunks: readonly Uint8Array[], end: 'head' | 'tail'): string {
  const picked: Uint8Array[] = [];
  let size = 0;
  const order = end === 'head' ? chunks : [...chunks].reverse();
  for (const chunk of order) {
    const part = end === 'head' ? chunk.subarray(0, ENDS_BYTES - size) : chunk.subarray(Math.max(0, chunk.length - (ENDS_BYTES - size)));
    if (end === 'head') picked.push(part);
    else picked.unshift(part);
    size += part.length;
    if (size >= ENDS_BYTES) break;
  }
  return joinText(picked, size);
}

/** A pretty-printed body has line breaks only as whitespace (JSON escapes them in strings): folding them keeps it one line on stdio. */
function foldLines(text: string): string {
  return text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]/g, ' ') : text;
}

/**
 * Servers quote the request in their errors, credentials included: those never reach the host.
 * The error's message and data are scrubbed as values (never the raw text, whose structure a
 * replacement could break); the message is unchanged when there was nothing to remove.
 */
function scrubError(message: JsonRpcMessage, error: NonNullable<JsonRpcMessage['error']>, scrub: (text: string) => string): JsonRpcMessage {
  const text = typeof error.message === 'string' ? scrub(error.message) : error.message;
  const dataText = error.data === undefined ? undefined : JSON.stringify(error.data);
  const scrubbedData = dataText === undefined ? undefined : scrub(dataText);
  if (text === error.message && scrubbedData === dataText) return message;
  let data = error.data;
  if (scrubbedData !== dataText && scrubbedData !== undefined) {
    try {
      data = JSON.parse(scrubbedData);
    } catch {
      data = scrubbedData;
    }
  }
  return { ...message, error: { ...error, message: text, ...(data === undefined ? {} : { data }) } };
}
