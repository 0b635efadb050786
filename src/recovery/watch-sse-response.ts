/**
 * Decides on the stream text read so far, which holds the first event that carries data. Returns
 * undefined to let the stream through, or the stream to deliver instead.
 */
export type FirstEventDecision = (text: string) => Promise<ReadableStream<Uint8Array>> | undefined;

export interface SseWatch {
  /** Bytes held back at most while waiting for the first event that carries data. */
  readonly limit: number;
  readonly decide: FirstEventDecision;
  /**
   * The stream broke (a network error) and carried no event ids, so the client cannot resume it:
   * return SSE text to end it with instead of the error (JSON-RPC errors for the requests it was
   * answering), or undefined to pass the error on.
   */
  readonly onBreak?: ((error: unknown) => string | undefined) | undefined;
}

const NEWLINE = 0x0a;
const encoder = new TextEncoder();
// Shared and stateless: each held chunk is decoded on its own (only the opening bytes are, and
// only to classify them), so no per-response decoder is needed.
const decoder = new TextDecoder();

/**
 * Passes an SSE response through. It holds back only the opening bytes until the first event that
 * carries data is complete (or `limit` bytes arrived), so a session error in that event can be
 * swapped for the replay's stream before the client sees it; priming events and comments are held
 * with it. After that, every chunk goes on as it arrives, never buffered. If the stream then breaks
 * and is not resumable, `onBreak` can end it with an answer instead of leaving the client waiting.
 */
export function watchSseResponse(body: ReadableStream<Uint8Array>, watch: SseWatch): ReadableStream<Uint8Array> {
  const upstream = body.getReader();
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let text = '';
  let source: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let ended = false;
  const ids = eventIdScanner();

  const release = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    for (const chunk of held) controller.enqueue(chunk);
    const released = held.length > 0;
    held = [];
    text = '';
    return released;
  };

  /** The stream broke: end it with an answer (see SseWatch.onBreak), or pass the error on. */
  const broke = (error: unknown, controller: ReadableStreamDefaultController<Uint8Array>) => {
    const ending = ids.seen || watch.onBreak === undefined ? undefined : watch.onBreak(error);
    if (ending === undefined) throw error;
    ended = true;
    // Bytes still held are an incomplete event: drop them. A blank line ends any event the
    // client already got part of, so the answer starts on a clean event boundary.
    held = [];
    controller.enqueue(encoder.encode(`\n\n${ending}`));
    controller.close();
  };

  const read = async (reader: ReadableStreamDefaultReader<Uint8Array>, controller: ReadableStreamDefaultController<Uint8Array>) => {
    if (ended) return { done: true as const, value: undefined };
    try {
      const result = await reader.read();
      if (!result.done) ids.scan(result.value);
      return result;
    } catch (error) {
      broke(error, controller);
      return { done: true as const, value: undefined, closed: true };
    }
  };

  return new ReadableStream<Uint8Array>({
    // Every call enqueues, closes or throws before returning: a pull that returns empty-handed is
    // not called again while the reader waits on the same read.
    async pull(controller) {
      for (;;) {
        if (source !== undefined) {
          // Decided: pass chunks straight through, one read per pull (the hot path).
          let result: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
          try {
            result = await source.read();
          } catch (error) {
            return broke(error, controller);
          }
          if (result.done) return controller.close();
          if (result.value.byteLength === 0) continue;
          ids.scan(result.value);
          return controller.enqueue(result.value);
        }
        const next = await read(upstream, controller);
        if ('closed' in next) return;
        const { done, value } = next;
        if (done) {
          source = upstream;
          if (release(controller)) return;
          continue;
        }
        held.push(value);
        // Only the opening `limit` bytes are ever decoded: a big first event is let through.
        if (heldBytes < watch.limit) text += decoder.decode(value.subarray(0, watch.limit - heldBytes));
        heldBytes += value.byteLength;
        const sawData = hasCompleteDataEvent(text);
        if (!sawData && heldBytes < watch.limit) continue;
        const replacement = sawData ? watch.decide(text) : undefined;
        if (replacement === undefined) {
          source = upstream;
          release(controller);
          return;
        }
        held = [];
        upstream.cancel().catch(() => {});
        source = (await replacement).getReader();
        ids.reset();
      }
    },
    cancel: (reason) => (source ?? upstream).cancel(reason),
  });
}

/** Whether `text` holds a complete event (ended by a blank line) with a non-empty data field. */
function hasCompleteDataEvent(text: string): boolean {
  const events = text.split(/\r?\n\r?\n|\r\r/);
  events.pop(); // the part after the last blank line is not complete yet
  return events.some((event) => /(?:^|[\r\n])data:[ \t]?[^\r\n]*\S/.test(event));
}

/**
 * Notices an `id:` field (which makes a stream resumable with Last-Event-ID) by looking only at
 * line starts: a cheap scan for newlines, which a JSON data line does not contain.
 */
function eventIdScanner() {
  let seen = false;
  let atLineStart = true;
  const startsId = (chunk: Uint8Array, at: number) => chunk[at] === 0x69 && chunk[at + 1] === 0x64 && chunk[at + 2] === 0x3a;
  return {
    get seen() {
      return seen;
    },
    reset() {
      seen = false;
      atLineStart = true;
    },
    scan(chunk: Uint8Array) {
      if (seen || chunk.byteLength === 0) return;
      if (atLineStart && startsId(chunk, 0)) seen = true;
      for (let at = chunk.indexOf(NEWLINE); at !== -1 && !seen; at = chunk.indexOf(NEWLINE, at + 1)) {
        if (startsId(chunk, at + 1)) seen = true;
      }
      atLineStart = chunk[chunk.byteLength - 1] === NEWLINE;
    },
  };
}
