import type { ChunkRead, ChunkReader } from '../shared/chunk-reader.js';
import { type JsonRpcId, messagesIn, NotJson, parseJson } from '../shared/json-rpc.js';
import { noop } from '../shared/noop.js';
import { eventData, SseEventScanner } from '../shared/sse/sse-event-scanner.js';

/**
 * Decides on the stream's first event that carries data (its raw text). Returns undefined to let
 * the stream through at once, or a promise: of the stream to deliver instead, or of undefined to
 * let it through after all (a suspicion the session did not confirm). Never rejects.
 */
type FirstEventDecision = (text: string) => Promise<ReadableStream<Uint8Array> | undefined> | undefined;

/** How a stream ended without answering every request it carried. */
export interface StreamEnding {
  /** The requests it did not answer. */
  readonly missing: readonly JsonRpcId[];
  /** The network error it broke with; undefined when it ended cleanly. */
  readonly error: unknown;
  /** The data of the first event that was neither an answer nor a request or notification (an error sent instead), if any. */
  readonly stray: string | undefined;
  /** Events whose data was not JSON. */
  readonly invalid: number;
  /** Ids of answers to requests the stream did not carry (at most 3). */
  readonly otherIds: readonly unknown[];
}

/**
 * The requests a stream answers, asked as cheaply as possible: the request body is only parsed
 * when an answer's id is not found in it as written, or when the stream ends unanswered.
 */
export interface AnsweredRequests {
  /** How many answers complete the stream, at most (1 for a single message). */
  readonly count: number;
  /** Whether `id` is one of theirs. */
  isOurs(id: unknown): boolean;
  /** Their ids. */
  ids(): readonly JsonRpcId[];
}

export interface SseWatch {
  /** Bytes held back at most while waiting for the first event that carries data. */
  readonly limit: number;
  readonly decide?: FirstEventDecision | undefined;
  /** The requests the stream answers; undefined for the GET stream. */
  readonly requests?: AnsweredRequests | undefined;
  /**
   * The stream ended or broke before answering every request, and carried no event ids, so the
   * client cannot resume it: SSE text to end it with (answers for `ending.missing`), or undefined
   * to let it end as it did.
   */
  readonly onUnanswered?: ((ending: StreamEnding) => Promise<string | undefined> | string | undefined) | undefined;
  /** Called once, at the first request, notification or result the stream delivers. */
  readonly onMessage?: (() => void) | undefined;
  /** Called once when the stream is over. Not called when the stream was replaced (the replacement reports). */
  readonly onClose?: ((how: 'ended' | 'broke' | 'cancelled') => void) | undefined;
}

const encoder = new TextEncoder();
// Events larger than this are not decoded or parsed (an answer this big is not an error, and not
// worth the time): after one, nothing is ever added to the stream.
const MAX_TRACKED_EVENT_BYTES = 8 * 1024;
const MAX_STRAY_CHARS = 4096;

/**
 * Passes an SSE response through, chunk by chunk, never buffering beyond the opening bytes:
 * - holds back the opening bytes until the first event that carries data is complete (or `limit`
 *   bytes arrived), so a session error there can be swapped for the replay's stream before the
 *   client sees it;
 * - notes which requests were answered, as events pass, until all were;
 * - when the stream ends or breaks before that and is not resumable, ends it with `onUnanswered`'s
 *   answers instead of leaving the client to its own timeout (issue 8).
 *
 * Returns `body` itself, not a new stream (on Node 20 each `ReadableStream` costs about 10 µs,
 * a tenth of a loopback call's client-side work): its `pipeThrough`, the SDK transports' way to
 * read it, pumps the watched chunks straight into the transform, and its `getReader` reads them
 * through a stream built on first use. Other ways (`pipeTo`, `tee`, iteration) read the body as
 * the server sent it, unwatched.
 */
export function watchSseResponse(body: ReadableStream<Uint8Array>, watch: SseWatch): ReadableStream<Uint8Array> {
  type Stream = ReadableStream<Uint8Array>;
  // The body's own reader: its getReader is the watched one now.
  const source = new WatchedChunks(() => ReadableStream.prototype.getReader.call(body) as ReadableStreamDefaultReader<Uint8Array>, watch);
  const patch = body as unknown as Record<string, unknown>;
  patch['pipeThrough'] = ((transform, options) =>
    options === undefined || Object.keys(options).length === 0
      ? pumpInto(source, transform)
      : source.asStream().pipeThrough(transform, options)) satisfies Stream['pipeThrough'];
  patch['getReader'] = ((options?: Parameters<Stream['getReader']>[0]) => source.asStream().getReader(options)) as Stream['getReader'];
  return body;
}

/**
 * The same watch over chunks read without a web stream (`open` gives the body's reader, called at
 * the first read): the reader of the watched chunks, and a stream of them for readers that want one.
 */
export function watchSseChunks(open: () => ChunkReader, watch: SseWatch): ChunkReader & { asStream(): ReadableStream<Uint8Array> } {
  return new WatchedChunks(open, watch);
}

/** What `pipeThrough` does, reading the watched chunks: backpressure through `writer.ready`, errors passed on both ways. */
function pumpInto<T>(
  source: WatchedChunks,
  transform: { writable: WritableStream<Uint8Array>; readable: ReadableStream<T> },
): ReadableStream<T> {
  const writer = transform.writable.getWriter();
  // The reader gave up (cancelled the readable side): stop reading at once, even mid-wait.
  writer.closed.catch((reason: unknown) => source.cancel(reason).catch(noop));
  pump(source, writer).catch(noop);
  return transform.readable;
}

async function pump(source: WatchedChunks, writer: WritableStreamDefaultWriter<Uint8Array>): Promise<void> {
  try {
    for (;;) {
      const result = await source.read();
      if (result.done) return await writer.close();
      if (writer.desiredSize !== null && writer.desiredSize <= 0) await writer.ready;
      writer.write(result.value).catch(noop);
    }
  } catch (error) {
    await writer.abort(error).catch(noop);
    await source.cancel(error).catch(noop);
  }
}

/**
 * The watched chunks of one stream, one per `read()`. A class, not a closure: it is built for
 * every SSE answer, and one object with its methods on the prototype costs a fraction of the
 * dozen closures it replaces (issue 8 part 2: the middleware at ≤ 1.02× a plain client).
 */
class WatchedChunks implements ChunkReader {
  private upstream: ChunkReader | undefined;
  private source: ChunkReader | undefined;
  // Chunks held back until the first event is decided; undefined once decided.
  private held: Uint8Array[] | undefined = [];
  private heldBytes = 0;
  // Chunks ready to deliver (the held ones once released, an ending).
  private readonly out: Uint8Array[] = [];
  private first: string | undefined;
  private answered: Set<JsonRpcId> | undefined;
  private messageSeen: boolean;
  private tracking: boolean;
  private stray: string | undefined;
  private invalid = 0;
  private readonly otherIds: unknown[] = [];
  private sawUnread = false;
  private replaced = false;
  private finished = false;
  private over = false;
  private stream: ReadableStream<Uint8Array> | undefined;
  private readonly scanner: SseEventScanner;

  private readonly open: () => ChunkReader;
  private readonly watch: SseWatch;

  constructor(open: () => ChunkReader, watch: SseWatch) {
    this.open = open;
    this.watch = watch;
    this.messageSeen = watch.onMessage === undefined;
    this.tracking = watch.requests !== undefined || !this.messageSeen;
    this.scanner = new SseEventScanner(MAX_TRACKED_EVENT_BYTES, this);
  }

  /** A stream of the watched chunks, for readers other than `pipeThrough`; built once. */
  asStream(): ReadableStream<Uint8Array> {
    this.stream ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const result = await this.read();
        if (result.done) controller.close();
        else controller.enqueue(result.value);
      },
      cancel: (reason) => this.cancel(reason),
    });
    return this.stream;
  }

  async read(): Promise<ChunkRead> {
    for (;;) {
      const ready = this.out.shift();
      if (ready !== undefined) return { done: false, value: ready };
      if (this.finished) return { done: true };
      this.upstream ??= this.open();
      this.source ??= this.upstream;
      let result: ChunkRead;
      try {
        result = await this.source.read();
      } catch (error) {
        if (this.replaced) throw error;
        const finishing = this.finish(error);
        if (finishing !== undefined) await finishing;
        continue;
      }
      if (result.done) {
        if (this.replaced) this.finished = true;
        else {
          const finishing = this.finish(undefined);
          if (finishing !== undefined) await finishing;
        }
        continue;
      }
      const chunk = result.value;
      if (chunk.byteLength === 0) continue;
      if (this.tracking || this.held !== undefined) this.scanner.feed(chunk);
      // Decided: pass chunks straight through (the hot path).
      if (this.held === undefined) return result;
      this.held.push(chunk);
      this.heldBytes += chunk.byteLength;
      if (this.first === undefined && this.heldBytes < this.watch.limit) continue;
      const replacing = this.decide();
      if (replacing === undefined || !(await replacing)) this.release();
    }
  }

  cancel(reason?: unknown): Promise<void> {
    this.close('cancelled');
    this.finished = true;
    this.upstream ??= this.open();
    return (this.source ?? this.upstream).cancel(reason);
  }

  /** A complete event (its text; undefined when too big to read), from the scanner. */
  onEvent(event: string | undefined): void {
    if (event === undefined) {
      // Too big to read: it may well be an answer, so nothing is ever added after it.
      this.sawUnread = true;
      this.first ??= '';
      return;
    }
    const data = eventData(event);
    if (data === '') return;
    this.first ??= event;
    if (this.tracking) this.noteMessages(data);
  }

  private noteMessages(data: string): void {
    const parsed = parseJson(data);
    if (parsed instanceof NotJson) {
      this.invalid += 1; // not JSON: not an answer, and nothing a rule could read
      return;
    }
    const { requests } = this.watch;
    for (const message of messagesIn(parsed)) {
      if (typeof message !== 'object' || message === null) continue;
      const record = message as Record<string, unknown>;
      const answers = 'result' in record || 'error' in record;
      if (answers && requests?.isOurs(record['id'])) {
        this.answered ??= new Set();
        this.answered.add(record['id'] as JsonRpcId);
        if ('result' in record) this.sawMessage();
      } else if (answers && requests !== undefined && record['id'] !== null && record['id'] !== undefined) {
        if (this.otherIds.length < 3) this.otherIds.push(record['id']);
        if ('result' in record) this.sawMessage();
      } else if (typeof record['method'] === 'string' || 'result' in record) {
        this.sawMessage();
      } else {
        this.stray ??= data.slice(0, MAX_STRAY_CHARS);
      }
    }
    if ((requests === undefined || (this.answered?.size ?? 0) >= requests.count) && this.messageSeen) this.tracking = false;
  }

  private sawMessage(): void {
    if (this.messageSeen) return;
    this.messageSeen = true;
    this.watch.onMessage?.();
  }

  private close(how: 'ended' | 'broke' | 'cancelled'): void {
    if (this.over || this.replaced) return;
    this.over = true;
    this.watch.onClose?.(how);
  }

  private release(): void {
    if (this.held !== undefined) this.out.push(...this.held);
    this.held = undefined;
  }

  /**
   * Decides on the held first event: undefined when it passes as it is (the usual answer: no
   * promise to wait for), or a promise of whether the stream was replaced.
   */
  private decide(): Promise<boolean> | undefined {
    const decision = this.first === undefined || this.first === '' ? undefined : this.watch.decide?.(this.first);
    return decision?.then((replacement) => this.replaceWith(replacement));
  }

  /** Reads `replacement` instead of the rest of the stream, if there is one; true when there is. */
  private replaceWith(replacement: ReadableStream<Uint8Array> | undefined): boolean {
    if (replacement === undefined) return false;
    this.held = undefined;
    this.replaced = true;
    this.tracking = false;
    this.upstream?.cancel().catch(noop);
    this.source = replacement.getReader();
    return true;
  }

  /**
   * The stream is over (`error` set when it broke): judge what was held, then answer what was not
   * answered. A promise only when something must be waited for (the usual end has nothing to).
   */
  private finish(error: unknown): Promise<void> | undefined {
    const partial = this.tracking || this.held !== undefined ? this.scanner.partial() : undefined;
    const partialData = partial === undefined ? '' : eventData(partial);
    if (this.held === undefined) return this.answerMissing(error, partialData);
    // A session error may be the stream's only event, cut short by its end (no blank line).
    if (this.first === undefined && partialData !== '') this.first = `${partial}\n\n`;
    const replacing = this.decide();
    if (replacing === undefined) {
      this.release();
      return this.answerMissing(error, partialData);
    }
    return replacing.then((replaced) => {
      if (replaced) return;
      this.release();
      return this.answerMissing(error, partialData);
    });
  }

  /** The end of a stream that was not replaced: the requests it did not answer are answered, when it cannot be resumed. */
  private answerMissing(error: unknown, partialData: string): Promise<void> | undefined {
    // A last event without its blank line is completed, so the client reads it as sent.
    const completion = partialData === '' ? '' : '\n\n';
    if (this.tracking && partialData !== '') this.noteMessages(partialData);
    const { requests, onUnanswered } = this.watch;
    const answered = this.answered;
    const unanswered = requests !== undefined && (answered?.size ?? 0) < requests.count && !this.sawUnread && !this.scanner.resumable;
    const missing = unanswered ? requests.ids().filter((id) => !answered?.has(id)) : [];
    if (missing.length === 0 || onUnanswered === undefined) return this.end(error, completion, undefined);
    const ending = { missing, error, stray: this.stray, invalid: this.invalid, otherIds: this.otherIds };
    return Promise.resolve(onUnanswered(ending)).then((text) => this.end(error, completion, text));
  }

  /** Ends the stream: with `ending` (SSE text) when given, else as it ended (`error`: it broke). */
  private end(error: unknown, completion: string, ending: string | undefined): undefined {
    this.finished = true;
    if (ending !== undefined) {
      this.out.push(encoder.encode(`${completion === '' ? '\n\n' : completion}${ending}`));
    } else if (error !== undefined) {
      this.close('broke');
      throw error;
    } else if (completion !== '') {
      this.out.push(encoder.encode(completion));
    }
    this.close(error === undefined ? 'ended' : 'broke');
    return undefined;
  }
}
