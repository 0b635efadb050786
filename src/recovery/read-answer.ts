import { messagesIn, parseJson } from '../shared/json-rpc.js';
import { mediaType } from '../shared/media-type.js';
import { readMessageTexts } from '../shared/sse/read-event-stream.js';

/** A JSON-RPC answer: exactly one of result and error is set. */
export interface JsonRpcAnswer {
  readonly result?: Record<string, unknown>;
  readonly error?: { readonly code?: number; readonly message?: string };
}

// An initialize result or a subscribe answer is a few KiB; anything far larger is not what we asked for.
const MAX_ANSWER_CHARS = 1024 * 1024;

/**
 * Reads the answer to request `id` from a POST response, JSON or SSE, and releases the stream as
 * soon as it has it. The caller bounds the wait with the request's signal. `onOther` sees every
 * message (SSE event data, or the JSON body) that is not the answer, e.g. an error sent instead.
 */
export async function readJsonRpcAnswer(response: Response, id: string, onOther?: (data: string) => void): Promise<JsonRpcAnswer> {
  if (response.body === null) throw new Error(`the answer had no body (HTTP ${response.status})`);
  let found: JsonRpcAnswer | undefined;
  await readMessageTexts(response, {
    onText: (data) => {
      if (found !== undefined) return;
      for (const candidate of messagesIn(parseJson(data))) {
        if (isAnswerTo(candidate, id)) found = candidate as JsonRpcAnswer;
      }
      if (found === undefined) onOther?.(data);
    },
    maxChars: MAX_ANSWER_CHARS,
    tooLarge: () => new Error(`the answer exceeded ${MAX_ANSWER_CHARS} characters`),
    done: () => found !== undefined,
    // An event the stream ended inside (no blank line) is read too: servers that answer and close do that.
    completeLastEvent: true,
  });
  if (found === undefined) {
    const type = mediaType(response.headers.get('content-type'));
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
