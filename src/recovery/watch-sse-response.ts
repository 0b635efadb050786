import type { JsonRpcId } from './outgoing-request.js';
import { createSseEventScanner, eventData } from './sse-event-scanner.js';

/**
 * Decides on the stream's first event that carries data (its raw text). Returns undefined to let
 * the stream through at once, or a promise: of the stream to deliver instead, or of undefined to
 * let it through after all (a suspicion the session did not confirm). Never rejects.
 */
export type FirstEventDecision = (text: string) => Promise<ReadableStream<Uint8Array> | undefined> | undefined;

/** How a stream ended without answering every request it carried. */
export interface StreamEnding {
  /** The requests it did not answer. */
  readonly missing: readonly JsonRpcId[];
  /** The network error it broke with; undefined when it ended cleanly. */
  readonly error: unknown;
  /** The data of the first event that was neither an answer nor a request or notification (an error sent instead), if any. */
  readonly stray: string | undefined;
}

export interface SseWatch {
  /** Bytes held back at most while waiting for the first event that carries data. */
  readonly limit: number;
  readonly decide?: FirstEventDecision | undefined;
  /** JSON-RPC ids of the requests the stream answers (none for the GET stream). */
  readonly requestIds: readonly JsonRpcId[];
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
// Events larger than this are not decoded (an answer this big is not an error, and not worth a copy).
const MAX_TRACKED_EVENT_BYTES = 64 * 1024;
const MAX_STRAY_CHARS = 4096;

type ReadResult = { done: false; value: Uint8Array } | { done: true; value?: undefined };

/** The chunks a watched stream delivers, one per `read()`, as a reader would see them. */
interface ChunkSource {
  read(): Promise<ReadResult>;
  cancel(reason?: unknown): Promise<void>;
}

const noop = () => {};

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
 * read it, pumps the watched chunks straight into the transform; every other way to read it
 * (`getReader`, `pipeTo`, `tee`, iteration) goes through a stream built on first use.
 */
export function watchSseResponse(body: ReadableStream<Uint8Array>, watch: SseWatch): ReadableStream<Uint8Array> {
  const source = watchChunks(body.getReader(), watch);
  let stream: ReadableStream<Uint8Array> | undefined;
  const asStream = () => {
    stream ??= new ReadableStream<Uint8Array>({
      async pull(controller) {
        const result = await source.read();
        if (result.done) controller.close();
        else controller.enqueue(result.value);
      },
      cancel: (reason) => source.cancel(reason),
    });
    return stream;
  };
  type Stream = ReadableStream<Uint8Array>;
  const pipeThrough: Stream['pipeThrough'] = (transform, options) =>
    options === undefined || Object.keys(options).length === 0 ? pumpInto(source, transform) : asStream().pipeThrough(transform, options);
  const patch = body as unknown as Record<string | symbol, unknown>;
  patch['pipeThrough'] = pipeThrough;
  patch['getReader'] = ((options?: Parameters<Stream['getReader']>[0]) => asStream().getReader(options)) as Stream['getReader'];
  patch['pipeTo'] = ((destination, options) => asStream().pipeTo(destination, options)) satisfies Stream['pipeTo'];
  patch['tee'] = (() => asStream().tee()) satisfies Stream['tee'];
  patch['values'] = ((options) => asStream().values(options)) satisfies Stream['values'];
  patch[Symbol.asyncIterator] = ((options) => asStream().values(options)) satisfies Stream['values'];
  patch['cancel'] = ((reason) => source.cancel(reason)) satisfies Stream['cancel'];
  return body;
}

/** What `pipeThrough` does, reading the watched chunks: backpressure through `writer.ready`, errors passed on both ways. */
function pumpInto<T>(
  source: ChunkSource,
  transform: { writable: WritableStream<Uint8Array>; readable: ReadableStream<T> },
): ReadableStream<T> {
  const writer = transform.writable.getWriter();
  // The reader gave up (cancelled the readable side): stop reading at once, even mid-wait.
  writer.closed.catch((reason: unknown) => source.cancel(reason).catch(noop));
  const pump = async () => {
    try {
      for (;;) {
        const result = await source.read();
        if (result.done) return await writer.close();
        await writer.ready;
        writer.write(result.value).catch(noop);
      }
    } catch (error) {
      await writer.abort(error).catch(noop);
      await source.cancel(error).catch(noop);
    }
  };
  pump().catch(noop);
  return transform.readable;
}

function watchChunks(upstream: ReadableStreamDefaultReader<Uint8Array>, watch: SseWatch): ChunkSource {
  let source = upstream;
  // Chunks held back until the first event is decided; undefined once decided.
  let held: Uint8Array[] | undefined = [];
  let heldBytes = 0;
  // Chunks ready to deliver (the held ones once released, an ending).
  const out: Uint8Array[] = [];
  let first: string | undefined;
  const pending = new Set<JsonRpcId>(watch.requestIds);
  let messageSeen = watch.onMessage === undefined;
  let tracking = pending.size > 0 || !messageSeen;
  let stray: string | undefined;
  let sawUnread = false;
  let replaced = false;
  let finished = false;
  let over = false;

  const noteMessages = (data: string) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return; // not JSON: not an answer, and nothing a rule could read
    }
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
      if (typeof message !== 'object' || message === null) continue;
      const record = message as Record<string, unknown>;
      const answers = 'result' in record || 'error' in record;
      if (answers && pending.delete(record['id'] as JsonRpcId)) {
        if ('result' in record) sawMessage();
      } else if (typeof record['method'] === 'string' || 'result' in record) {
        sawMessage();
      } else {
        stray ??= data.slice(0, MAX_STRAY_CHARS);
      }
    }
    if (pending.size === 0 && messageSeen) tracking = false;
  };
  const sawMessage = () => {
    if (messageSeen) return;
    messageSeen = true;
    watch.onMessage?.();
  };
  const scanner = createSseEventScanner(MAX_TRACKED_EVENT_BYTES, (event) => {
    if (event === undefined) {
      // Too big to read: it may well be an answer, so nothing is ever added after it.
      sawUnread = true;
      first ??= '';
      return;
    }
    const data = eventData(event);
    if (data === '') return;
    first ??= event;
    if (tracking) noteMessages(data);
  });

  const close = (how: 'ended' | 'broke' | 'cancelled') => {
    if (over || replaced) return;
    over = true;
    watch.onClose?.(how);
  };
  const release = () => {
    if (held !== undefined) out.push(...held);
    held = undefined;
  };
  /** Decides on the held first event; true when the stream was replaced. */
  const decide = async (): Promise<boolean> => {
    const replacement = first === undefined || first === '' ? undefined : await watch.decide?.(first);
    if (replacement === undefined) return false;
    held = undefined;
    replaced = true;
    tracking = false;
    upstream.cancel().catch(noop);
    source = replacement.getReader();
    return true;
  };
  /** The stream is over (`error` set when it broke): judge what was held, then answer what was not answered. */
  const finish = async (error: unknown): Promise<void> => {
    const partial = tracking || held !== undefined ? scanner.partial() : undefined;
    const partialData = partial === undefined ? '' : eventData(partial);
    if (held !== undefined) {
      // A session error may be the stream's only event, cut short by its end (no blank line).
      if (first === undefined && partialData !== '') first = `${partial}\n\n`;
      if (await decide()) return;
      release();
    }
    // A last event without its blank line is completed, so the client reads it as sent.
    const completion = partialData === '' ? '' : '\n\n';
    if (tracking && partialData !== '') noteMessages(partialData);
    let ending: string | undefined;
    if (pending.size > 0 && !scanner.resumable && !sawUnread && watch.onUnanswered !== undefined) {
      ending = await watch.onUnanswered({ missing: [...pending], error, stray });
    }
    finished = true;
    if (ending !== undefined) {
      out.push(encoder.encode(`${completion === '' ? '\n\n' : completion}${ending}`));
    } else if (error !== undefined) {
      close('broke');
      throw error;
    } else if (completion !== '') {
      out.push(encoder.encode(completion));
    }
    close(error === undefined ? 'ended' : 'broke');
  };

  return {
    async read() {
      for (;;) {
        const ready = out.shift();
        if (ready !== undefined) return { done: false, value: ready };
        if (finished) return { done: true };
        let result: Awaited<ReturnType<typeof source.read>>;
        try {
          result = await source.read();
        } catch (error) {
          if (replaced) throw error;
          await finish(error);
          continue;
        }
        if (result.done) {
          if (replaced) finished = true;
          else await finish(undefined);
          continue;
        }
        const chunk = result.value;
        if (chunk.byteLength === 0) continue;
        if (tracking || held !== undefined) scanner.feed(chunk);
        // Decided: pass chunks straight through (the hot path).
        if (held === undefined) return result;
        held.push(chunk);
        heldBytes += chunk.byteLength;
        if (first === undefined && heldBytes < watch.limit) continue;
        if (!(await decide())) release();
      }
    },
    cancel(reason) {
      close('cancelled');
      finished = true;
      return source.cancel(reason);
    },
  };
}
