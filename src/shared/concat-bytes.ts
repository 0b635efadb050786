/** The chunks as one array of `size` bytes; a single chunk is returned as it is, not copied. */
export function concatBytes(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

const decoder = new TextDecoder();

/** Chunks of UTF-8 decoded as one text (a character split across chunks is decoded whole). */
export function joinText(chunks: readonly Uint8Array[], bytes: number): string {
  return decoder.decode(concatBytes(chunks, bytes));
}
