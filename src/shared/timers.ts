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

/** A signal that aborts with a `TimeoutError` after `ms`, and what ends its timer early. */
export interface ClearableTimeout {
  readonly signal: AbortSignal;
  /** Ends the timer: the work it bounded is over. */
  clear(): void;
}

/**
 * `AbortSignal.timeout(ms)` whose timer ends with the work it bounds: Node's keeps its timer to the
 * end and then aborts (building an error and its stack) long after anyone listens, which a gateway
 * that ends thousands of sessions pays for each. The timer does not keep the process alive.
 */
export function clearableTimeout(ms: number): ClearableTimeout {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  unref(timer);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
