import { backoffDelay } from '../shared/backoff.js';
import { sleep } from '../shared/timers.js';

/**
 * Holds back the client's GET stream while it keeps failing (issue 8: the SDK transports re-open
 * it about once a second, forever). Each failure in a row doubles the delay, from
 * `initialDelayMs` up to `maxDelayMs`; a stream that delivers a message, or stays open, clears it.
 */
export interface StreamBackoff {
  /** Waits until the next GET may go; undefined (no wait) when not backing off. Rejects when `signal` aborts. */
  hold(signal: AbortSignal | undefined): Promise<void> | undefined;
  /** A GET failed; `report` is true once per run of failures (at the second in a row: it keeps failing). */
  failed(now: number): { readonly failures: number; readonly delayMs: number; readonly report: boolean };
  /** A GET stream worked. */
  succeeded(): void;
}

export function createStreamBackoff(options: { readonly initialDelayMs: number; readonly maxDelayMs: number }): StreamBackoff {
  let failures = 0;
  let until = 0;
  return {
    hold(signal) {
      const wait = until - Date.now();
      if (wait <= 0) return undefined;
      return sleep(wait, { signal, onAbort: 'reject', unref: true });
    },
    failed(now) {
      failures += 1;
      const delayMs = backoffDelay(options, failures - 1);
      until = now + delayMs;
      return { failures, delayMs, report: failures === 2 };
    },
    succeeded() {
      failures = 0;
      until = 0;
    },
  };
}
