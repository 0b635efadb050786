import { backoffDelay } from '../shared/backoff.js';
import { mediaType } from '../shared/media-type.js';
import { noop } from '../shared/noop.js';
import type { SseProgress } from '../shared/sse/read-sse-events.js';
import { sleep } from '../shared/timers.js';
import type { UpstreamEvent } from './upstream.js';

/** How {@linkcode runServerStream} reaches the server and reports. */
export interface ServerStreamOptions {
  /** Opens the stream (HTTP GET), resuming after `lastEventId` when given. */
  readonly open: (lastEventId: string | undefined) => Promise<Response>;
  /** Reads an opened stream to its end (rejects when it breaks); resolves with the events it carried. */
  readonly read: (body: ReadableStream<Uint8Array>, progress: SseProgress) => Promise<number>;
  readonly report: (event: UpstreamEvent) => void;
  /** A failure in words. */
  readonly describe: (error: unknown) => string;
  readonly signal: AbortSignal;
  /** First reconnection delay; doubles per consecutive failure. @default 1000 */
  readonly initialDelayMs: number;
  /** Cap of the reconnection delay. @default 60_000 */
  readonly maxDelayMs: number;
}

/** Consecutive failures before the user hears about them (once, at warn). */
const FAILURES_BEFORE_WARNING = 3;
/** A stream that stayed open this long was healthy, even if it delivered nothing. */
const HEALTHY_MS = 10_000;

/**
 * Keeps the server's own stream (GET, for server-to-client requests and notifications not tied to a
 * request) open for the life of the session. A stream that fails (an error status, a network
 * error, or an immediate close without an event) is re-opened with exponential backoff to a cap,
 * so a server that keeps refusing sees a handful of GETs a minute, not one a second; a stream that
 * worked is re-opened after the server's `retry` delay. 405 means the server offers no stream
 * (spec: basic/transports §Listening for Messages from the Server): it is never asked again.
 */
export async function runServerStream(options: ServerStreamOptions): Promise<void> {
  const progress: SseProgress = { lastEventId: undefined, retryMs: undefined };
  let failures = 0;
  let warned = false;
  while (!options.signal.aborted) {
    const openedAt = Date.now();
    let reason: string | undefined;
    try {
      const response = await options.open(progress.lastEventId);
      if (response.status === 405) {
        await response.body?.cancel().catch(noop);
        options.report({ level: 'debug', type: 'no-server-stream', message: 'the server offers no stream of its own (HTTP 405 to GET)' });
        return;
      }
      if (!response.ok || response.body === null || mediaType(response.headers.get('content-type')) !== 'text/event-stream') {
        await response.body?.cancel().catch(noop);
        reason = `HTTP ${response.status} ${mediaType(response.headers.get('content-type')) || ''}`.trim();
      } else {
        const eventsBefore = progress.lastEventId;
        const events = await options.read(response.body, progress);
        const healthy = events > 0 || progress.lastEventId !== eventsBefore || Date.now() - openedAt >= HEALTHY_MS;
        if (!healthy) reason = 'the server closed it at once';
      }
    } catch (error) {
      if (options.signal.aborted) return;
      reason = options.describe(error);
    }
    if (reason === undefined) {
      if (warned) options.report({ level: 'info', type: 'server-stream-restored', message: "the server's stream works again" });
      failures = 0;
      warned = false;
    } else {
      failures += 1;
      options.report({
        level: 'debug',
        type: 'server-stream-failed',
        message: `the server's stream failed: ${reason}`,
        fields: { failures },
      });
      if (failures >= FAILURES_BEFORE_WARNING && !warned) {
        warned = true;
        options.report({
          level: 'warn',
          type: 'server-stream-backoff',
          message: `the server's stream (HTTP GET) keeps failing (${reason}); retrying with backoff up to ${Math.round(options.maxDelayMs / 1000)} s`,
        });
      }
    }
    const backoff = backoffDelay(options, failures - 1);
    const delay =
      failures === 0 ? Math.min(options.maxDelayMs, progress.retryMs ?? options.initialDelayMs) : Math.max(backoff, progress.retryMs ?? 0);
    await sleep(delay, { signal: options.signal, onAbort: 'resolve' });
  }
}
