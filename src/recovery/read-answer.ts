import { createParser } from 'eventsource-parser';
import { mediaType } from '../classifier/server-message.js';
import { messagesIn, parseJson } from '../shared/json-rpc.js';

/** A JSON-RPC answer: exactly one of result and error is set. */
export interface JsonRpcAnswer {
  readonly result?: Record<string, unknown>;
  readonly error?: { readonly code?: number; readonly message?: string };
}

// An initialize result or a subscribe answer is a few KiB; anything far larger is not what we asked for.
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * Reads the answer to request `id` from a POST response, JSON or SSE, and releases the stream as
 * soon as it has it. The caller bounds the wait with the request's signal. `onOther` sees every
 * message (SSE event data, or the JSON body) that is not the answer, e.g. an error sent instead.
 */
export async function readJsonRpcAnswer(response: Response, id: string, onOther?: (data: string) => void): Promise<JsonRpcAnswer> {
  const type = mediaType(response.headers.get('content-type'));
  const reader = response.body?.getReader();
  if (reader === undefined) throw new Error(`the answer had no body (HTTP ${response.status})`);
  const decoder = new TextDecoder();
  let received = 0;
  let found: JsonRpcAnswer | undefined;
  const pick = (data: string) => {
    for (const candidate of messagesIn(parseJson(data))) {
      if (isAnswerTo(candidate, id)) found = candidate as JsonRpcAnswer;
    }
    if (found === undefined) onOther?.(data);
  };
  const parser = createParser({
    onEvent: (event) => {
      if (found === undefined && event.data !== '') pick(event.data);
    },
  });
  let json = '';
  try {
    while (found === undefined) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > MAX_ANSWER_BYTES) throw new Error(`the answer exceeded ${MAX_ANSWER_BYTES} bytes`);
      const chunk = decoder.decode(value, { stream: true });
      if (type === 'text/event-stream') parser.feed(chunk);
      else json += chunk;
    }
    // An event the stream ended inside (no blank line) is read too: servers that answer and close do that.
    if (found === undefined && type === 'text/event-stream') parser.feed('\n\n');
    if (found === undefined && type !== 'text/event-stream') pick(json);
  } finally {
    reader.cancel().catch(() => {});
  }
  if (found === undefined) {
    const what = type === '' ? 'no content type' : `content type ${type}`;
    throw new Error(`the server sent no JSON-RPC answer to ${id} (${what})`);
  }
  return found;
}

function isAnswerTo(message: unknown, id: string): boolean {
  if (typeof message !== 'object' || message === null) return false;
  const record = message as Record<string, unknown>;
  return record['id'] === id && ('result' in record || 'error' in record);
}
