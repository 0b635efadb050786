import { createParser } from 'eventsource-parser';
import { mediaType } from '../classifier/server-message.js';
import { isJsonRpcMessage, type JsonRpcMessage, messagesIn, NotJson, parseJson } from '../shared/json-rpc.js';

/**
 * One message read from a body: parsed, with its serialized form. `undefined` message: the text
 * was not a JSON-RPC message (reported so callers can say what the server sent instead).
 */
export type BodyMessageHandler = (message: JsonRpcMessage, raw: string) => void;

/** Options of {@linkcode readJsonRpcBody}. */
export interface ReadBodyOptions {
  /** Called for each JSON-RPC message in the body, in order (batch elements one by one). */
  readonly onMessage: BodyMessageHandler;
  /** A single JSON body or SSE event larger than this many characters is refused. */
  readonly maxMessageSize: number;
  /** Stop reading once this returns true (the caller has what it waited for). */
  readonly done?: (() => boolean) | undefined;
  /** Backpressure: awaited between chunks, so a slow host slows the reading (`UpstreamSink.ready`). */
  readonly ready?: (() => Promise<void> | undefined) | undefined;
}

/** A body could not be read as JSON-RPC. */
export class BodyFormatError extends Error {
  override name = 'BodyFormatError';
}

/**
 * Reads a response body as JSON-RPC messages: one JSON object (or batch array), or an SSE stream
 * of `message` events (any event with data; comments and empty events are skipped). Resolves
 * when the body ends or `done()` says so (the rest is released); rejects when the stream breaks
 * or a message is oversized or not JSON.
 */
export async function readJsonRpcBody(response: Response, options: ReadBodyOptions): Promise<void> {
  const sse = mediaType(response.headers.get('content-type')) === 'text/event-stream';
  const reader = response.body?.getReader();
  if (reader === undefined) return;
  const decoder = new TextDecoder();
  let json = '';
  let failure: Error | undefined;
  const deliver = (text: string) => {
    for (const message of parseMessages(text)) options.onMessage(message, text);
  };
  const parser = createParser({
    maxBufferSize: options.maxMessageSize,
    onEvent(event) {
      if (event.data === '' || failure !== undefined) return;
      try {
        deliver(event.data);
      } catch (error) {
        failure = error as Error;
      }
    },
    onError(error) {
      if (error.type === 'max-buffer-size-exceeded')
        failure = new BodyFormatError(`an event exceeded ${options.maxMessageSize} characters`);
    },
  });
  try {
    for (;;) {
      if (options.done?.()) return;
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (sse) parser.feed(text);
      else {
        json += text;
        if (json.length > options.maxMessageSize) throw new BodyFormatError(`the answer exceeded ${options.maxMessageSize} characters`);
      }
      if (failure !== undefined) throw failure;
      const wait = options.ready?.();
      if (wait !== undefined) await wait;
    }
    if (!sse && json.trim() !== '') deliver(json);
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** The JSON-RPC messages in a JSON text (one object or a batch). */
export function parseMessages(text: string): JsonRpcMessage[] {
  const parsed = parseJson(text);
  if (parsed instanceof NotJson) throw new BodyFormatError(`not JSON: ${text.slice(0, 120)}`);
  return messagesIn(parsed).filter(isJsonRpcMessage);
}
