/**
 * A body read chunk by chunk, as a web stream's reader reads it, without the stream. On Node 20
 * every `ReadableStream` survives V8's young-generation collections (what it holds with it is only
 * freed by a full collection): one per answer grows a long-running process's heap under load, where
 * reading the HTTP client's body straight costs nothing that outlives the answer.
 */
export interface ChunkReader {
  read(): Promise<ChunkRead>;
  /** Stops reading; the rest of the body is discarded. */
  cancel(reason?: unknown): Promise<void>;
}

/** One read: a chunk, or the end (as a web stream's reader says it). */
export type ChunkRead = { done: false; value: Uint8Array } | { done: true; value?: Uint8Array | undefined };

/** Where a body's chunks come from: a web stream (read through its reader) or a reader of its own. */
export type ChunkSource = ReadableStream<Uint8Array> | ChunkReader;

/** Reads `source` with `read`, the stream's lock released at the end (a reader of its own is left as it is). */
export async function withChunkReader<T>(source: ChunkSource, read: (reader: ChunkReader) => Promise<T>): Promise<T> {
  if (!(source instanceof ReadableStream)) return read(source);
  const reader = source.getReader();
  try {
    return await read(reader);
  } finally {
    reader.releaseLock();
  }
}
