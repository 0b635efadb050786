// Timers that never keep a process alive: the middleware's waits are for its caller, not for itself.

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. The timer never keeps a process alive. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    unref(timer);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Lets the process exit while `timer` waits (Node); a no-op where timers are numbers (browsers). */
export function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
