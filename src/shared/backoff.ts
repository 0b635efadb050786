/** An exponential backoff: `initialDelayMs`, doubling up to `maxDelayMs`. */
export interface BackoffOptions {
  /** @default 1_000 */
  readonly initialDelayMs?: number | undefined;
  /** @default 60_000 */
  readonly maxDelayMs?: number | undefined;
}

/** A backoff with every value set. */
export interface Backoff {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Up to this fraction of each delay is taken off at random, so clients that failed together do not retry together. @default 0 */
  readonly jitter?: number | undefined;
}

/** The delay before retry `attempt` (0-based): `initialDelayMs × 2^attempt`, at most `maxDelayMs`, less the jitter. */
export function backoffDelay(backoff: Backoff, attempt: number): number {
  const base = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  const jitter = backoff.jitter ?? 0;
  return jitter === 0 ? base : Math.round(base * (1 - jitter + Math.random() * jitter));
}

/** `options` with what they leave out taken from `defaults` (the jitter too). */
export function withBackoffDefaults(options: BackoffOptions | undefined, defaults: Backoff): Backoff {
  if (options === undefined) return defaults;
  return {
    initialDelayMs: options.initialDelayMs ?? defaults.initialDelayMs,
    maxDelayMs: options.maxDelayMs ?? defaults.maxDelayMs,
    jitter: defaults.jitter,
  };
}
