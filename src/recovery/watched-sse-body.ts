// An SSE body a fetch answered with, watched in place: the body the client reads is the server's
// own stream (no stream of ours in between), its prototype swapped for one whose readers read the
// watched chunks (watch-sse-response.ts).
import { noop } from '../shared/noop.js';
import { prototypeMethod } from './prototype-method.js';
import { type ChunkOwner, type SseWatch, WATCHED, type WatchedChunkReader, watchSseChunks } from './watch-sse-response.js';

type Bytes = ReadableStream<Uint8Array>;
type Transform<I, O> = { writable: WritableStream<I>; readable: ReadableStream<O> };
type PipeOptions = Parameters<ReadableStream['pipeThrough']>[1];

/**
 * Watches the SSE body of `response`, a fetch answer, in place, as the client reads it (`watch`
 * says what for): true when it did (or there was no body), false when the answer or its body is
 * not the platform's own (a subclass, another implementation): a prototype of ours would drop
 * what theirs adds. On Node 20 every web stream costs tens of µs to build and to pass a chunk
 * through, so none is added:
 * - `pipeThrough`, the SDK transports' way to read an answer, pumps the watched chunks straight
 *   into the transform; when that is a `TextDecoderStream` whose readable is piped on at once (the
 *   SDKs' `body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())`),
 *   the chunks are decoded here and written to the next transform, and the decoder stream is
 *   skipped: one stream hop fewer than the client makes without the middleware;
 * - every other reader (`getReader`, `pipeTo`, `tee`, iteration, and so `text()` and `clone()` of
 *   the answer) reads a stream of the watched chunks, built on first use.
 * Once the stream is over, the body holds nothing of the watch (a web stream outlives V8's
 * young-generation collections on Node 20, and promotes whatever it holds).
 */
export function watchSseBodyInPlace(response: Response, watch: SseWatch): boolean {
  if (Object.getPrototypeOf(response) !== Response.prototype) return false;
  const body = response.body;
  if (body === null) return true;
  if (Object.getPrototypeOf(body) !== native) return false;
  const owned = body as Bytes & ChunkOwner;
  owned[WATCHED] = watchSseChunks(() => readerOf(body), watch, owned);
  Object.setPrototypeOf(body, WATCHED_BODY);
  return true;
}

const native = ReadableStream.prototype;

function readerOf(stream: Bytes): ReadableStreamDefaultReader<Uint8Array> {
  return native.getReader.call(stream) as ReadableStreamDefaultReader<Uint8Array>;
}

/** The watched chunks of a body, while they are not over (then its readers are the platform's, and it is locked). */
function chunksOf(body: unknown): WatchedChunkReader | undefined {
  return (body as ChunkOwner)[WATCHED] as WatchedChunkReader | undefined;
}

function noOptions(options: PipeOptions): boolean {
  return options === undefined || Object.keys(options).length === 0;
}

/** The prototype of a watched body: a `ReadableStream`'s, with its readers reading the watched chunks. */
const WATCHED_BODY: Bytes = Object.create(native, {
  pipeThrough: prototypeMethod(function pipeThrough<T>(this: Bytes, transform: Transform<Uint8Array, T>, options?: PipeOptions) {
    const chunks = chunksOf(this);
    if (chunks === undefined) return native.pipeThrough.call(this, transform, options);
    if (!noOptions(options)) return chunks.asStream().pipeThrough(transform, options);
    // The platform's own decoder stream only: a subclass may decode its own way.
    if (typeof TextDecoderStream === 'function' && Object.getPrototypeOf(transform) === TextDecoderStream.prototype) {
      return decodeOnUse(chunks, transform as unknown as TextDecoderStream);
    }
    return pumpInto(chunks, transform);
  }),
  getReader: prototypeMethod(function getReader(this: Bytes, options?: Parameters<Bytes['getReader']>[0]) {
    return native.getReader.call(chunksOf(this)?.asStream() ?? this, options);
  }),
  pipeTo: prototypeMethod(function pipeTo(this: Bytes, destination: WritableStream<Uint8Array>, options?: PipeOptions) {
    return native.pipeTo.call(chunksOf(this)?.asStream() ?? this, destination, options);
  }),
  tee: prototypeMethod(function tee(this: Bytes) {
    return native.tee.call(chunksOf(this)?.asStream() ?? this);
  }),
  values: prototypeMethod(function values(this: Bytes, options?: { preventCancel?: boolean }) {
    return native.values.call(chunksOf(this)?.asStream() ?? this, options);
  }),
  [Symbol.asyncIterator]: prototypeMethod(function asyncIterator(this: Bytes, options?: { preventCancel?: boolean }) {
    return native.values.call(chunksOf(this)?.asStream() ?? this, options);
  }),
});

/**
 * `pipeThrough` into a `TextDecoderStream`: its readable is handed back, and what reads it decides
 * how the chunks get there. Piped on at once (no options), the chunks are decoded here, as the
 * decoder stream would, and written straight to the next transform; read any other way, they are
 * pumped into the decoder stream, which decodes them itself.
 */
function decodeOnUse(chunks: WatchedChunkReader, decoding: TextDecoderStream): ReadableStream<string> {
  // Locked at once, as pipeThrough locks the body.
  chunks.lock();
  const readable = decoding.readable as ReadableStream<string> & ChunkOwner;
  readable[WATCHED] = new DecodeOnUse(chunks, decoding);
  Object.setPrototypeOf(readable, DECODED);
  return readable;
}

/** What a decoder stream's readable waits for: a reader, which decides who decodes. */
class DecodeOnUse {
  readonly chunks: WatchedChunkReader;
  readonly decoding: TextDecoderStream;

  constructor(chunks: WatchedChunkReader, decoding: TextDecoderStream) {
    this.chunks = chunks;
    this.decoding = decoding;
  }
}

/** The decoder stream's readable, once: who reads it first decides how the chunks reach it. */
function takeDecoding(readable: ReadableStream<string>): DecodeOnUse | undefined {
  const owned = readable as ReadableStream<string> & ChunkOwner;
  const waiting = owned[WATCHED];
  if (!(waiting instanceof DecodeOnUse)) return undefined;
  owned[WATCHED] = undefined;
  return waiting;
}

/** A reader other than a plain `pipeThrough`: the chunks go through the decoder stream after all. */
function throughDecoder(readable: ReadableStream<string>): ReadableStream<string> {
  const waiting = takeDecoding(readable);
  if (waiting !== undefined) pumpInto(waiting.chunks, waiting.decoding);
  return readable;
}

/** The prototype of a decoder stream's readable that no one has read yet. */
const DECODED: ReadableStream<string> = Object.create(native, {
  pipeThrough: prototypeMethod(function pipeThrough<T>(
    this: ReadableStream<string>,
    transform: Transform<string, T>,
    options?: PipeOptions,
  ) {
    if (!noOptions(options)) return native.pipeThrough.call(throughDecoder(this), transform, options);
    const waiting = takeDecoding(this);
    if (waiting === undefined) return native.pipeThrough.call(this, transform, options);
    // Locked, as pipeThrough leaves it: a second reader is refused as the platform refuses one.
    readerOf(this as unknown as Bytes);
    return decodeInto(waiting, transform);
  }),
  getReader: prototypeMethod(function getReader(
    this: ReadableStream<string>,
    options?: Parameters<ReadableStream<string>['getReader']>[0],
  ) {
    return native.getReader.call(throughDecoder(this), options);
  }),
  pipeTo: prototypeMethod(function pipeTo(this: ReadableStream<string>, destination: WritableStream<string>, options?: PipeOptions) {
    return native.pipeTo.call(throughDecoder(this), destination, options);
  }),
  tee: prototypeMethod(function tee(this: ReadableStream<string>) {
    return native.tee.call(throughDecoder(this));
  }),
  values: prototypeMethod(function values(this: ReadableStream<string>, options?: { preventCancel?: boolean }) {
    return native.values.call(throughDecoder(this), options);
  }),
  [Symbol.asyncIterator]: prototypeMethod(function asyncIterator(this: ReadableStream<string>, options?: { preventCancel?: boolean }) {
    return native.values.call(throughDecoder(this), options);
  }),
  cancel: prototypeMethod(function cancel(this: ReadableStream<string>, reason?: unknown) {
    const waiting = takeDecoding(this);
    if (waiting !== undefined) waiting.chunks.cancel(reason).catch(noop);
    return native.cancel.call(this, reason);
  }),
});

/** What `pipeThrough` does, reading the watched chunks: backpressure through `writer.ready`, errors passed on both ways. */
function pumpInto<T>(chunks: WatchedChunkReader, transform: Transform<Uint8Array, T>): ReadableStream<T> {
  const writer = transform.writable.getWriter();
  // The reader gave up (cancelled the readable side): stop reading at once, even mid-wait.
  writer.closed.catch((reason: unknown) => chunks.cancel(reason).catch(noop));
  pump(chunks, writer).catch(noop);
  return transform.readable;
}

async function pump(chunks: WatchedChunkReader, writer: WritableStreamDefaultWriter<Uint8Array>): Promise<void> {
  try {
    for (;;) {
      const result = await chunks.read();
      if (result.done) return await writer.close();
      if (writer.desiredSize !== null && writer.desiredSize <= 0) await writer.ready;
      writer.write(result.value).catch(noop);
    }
  } catch (error) {
    await writer.abort(error).catch(noop);
    await chunks.cancel(error).catch(noop);
  }
}

/** The same, decoding the chunks on the way as the skipped `TextDecoderStream` would (its encoding and options). */
function decodeInto<T>(waiting: DecodeOnUse, transform: Transform<string, T>): ReadableStream<T> {
  const { chunks, decoding } = waiting;
  const decoder = new TextDecoder(decoding.encoding, { fatal: decoding.fatal, ignoreBOM: decoding.ignoreBOM });
  const writer = transform.writable.getWriter();
  writer.closed.catch((reason: unknown) => chunks.cancel(reason).catch(noop));
  pumpText(chunks, decoder, writer).catch(noop);
  return transform.readable;
}

async function pumpText(
  chunks: WatchedChunkReader,
  decoder: InstanceType<typeof TextDecoder>,
  writer: WritableStreamDefaultWriter<string>,
): Promise<void> {
  try {
    for (;;) {
      const result = await chunks.read();
      // As the decoder stream: each chunk decoded as it comes, what is left at the end flushed; no empty strings.
      const text = result.done ? decoder.decode() : decoder.decode(result.value, { stream: true });
      if (text !== '') {
        if (writer.desiredSize !== null && writer.desiredSize <= 0) await writer.ready;
        writer.write(text).catch(noop);
      }
      if (result.done) return await writer.close();
    }
  } catch (error) {
    await writer.abort(error).catch(noop);
    await chunks.cancel(error).catch(noop);
  }
}
