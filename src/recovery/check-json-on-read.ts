import { concatBytes } from '../shared/concat-bytes.js';
import { mediaType } from '../shared/media-type.js';
import { checkedJsonAnswer } from './checked-json-answer.js';
import { WatchedResponse } from './watched-response.js';

/**
 * Decides on a 200 JSON body once the client reads it. Returns undefined to let the body
 * through at once, or a promise: of the answer to give the client instead, or of undefined to let
 * the body through after all.
 */
export type JsonBodyCheck = (text: string) => Promise<Response | undefined> | undefined;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Lets a 200 JSON answer through as it is, and checks its body only when the client reads it: with
 * text(), json(), arrayBuffer() or blob() (what the MCP SDKs do), the body is never copied,
 * re-wrapped or delayed; through `response.body`, a stream is built on first use that holds the
 * body back only while it is at most `limit` bytes (a session error is small) and passes a larger
 * one on as it comes.
 */
export function checkJsonOnRead(response: Response, check: JsonBodyCheck, limit: number, sessionId?: string): Response {
  const checked = (body: string): string | Promise<string> => {
    const replacement = check(body);
    return replacement === undefined ? body : replacement.then((answer) => (answer === undefined ? body : answerText(answer)));
  };
  // A fetch answer shown as it came: the answer itself, read through a prototype of ours (the
  // platform's own Response only: a subclass or another implementation keeps its own methods).
  if (sessionId === undefined && Object.getPrototypeOf(response) === Response.prototype) {
    return checkedJsonAnswer(response, checked, (body, decide) => readThroughOnUse(body, () => holdSmallBody(body, limit, decide)));
  }
  return WatchedResponse.rewatch(
    response,
    (inner) => {
      let patched = false;
      return {
        stream: () => {
          const body = inner.stream();
          if (body !== null && !patched) {
            patched = true;
            readThroughOnUse(body, () => holdSmallBody(body, limit, checked));
          }
          return body;
        },
        // Once `body` was handed out, its readers read the checked stream: text() reads that one too
        // (checking the body a second time would cost a second decision on one answer).
        text: () => {
          const body = patched ? inner.stream() : null;
          return body !== null ? readText(body) : inner.text().then(checked);
        },
      };
    },
    sessionId,
  );
}

/** The whole stream as text, read through its (patched) getReader. */
async function readText(body: ReadableStream<Uint8Array>): Promise<string> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return decoder.decode(concatBytes(chunks, size));
    chunks.push(value);
    size += value.byteLength;
  }
}

/**
 * Makes `body`'s readers read `make()`'s stream instead, built on first use: a caller that only
 * looks at `body` (is it null?) and then reads `text()` pays for no stream.
 */
function readThroughOnUse(body: ReadableStream<Uint8Array>, make: () => ReadableStream<Uint8Array>): void {
  type Stream = ReadableStream<Uint8Array>;
  let stream: Stream | undefined;
  const made = () => {
    stream ??= make();
    return stream;
  };
  const patch = body as unknown as Record<string | symbol, unknown>;
  patch['getReader'] = ((options?: Parameters<Stream['getReader']>[0]) => made().getReader(options)) as Stream['getReader'];
  patch['pipeThrough'] = ((transform, options) => made().pipeThrough(transform, options)) satisfies Stream['pipeThrough'];
  patch['pipeTo'] = ((destination, options) => made().pipeTo(destination, options)) satisfies Stream['pipeTo'];
  patch['tee'] = (() => made().tee()) satisfies Stream['tee'];
  patch['values'] = ((options) => made().values(options)) satisfies Stream['values'];
  patch[Symbol.asyncIterator] = ((options) => made().values(options)) satisfies Stream['values'];
}

/** The body, held back while it is at most `limit` bytes and checked whole at its end; passed on as it comes past that. */
function holdSmallBody(
  body: ReadableStream<Uint8Array>,
  limit: number,
  checked: (text: string) => string | Promise<string>,
): ReadableStream<Uint8Array> {
  // The body's own reader (its getReader reads this stream now), taken on the first read.
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let held: Uint8Array[] | undefined = [];
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader ??= ReadableStream.prototype.getReader.call(body) as ReadableStreamDefaultReader<Uint8Array>;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          if (held !== undefined) {
            const text = decoder.decode(concatBytes(held, size));
            controller.enqueue(encoder.encode(await checked(text)));
          }
          return controller.close();
        }
        if (held === undefined) return controller.enqueue(value);
        held.push(value);
        size += value.byteLength;
        if (size <= limit) continue;
        for (const chunk of held) controller.enqueue(chunk);
        held = undefined;
        return;
      }
    },
    cancel: (reason) => (reader ?? ReadableStream.prototype.getReader.call(body)).cancel(reason),
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
