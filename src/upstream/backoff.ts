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
