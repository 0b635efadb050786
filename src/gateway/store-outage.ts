import { networkErrorText } from '../errors/network-error-text.js';
import type { GatewayLog } from './gateway-options.js';
import { type SessionStore, StoreUnreachableError } from './session-store.js';

/** Seconds a client is asked to wait (`Retry-After`) when the store does not answer. */
export const STORE_RETRY_AFTER_SECONDS = 1;

/** The store's health as the gateway sees it, reported once per change, never once per request. */
export interface StoreOutage {
  /** `redis (redis://host:6379/0)`: the store, named for messages. */
  readonly name: string;
  /** A store call failed: notes it (logged at the first failure of an outage) and returns the error to answer with. */
  failed(error: unknown): StoreUnreachableError;
  /** A store call succeeded (logged when it ends an outage). */
  answered(): void;
}

/**
 * Tracks store outages: the first failure logs an error naming the store and what clients get
 * (503); later failures only count; the first success after them logs how long it lasted.
 */
export function createStoreOutage(store: SessionStore, log: GatewayLog): StoreOutage {
  const name = store.address === undefined ? store.kind : `${store.kind} (${store.address})`;
  const state = { downSince: undefined as number | undefined, refused: 0 };
  return {
    name,
    failed(error) {
      if (error instanceof StoreUnreachableError) return error;
      const reason = networkErrorText(error);
      if (state.downSince === undefined) {
        state.downSince = Date.now();
        state.refused = 0;
        log.error(`session store unreachable: ${reason}; requests that need it are answered 503 until it answers again`, {
          store: name,
        });
      }
      state.refused += 1;
      return new StoreUnreachableError(`the session store ${name} is unreachable: ${reason}`, { cause: error });
    },
    answered() {
      if (state.downSince === undefined) return;
      log.info('session store reachable again', { store: name, seconds: Math.round((Date.now() - state.downSince) / 100) / 10 });
      state.downSince = undefined;
    },
  };
}

/**
 * The store as the gateway's routes use it: every call that fails rejects with a
 * {@linkcode StoreUnreachableError} (answered 503 with `Retry-After`, never 500), and the outage is
 * logged once.
 */
export function guardStore(store: SessionStore, outage: StoreOutage): SessionStore {
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        const result = await call(...args);
        outage.answered();
        return result;
      } catch (error) {
        throw outage.failed(error);
      }
    };
  const release = store.release?.bind(store);
  // In this process's memory: it cannot be unreachable, and it answers without a promise.
  const endedNow = store.endedNow?.bind(store);
  const leastRecentlyUsed = store.leastRecentlyUsed?.bind(store);
  return {
    kind: store.kind,
    shared: store.shared,
    ...(store.address === undefined ? {} : { address: store.address }),
    get: guard(store.get.bind(store)),
    put: guard(store.put.bind(store)),
    update: guard(store.update.bind(store)),
    touch: guard(store.touch.bind(store)),
    end: guard(store.end.bind(store)),
    isEnded: guard(store.isEnded.bind(store)),
    admit: guard(store.admit.bind(store)),
    ...(release === undefined ? {} : { release: guard(release) }),
    ...(leastRecentlyUsed === undefined ? {} : { leastRecentlyUsed: guard(leastRecentlyUsed) }),
    ...(store.watch === undefined ? {} : { watch: store.watch.bind(store) }),
    ...(endedNow === undefined ? {} : { endedNow }),
    lock: guard(store.lock.bind(store)),
    isLocked: guard(store.isLocked.bind(store)),
    ping: guard(store.ping.bind(store)),
    keys: guard(store.keys.bind(store)),
    close: store.close.bind(store),
  };
}

/** The store's failure inside an error the middleware passed on, if that is what it is. */
export function storeFailure(error: unknown): StoreUnreachableError | undefined {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (cause instanceof StoreUnreachableError) return cause;
  }
  return undefined;
}
