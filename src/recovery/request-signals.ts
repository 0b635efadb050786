// The abort signal each request goes out with: the caller's, or one that follows it.

// Requests that share one signal that follows the caller's. Node's fetch (undici) adds an abort
// listener per request to the signal it is given and drops it only when the request is collected;
// adding one walks the listeners already there, so a bound keeps that walk short and far from
// Node's warning (1500, the limit undici sets).
const REQUESTS_PER_FOLLOWER = 32;

/** What is known of a signal the caller passed: whether it came back, and what follows it now. */
interface Sighting {
  follower: AbortSignal | undefined;
  uses: number;
}

/**
 * Hands out the signal a request is sent with. SDK transports pass one long-lived signal to every
 * request; undici leaves a listener on it per request until that request is garbage-collected, so
 * hundreds pile up (Node warns past 1500) and undici walks them on each new request. Requests that
 * share such a signal are sent with a signal that follows it (`AbortSignal.any`), a new one every
 * {@linkcode REQUESTS_PER_FOLLOWER} requests, which keeps both flat. Not one per request: on Node
 * 20 `AbortSignal.any` costs about 13 µs a call and leaves a `WeakRef` in the caller's signal that
 * is never removed. A signal met for the first time is passed as it is (the gateway's and
 * `AbortSignal.timeout()` are one per request).
 */
export class RequestSignals {
  private readonly seen = new WeakMap<AbortSignal, Sighting>();

  /** The signal to send a request with, for the caller's `signal`. */
  for(signal: AbortSignal | null | undefined): AbortSignal | undefined {
    if (signal === undefined || signal === null || signal.aborted || typeof AbortSignal.any !== 'function') return signal ?? undefined;
    const sighting = this.seen.get(signal);
    if (sighting === undefined) {
      this.seen.set(signal, { follower: undefined, uses: 0 });
      return signal;
    }
    if (sighting.follower === undefined || sighting.uses >= REQUESTS_PER_FOLLOWER) {
      sighting.follower = AbortSignal.any([signal]);
      sighting.uses = 0;
    }
    sighting.uses += 1;
    return sighting.follower;
  }
}
