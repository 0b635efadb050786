// Watching an SSE body chunk by chunk for what its first event says and for the requests it answers
// (watched-sse-body.ts puts it in a fetch answer's body; the gateway reads it straight).
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
  /** Decides on the stream's first event that carries data. */
  decide?(text: string): ReturnType<FirstEventDecision>;
  /** The requests the stream answers; undefined for the GET stream. */
  readonly requests?: AnsweredRequests | undefined;
  /**
   * The stream ended or broke before answering every request, and carried no event ids, so the
   * client cannot resume it: SSE text to end it with (answers for `ending.missing`), or undefined
   * to let it end as it did.
   */
  onUnanswered?(ending: StreamEnding): Promise<string | undefined> | string | undefined;
  /** Called once, at the first request, notification or result the stream delivers. */
  onMessage?(): void;
  /** Called once when the stream is over. Not called when the stream was replaced (the replacement reports). */
  onClose?(how: 'ended' | 'broke' | 'cancelled'): void;
}

// What a watcher is left with once nothing more can come of watching: the answer judged, its
// requests answered (or the stream over). The rest of the stream passes as it comes, and the
// stream no longer holds the request, the session or the judge: on Node 20 a web stream outlives
// V8's young-generation collections, and whatever it still holds is promoted with it.
const SETTLED: SseWatch = Object.freeze({ limit: 0 });

const encoder = new TextEncoder();
// Events larger than this are not decoded or parsed (an answer this big is not an error, and not
// worth the time): after one, nothing is ever added to the stream.
const MAX_TRACKED_EVENT_BYTES = 8 * 1024;
const MAX_STRAY_CHARS = 4096;

/**
 * The chunks of an SSE body (`open` gives the body's reader, called at the first read), passed on
 * one by one, never buffered beyond the opening bytes:
 * - the opening bytes are held back until the first event that carries data is complete (or
 *   `limit` bytes arrived), so a session error there can be swapped for the replay's stream before
 *   the client sees it;
 * - which requests were answered is noted as events pass, until all were;
 * - when the stream ends or breaks before that and is not resumable, it is ended with
 *   `onUnanswered`'s answers instead of leaving the client to its own timeout (issue 8).
 * Gives the reader of the watched chunks, and a stream of them for readers that want one. `owner`
 * is the body whose readers read these chunks (watched-sse-body.ts): it lets go of them once they
 * are over.
 */
export function watchSseChunks(open: () => ChunkReader, watch: SseWatch, owner?: ChunkOwner): WatchedChunkReader {
  return new WatchedChunks(open, watch, owner);
}

/** The reader {@linkcode watchSseChunks} gives. */
export interface WatchedChunkReader extends ChunkReader {
  /** A stream of the watched chunks, for readers that want one; built once. */
  asStream(): ReadableStream<Uint8Array>;
  /** Takes the body's reader now (as `pipeThrough` locks a stream at once), if not taken yet. */
  lock(): void;
}

/** Where a body keeps its watched chunks, until they are over. */
export const WATCHED = Symbol('mcp-lifeline: watched chunks');

/** A body that keeps its watched chunks (watched-sse-body.ts). */
export interface ChunkOwner {
  [WATCHED]?: unknown;
}

/**
 * The watched chunks of one stream, one per `read()`. A class, not a closure: it is built for
 * every SSE answer, and one object with its methods on the prototype costs a fraction of the
 * dozen closures it replaces (issue 8 part 2: the middleware at ≤ 1.02× a plain client).
 */
class WatchedChunks implements WatchedChunkReader {
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
  private watch: SseWatch;
  // The body whose readers read these chunks, let go of when the stream is over.
  private owner: ChunkOwner | undefined;

  constructor(open: () => ChunkReader, watch: SseWatch, owner?: ChunkOwner) {
    this.open = open;
    this.watch = watch;
    this.owner = owner;
    this.messageSeen = watch.onMessage === undefined;
    this.tracking = watch.requests !== undefined || !this.messageSeen;
    this.scanner = new SseEventScanner(MAX_TRACKED_EVENT_BYTES, this);
  }

  lock(): void {
    this.upstream ??= this.open();
  }

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
        if (this.replaced) this.done();
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
    this.done();
    this.upstream ??= this.open();
    return (this.source ?? this.upstream).cancel(reason);
  }

  /** Nothing more is read from the source: the body lets go of these chunks (its readers have them). */
  private done(): void {
    this.finished = true;
    if (this.owner !== undefined) this.owner[WATCHED] = undefined;
    this.owner = undefined;
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
    if ((requests === undefined || (this.answered?.size ?? 0) >= requests.count) && this.messageSeen) {
      this.tracking = false;
      this.settleIfDone();
    }
  }

  /** Lets go of the watch once the answer is judged and every request answered (nothing can come of it). */
  private settleIfDone(): void {
    if (this.tracking || this.held !== undefined || this.watch.onClose !== undefined) return;
    this.watch = SETTLED;
    this.answered = undefined;
    this.first = '';
  }

  private sawMessage(): void {
    if (this.messageSeen) return;
    this.messageSeen = true;
    this.watch.onMessage?.();
  }

  private close(how: 'ended' | 'broke' | 'cancelled'): void {
    if (this.over || this.replaced) return;
    this.over = true;
    const { watch } = this;
    this.watch = SETTLED;
    watch.onClose?.(how);
  }

  private release(): void {
    if (this.held !== undefined) this.out.push(...this.held);
    this.held = undefined;
    this.settleIfDone();
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
    // The replacement reports for itself: nothing of this watch is asked again.
    this.watch = SETTLED;
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
    const { watch } = this;
    const { requests } = watch;
    const answered = this.answered;
    const unanswered = requests !== undefined && (answered?.size ?? 0) < requests.count && !this.sawUnread && !this.scanner.resumable;
    const missing = unanswered ? requests.ids().filter((id) => !answered?.has(id)) : [];
    if (missing.length === 0 || watch.onUnanswered === undefined) return this.end(error, completion, undefined);
    const ending = { missing, error, stray: this.stray, invalid: this.invalid, otherIds: this.otherIds };
    return Promise.resolve(watch.onUnanswered(ending)).then((text) => this.end(error, completion, text));
  }

  /** Ends the stream: with `ending` (SSE text) when given, else as it ended (`error`: it broke). */
  private end(error: unknown, completion: string, ending: string | undefined): undefined {
    this.done();
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
