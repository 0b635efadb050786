import { backoffDelay } from '../shared/backoff.js';

/**
 * Stops re-initializing a server that keeps failing (issue 9: an always-404 server cost two new
 * sessions a call). After `failures` failed recoveries in a row it opens for `initialDelayMs`,
 * doubling at each failed trial up to `maxDelayMs`; once that time is past, one recovery may try
 * again. Any successful answer from the server closes it.
 */
export interface Circuit {
  /** Failed recoveries in a row (0 when healthy: the hot path reads only this). */
  readonly failures: number;
  /** Undefined when a recovery may be tried now; otherwise until when it may not, and why. */
  blocked(now: number): { readonly retryAt: number; readonly cause: string } | undefined;
  /** A recovery failed; returns when the circuit (re)opened, to report it. */
  failed(cause: string, now: number): { readonly retryAt: number; readonly failures: number } | undefined;
  /** The server answered; true when this closed an open circuit. */
  succeeded(): boolean;
}

export function createCircuit(options: {
  readonly failures: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}): Circuit {
  let failures = 0;
  let retryAt = 0;
  let cause = '';
  return {
    get failures() {
      return failures;
    },
    blocked(now) {
      return failures >= options.failures && now < retryAt ? { retryAt, cause } : undefined;
    },
    failed(why, now) {
      failures += 1;
      cause = why;
      if (failures < options.failures) return undefined;
      const delay = backoffDelay(options, failures - options.failures);
      retryAt = now + delay;
      return { retryAt, failures };
    },
    succeeded() {
      const wasOpen = failures >= options.failures;
      failures = 0;
      retryAt = 0;
      return wasOpen;
    },
  };
}
