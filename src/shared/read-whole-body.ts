import type { ChunkReader } from './chunk-reader.js';
import { joinText } from './concat-bytes.js';
import { noop } from './noop.js';

/** A body read whole, as the chunks it arrived in. */
export interface BodyBytes {
  readonly chunks: Uint8Array[];
  readonly bytes: number;
}

/**
 * Reads a response body whole, as bytes, within `limit`: resolves undefined (the body released)
 * as soon as it passes `limit` bytes, and before a byte is read when `Content-Length` says so; the
 * caller says what a body over its bound means. Rejects when the body breaks. `readerOf`, when the
 * caller has one, reads the body's chunks without a web stream and without joining them (a large
 * body is then held once, as it arrived).
 */
export async function readWholeBody(
  response: Response,
  limit: number,
  readerOf?: (response: Response) => ChunkReader | null,
): Promise<BodyBytes | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > limit) {
    await response.body?.cancel().catch(noop);
    return undefined;
  }
  if (readerOf !== undefined) return readWithin(readerOf(response), limit);
  // A length declared within the bound (the HTTP client holds the server to it): read at once, no stream built.
  if (response.headers.has('content-length') && declared <= limit) {
    const whole = new Uint8Array(await response.arrayBuffer());
    return { chunks: whole.byteLength === 0 ? [] : [whole], bytes: whole.byteLength };
  }
  return readWithin(response.body?.getReader() ?? null, limit);
}

/** The chunks `reader` gives, to the end, or undefined (the rest cancelled) once they pass `limit` bytes. */
async function readWithin(reader: ChunkReader | null, limit: number): Promise<BodyBytes | undefined> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  if (reader === null) return { chunks, bytes };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { chunks, bytes };
    bytes += value.byteLength;
    if (bytes > limit) {
      await reader.cancel().catch(noop);
      return undefined;
    }
    chunks.push(value);
  }
}

/** The same, as text. */
export async function readWholeText(response: Response, limit: number): Promise<string | undefined> {
  const body = await readWholeBody(response, limit);
  return body === undefined ? undefined : joinText(body.chunks, body.bytes);
}
