import { setMaxListeners } from 'node:events';
import { unref } from '../shared/timers.js';

/**
 * Abort signals for waits bounded by `ms`, shared by the waits that begin within one `slackMs` of
 * each other: each signal aborts (with a `TimeoutError`) between `ms` and `ms + slackMs` after it
 * was handed out. A gateway ends sessions one DELETE at a time, each bounded by the upstream
 * timeout; on Node 20 an `AbortController` and its signal cost about 20 K instructions to make, a
 * tenth of what the gateway spends on ending a session, where this costs one per `slackMs`. The
 * timers do not keep the process alive.
 */
export function sharedDeadline(ms: number, slackMs = Math.max(1, Math.ceil(ms / 100))): () => AbortSignal {
  const state = { signal: undefined as AbortSignal | undefined, handedOutUntil: 0 };
  // One reason for every window: an error's stack costs more than the rest of a window's abort.
  const timedOut = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  return () => {
    const now = performance.now();
    if (state.signal === undefined || now > state.handedOutUntil) {
      const controller = new AbortController();
      // One signal, many waits at once: no leak warning for their listeners (each wait removes its own).
      setMaxListeners(0, controller.signal);
      const timer = setTimeout(() => controller.abort(timedOut), ms + slackMs);
      unref(timer);
      state.signal = controller.signal;
      state.handedOutUntil = now + slackMs;
    }
    return state.signal;
  };
}
