import { createParser } from 'eventsource-parser';

/**
 * Decides on the stream text read so far, which holds the first event that carries data. Returns
 * undefined to let the stream through, or the stream to deliver instead.
 */
export type FirstEventDecision = (text: string) => Promise<ReadableStream<Uint8Array>> | undefined;

/**
 * Passes an SSE body through, holding back only its opening bytes until the first event that
 * carries data is complete (or `limit` bytes arrived), so a session error in that event can be
 * swapped for the replay's stream before the client sees it. Priming events and comments are held
 * with it; after the decision every chunk is passed on as it arrives.
 */
export function watchFirstEvent(body: ReadableStream<Uint8Array>, limit: number, decide: FirstEventDecision): ReadableStream<Uint8Array> {
  const upstream = body.getReader();
  const decoder = new TextDecoder();
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let text = '';
  let sawData = false;
  const parser = createParser({
    onEvent(event) {
      if (event.data !== '') sawData = true;
    },
  });
  let source: ReadableStreamDefaultReader<Uint8Array> | undefined;

  const release = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    for (const chunk of held) controller.enqueue(chunk);
    const released = held.length > 0;
    held = [];
    text = '';
    return released;
  };

  return new ReadableStream<Uint8Array>({
    // Every call enqueues, closes or throws before returning: a pull that returns empty-handed is
    // not called again while the reader waits on the same read.
    async pull(controller) {
      for (;;) {
        if (source !== undefined) {
          const { done, value } = await source.read();
          if (done) return controller.close();
          if (value.byteLength === 0) continue;
          return controller.enqueue(value);
        }
        const { done, value } = await upstream.read();
        if (done) {
          source = upstream;
          if (release(controller)) return;
          continue;
        }
        held.push(value);
        heldBytes += value.byteLength;
        const chunk = decoder.decode(value, { stream: true });
        text += chunk;
        parser.feed(chunk);
        if (!sawData && heldBytes < limit) continue;
        const replacement = sawData ? decide(text) : undefined;
        if (replacement === undefined) {
          source = upstream;
          release(controller);
          return;
        }
        held = [];
        upstream.cancel().catch(() => {});
        source = (await replacement).getReader();
      }
    },
    cancel: (reason) => (source ?? upstream).cancel(reason),
  });
}
