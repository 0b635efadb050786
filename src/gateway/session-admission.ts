import type { GatewayLog } from './gateway-options.js';
import type { SessionStore } from './session-store.js';

/** Counts new sessions against their caller's limit (`maxSessionsPerCaller`), across replicas. */
export interface SessionAdmission {
  /**
   * Admits session `key` for `caller`, before anything is opened upstream; false: refuse it (429).
   * A caller that ends its least recently used session instead of being refused has that done here.
   */
  admit(caller: string, key: string): Promise<boolean>;
  /** A session admitted and then not opened after all: its place is freed. */
  release(caller: string, key: string): Promise<void>;
}

export interface SessionAdmissionOptions {
  readonly store: SessionStore;
  readonly limit: number;
  readonly log: GatewayLog;
  /**
   * Whether `caller` at its limit has its least recently used session ended rather than the new one
   * refused: the `local` caller of a gateway without credentials, which is every host of one user
   * (sessions their hosts abandoned on exit would otherwise lock them out for the idle TTL).
   */
  readonly evictsAtLimit: (caller: string) => boolean;
  /** Ends a session as its client's DELETE would, whichever upstream it belongs to. */
  readonly terminate: (key: string) => Promise<void>;
}

export function createSessionAdmission(options: SessionAdmissionOptions): SessionAdmission {
  const { store, limit, log } = options;
  return {
    async admit(caller, key) {
      if (await store.admit(caller, key, limit)) return true;
      if (!options.evictsAtLimit(caller) || store.leastRecentlyUsed === undefined) return false;
      const oldest = await store.leastRecentlyUsed(caller);
      if (oldest === undefined) return false;
      await options.terminate(oldest);
      log.info('session limit reached: the least recently used session was ended to make room', { caller, limit });
      return store.admit(caller, key, limit);
    },
    async release(caller, key) {
      await store.release?.(caller, key);
    },
  };
}
