/** Delays between attempts to re-open a stream: doubling from `initialMs` up to `maxMs`. */
export interface BackoffOptions {
  /** @default 500 */
  readonly initialMs: number;
  /** @default 30_000 */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/** The delay before attempt `attempt` (0-based), with up to 20% jitter so clients do not stampede. */
export function backoffDelay(options: BackoffOptions, attempt: number): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.8 + Math.random() * 0.2));
}

/** Waits `ms`, or less when `signal` aborts first (then resolves false). */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
