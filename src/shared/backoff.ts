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
