import type { JsonRpcId, JsonRpcMessage, UpstreamSink } from './upstream.js';

/** Hands what the server sent to the sink, one JSON-RPC message at a time. */
export interface MessageDelivery {
  /**
   * Parses a JSON body or SSE event (one message, or a batch) and delivers each JSON-RPC message
   * in it, crossing answered ids off `pending`. Returns false when any part of it was not a
   * JSON-RPC 2.0 message; such parts never reach the host.
   */
  deliverText(text: string, pending: Set<JsonRpcId>): boolean;
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
    deliverText(text, pending) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return false;
      }
      if (!Array.isArray(parsed)) {
        // A pretty-printed body has line breaks only as whitespace (JSON escapes them in strings):
        // folding them keeps it one line on stdio.
        return deliverOne(parsed, text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]/g, ' ') : text, pending);
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

/** A JSON-RPC 2.0 request, notification or answer (JSON-RPC 2.0 §4–5). */
export function isJsonRpcMessage(value: unknown): value is JsonRpcMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const message = value as Record<string, unknown>;
  if (message['jsonrpc'] !== '2.0') return false;
  const id = message['id'];
  const validId = typeof id === 'string' || typeof id === 'number';
  if (typeof message['method'] === 'string') return id === undefined || validId;
  if (!validId && id !== null) return false;
  return 'result' in message || (typeof message['error'] === 'object' && message['error'] !== null);
}
