/** A body was larger than the caller was willing to hold. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  readonly limit: number;

  constructor(limit: number) {
    super(`the body exceeds ${limit} bytes`);
    this.limit = limit;
  }
}

/** A body read whole, as the chunks it arrived in. */
export interface BodyBytes {
  readonly chunks: Uint8Array[];
  readonly bytes: number;
}

/**
 * Reads a response body as bytes, refusing (and releasing) it as soon as it passes `limit`
 * bytes; a `Content-Length` over the limit is refused before a byte is read.
 */
export async function readBoundedBody(response: Response, limit: number): Promise<BodyBytes> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(limit);
  }
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const reader = response.body?.getReader();
  if (reader === undefined) return { chunks, bytes };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { chunks, bytes };
    bytes += value.byteLength;
    if (bytes > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
}

/** The same, as text. */
export async function readBoundedText(response: Response, limit: number): Promise<string> {
  const { chunks, bytes } = await readBoundedBody(response, limit);
  return joinText(chunks, bytes);
}

const decoder = new TextDecoder();

/** Decodes chunks as one UTF-8 text. */
export function joinText(chunks: readonly Uint8Array[], bytes: number): string {
  if (chunks.length === 1) return decoder.decode(chunks[0]);
  const joined = new Uint8Array(bytes);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return decoder.decode(joined);
}
