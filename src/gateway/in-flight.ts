import type { ServerResponse } from 'node:http';
import { sleep } from '../shared/timers.js';

/** The client requests a gateway is serving: what shutdown waits for. */
export interface InFlight {
  readonly size: number;
  /** A request begins; returns what ends it. */
  track(method: string, res: ServerResponse): () => void;
  /** Ends every GET stream (they never finish on their own: the client re-opens one, elsewhere). */
  endStreams(): void;
  /** Resolves when no request is in flight, or at `deadline` (a `Date.now()` time), whichever comes first. */
  settled(deadline: number): Promise<void>;
}

// How often shutdown looks whether the requests in flight have finished.
const POLL_MS = 25;

export function createInFlight(): InFlight {
  const exchanges = new Set<{ readonly method: string; readonly res: ServerResponse }>();
  return {
    get size() {
      return exchanges.size;
    },
    track(method, res) {
      const exchange = { method, res };
      exchanges.add(exchange);
      return () => exchanges.delete(exchange);
    },
    endStreams() {
      for (const exchange of exchanges) if (exchange.method === 'GET') exchange.res.end();
    },
    async settled(deadline) {
      while (exchanges.size > 0 && Date.now() < deadline) await sleep(POLL_MS, { onAbort: 'resolve' });
    },
  };
}
