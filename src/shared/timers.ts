// Timers for waits that belong to a caller: what an abort does is the caller's explicit choice.

/** How a {@linkcode sleep} ends when its signal aborts before the time is up. */
export interface SleepOptions {
  readonly signal?: AbortSignal | undefined;
  /**
   * `'reject'`: rejects with the signal's reason (the caller stops where it waits);
   * `'resolve'`: resolves at once (a loop that looks at the signal itself).
   */
  readonly onAbort: 'reject' | 'resolve';
  /** The timer lets the process exit meanwhile: a library's wait is for its caller, not for itself. @default false */
  readonly unref?: boolean | undefined;
}

/** Resolves after `ms` (at once when `ms` ≤ 0); an abort ends it as `options.onAbort` says. */
export function sleep(ms: number, options: SleepOptions): Promise<void> {
  const { signal } = options;
  const rejects = options.onAbort === 'reject';
  if (signal?.aborted) return rejects ? Promise.reject(signal.reason) : Promise.resolve();
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      if (rejects) reject(signal?.reason);
      else resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (options.unref === true) unref(timer);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Lets the process exit while `timer` waits (Node); a no-op where timers are numbers (browsers). */
export function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
