import { messagesIn, NotJson, parseJson } from '../shared/json-rpc.js';
import { mediaType } from '../shared/media-type.js';
import type { OutgoingRequest } from './outgoing-request.js';

const encoder = new TextEncoder();

/**
 * The SSE bytes to deliver in place of a stream whose first event was a session error: the
 * replay's own stream, its JSON answer re-framed as events, or a JSON-RPC error per request when
 * the replay failed. Never rejects.
 */
export async function sseReplacement(answer: Promise<Response>, request: OutgoingRequest): Promise<ReadableStream<Uint8Array>> {
  let response: Response;
  try {
    response = await answer;
  } catch (error) {
    return sseError(error, request);
  }
  const type = mediaType(response.headers.get('content-type'));
  if (response.ok && type === 'text/event-stream' && response.body !== null) return response.body;
  if (response.ok && type === 'application/json') {
    return streamOf(toEvents(await response.text()));
  }
  if (response.ok || response.body === null) {
    await response.body?.cancel();
    return streamOf('');
  }
  const text = (await response.text().catch(() => '')).trim().slice(0, 500);
  return sseError(new Error(`HTTP ${response.status}${text === '' ? '' : `: ${text}`}`), request);
}

/** JSON-RPC error events for each request in the message, or an erroring stream when it had none. */
function sseError(error: unknown, request: OutgoingRequest): ReadableStream<Uint8Array> {
  const ids = request.messages().requestIds;
  const message = error instanceof Error ? error.message : String(error);
  if (ids.length === 0) {
    return new ReadableStream({
      start: (controller) => controller.error(error),
    });
  }
  return streamOf(ids.map((id) => frame(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message } }))).join(''));
}

function toEvents(json: string): string {
  const parsed = parseJson(json);
  if (parsed instanceof NotJson) return frame(json.replace(/\r?\n/g, ''));
  return messagesIn(parsed)
    .map((message) => frame(JSON.stringify(message)))
    .join('');
}

function frame(data: string): string {
  return `event: message\ndata: ${data}\n\n`;
}

function streamOf(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      if (text !== '') controller.enqueue(encoder.encode(text));
      controller.close();
    },
  });
}
