/** A body was larger than the caller was willing to hold. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  readonly limit: number;

  constructor(limit: number) {
    super(`the body exceeds ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * Reads a response body as text, refusing (and releasing) it as soon as it passes `limit` bytes:
 * a `Content-Length` over the limit is refused before a byte is read.
 */
export async function readBoundedText(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(limit);
  }
  // A declared length within the limit: the runtime's own reader is the fastest path.
  if (declared > 0) return response.text();
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(limit);
    }
    text += decoder.decode(value, { stream: true });
  }
}
