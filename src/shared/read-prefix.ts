import { concatBytes } from './concat-bytes.js';
import { noop } from './noop.js';

/** The first bytes of a response body, read without losing the rest. */
export interface BodyPrefix {
  /** The prefix as text (UTF-8, lenient). */
  readonly text: string;
  /** The whole body fit in the prefix. */
  readonly complete: boolean;
  /** The same response with its body intact (prefix, then the rest); optionally other headers. */
  rebuild(headers?: Headers): Response;
  /** Releases the rest of the body. */
  discard(): Promise<void>;
}

/**
 * Reads at most about `limit` bytes of `response`'s body (whole chunks, so possibly a little more).
 * Never buffers beyond that: the rest stays in the stream for whoever reads the rebuilt response.
 */
export async function readPrefix(response: Response, limit: number): Promise<BodyPrefix> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = true;
  let failure: unknown;
  const reader = response.body?.getReader();
  if (reader !== undefined) {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        size += value.byteLength;
        if (size >= limit) {
          complete = false;
          break;
        }
      }
    } catch (error) {
      failure = error; // surfaced to whoever reads the rebuilt body, as it would have been
    }
  }
  const bytes = concatBytes(chunks, size);
  return {
    text: new TextDecoder().decode(bytes),
    complete,
    rebuild(headers = response.headers) {
      const init = { status: response.status, statusText: response.statusText, headers };
      if (reader === undefined) return new Response(null, init);
      if (complete && failure === undefined) return new Response(bytes, init);
      return new Response(continueAfter(bytes, reader, failure), init);
    },
    async discard() {
      if (reader !== undefined && !complete) await reader.cancel().catch(noop);
    },
  };
}

function continueAfter(prefix: Uint8Array, reader: ReadableStreamDefaultReader<Uint8Array>, failure: unknown): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (prefix.byteLength > 0) controller.enqueue(prefix);
      if (failure !== undefined) controller.error(failure);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** The first `limit` bytes (about) of a body as text; the rest is released unread. */
export async function readTextPrefix(response: Response, limit: number): Promise<string> {
  const prefix = await readPrefix(response, limit);
  await prefix.discard();
  return prefix.text;
}
