import { mediaType } from '../classifier/server-message.js';
import { WatchedResponse } from './watched-response.js';

/**
 * Decides on a 200 JSON body once the client reads it. Returns undefined to let the body
 * through at once, or a promise: of the answer to give the client instead, or of undefined to let
 * the body through after all.
 */
export type JsonBodyCheck = (text: string) => Promise<Response | undefined> | undefined;

/**
 * Lets a 200 JSON answer through as it is, and checks its body only when the client reads it with
 * text(), json(), arrayBuffer() or blob(): a body that is not a session error is never copied,
 * re-wrapped or delayed (the MCP SDKs read JSON answers with json()). A client that reads
 * `response.body` directly gets the body unchecked.
 */
export function checkJsonOnRead(response: Response, check: JsonBodyCheck): Response {
  return new WatchedResponse(response, {
    stream: () => response.body,
    text: () =>
      response.text().then((body) => {
        const replacement = check(body);
        return replacement === undefined ? body : replacement.then((answer) => (answer === undefined ? body : answerText(answer)));
      }),
  });
}

/** The JSON text of the answer that replaces a session error: JSON as is, SSE as its messages. */
async function answerText(response: Response): Promise<string> {
  const body = await response.text();
  if (!response.ok) throw new Error(body.trim() === '' ? `HTTP ${response.status}` : body.trim());
  if (mediaType(response.headers.get('content-type')) !== 'text/event-stream') return body;
  const messages = body
    .split(/\r?\n/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trim())
    .filter((data) => data !== '');
  return messages.length === 1 ? (messages[0] as string) : `[${messages.join(',')}]`;
}
