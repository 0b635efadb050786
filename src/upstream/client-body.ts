// What the two HTTP clients under the CLI's fetch share (undici-fetch.ts, node-http-fetch.ts): the
// request as they take it, and the answer's body under a standard `Response` without copying it.
import type { Readable } from 'node:stream';
import { type HeaderFields, WatchedResponse } from '../recovery/watched-response.js';
import type { ChunkReader } from '../shared/chunk-reader.js';

/** Statuses whose responses have no body (Fetch standard: null body status). */
export const NULL_BODY: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/** How the client's error for a failed read becomes the error a reader gets (the signal's reason once aborted). */
export type ReadFailure = (error: Error) => unknown;

/** The whole body, read by the client's own means. */
export interface WholeBody {
  text(): Promise<string>;
  bytes(): Promise<Uint8Array>;
}

/**
 * A `Response` whose body stays the client's until it is read: text() and arrayBuffer() read it
 * straight (what the SDKs, the gateway and the bridge do with a JSON answer), `WatchedResponse.readerOf`
 * reads its chunks as they come (the bridge's SSE answers), and a web stream is built only when
 * `body` is asked for. A `Response` constructed with a stream body costs a web stream and its
 * machinery per answer (about a tenth of a call's CPU on loopback, and the stream outlives the
 * young generation: see ChunkReader).
 */
export function clientBodyResponse(
  body: Readable,
  head: { readonly status: number; readonly headers: HeaderFields },
  failed: ReadFailure,
  whole: WholeBody,
): Response {
  let stream: ReadableStream<Uint8Array> | undefined;
  return new WatchedResponse(
    { status: head.status, statusText: '', headers: head.headers },
    {
      stream: () => {
        stream ??= webStream(readableReader(body, failed));
        return stream;
      },
      text: () => whole.text(),
      bytes: () => whole.bytes(),
      reader: () => readableReader(body, failed),
    },
  );
}

/** The body's chunks, one per read, with no buffering of its own. */
function readableReader(body: Readable, failed: ReadFailure): ChunkReader {
  const chunks = body[Symbol.asyncIterator]();
  return {
    async read() {
      let next: IteratorResult<unknown>;
      try {
        next = await chunks.next();
      } catch (error) {
        throw failed(error as Error);
      }
      if (next.done) return { done: true, value: undefined };
      const chunk = next.value as Buffer;
      return { done: false, value: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) };
    },
    async cancel(reason) {
      // Cancelled before the first read (a body discarded unread): nothing listens for the abort error yet.
      body.on('error', () => {});
      body.destroy(reason instanceof Error ? reason : undefined);
    },
  };
}

/** A web stream pulled from `reader`: one read per pull. */
function webStream(reader: ChunkReader): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await reader.read();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        controller.error(error);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** The answer's headers as the `Response` takes them: the plain object itself, unless a header came more than once. */
export function headersInit(raw: Record<string, string | string[] | undefined>): HeaderFields {
  let plain = true;
  for (const name in raw) if (typeof raw[name] !== 'string') plain = false;
  if (plain) return raw as Record<string, string>;
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const item of value) pairs.push([name, item]);
    else if (value !== undefined) pairs.push([name, value]);
  }
  return pairs;
}

/** The request's headers as a plain object. */
export function plainHeaders(headers: RequestInit['headers']): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (headers instanceof Headers || Array.isArray(headers)) return Object.fromEntries(headers as Iterable<[string, string]>);
  return headers as Record<string, string>;
}

/** The request's body as text or bytes; any other kind is refused. */
export function bodyOf(body: RequestInit['body']): string | Uint8Array | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('mcp-lifeline: only string and byte bodies can be sent to an MCP server');
}
