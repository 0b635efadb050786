import type { Backoff } from '../shared/backoff.js';

/** How an upstream re-opens a stream the server dropped: 500 ms doubling to 30 s, less up to 20 % so hosts do not stampede. */
export const RECONNECT_BACKOFF: Backoff = { initialDelayMs: 500, maxDelayMs: 30_000, jitter: 0.2 };
