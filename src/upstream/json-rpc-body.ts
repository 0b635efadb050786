import { LifelineError } from '../errors/LifelineError.js';
import { isJsonRpcMessage, type JsonRpcMessage, messagesIn, NotJson, parseJson } from '../shared/json-rpc.js';
import { readMessageTexts } from '../shared/sse/read-event-stream.js';

/**
 * One message read from a body: parsed, with its serialized form. `undefined` message: the text
 * was not a JSON-RPC message (reported so callers can say what the server sent instead).
 */
type BodyMessageHandler = (message: JsonRpcMessage, raw: string) => void;

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
export class BodyFormatError extends LifelineError<'INVALID_BODY'> {
  override name = 'BodyFormatError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_BODY', message, options);
  }
}

/**
 * Reads a response body as JSON-RPC messages: one JSON object (or batch array), or an SSE stream
 * of `message` events (any event with data; comments and empty events are skipped). Resolves
 * when the body ends or `done()` says so (the rest is released); rejects when the stream breaks
 * or a message is oversized or not JSON.
 */
export async function readJsonRpcBody(response: Response, options: ReadBodyOptions): Promise<void> {
  await readMessageTexts(response, {
    onText: (text) => {
      for (const message of parseMessages(text)) options.onMessage(message, text);
    },
    maxChars: options.maxMessageSize,
    tooLarge: (what) =>
      new BodyFormatError(`${what === 'event' ? 'an event' : 'the answer'} exceeded ${options.maxMessageSize} characters`),
    done: options.done,
    ready: options.ready,
  });
}

/** The JSON-RPC messages in a JSON text (one object or a batch). */
export function parseMessages(text: string): JsonRpcMessage[] {
  const parsed = parseJson(text);
  if (parsed instanceof NotJson) throw new BodyFormatError(`not JSON: ${text.slice(0, 120)}`);
  return messagesIn(parsed).filter(isJsonRpcMessage);
}
