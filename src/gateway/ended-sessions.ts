import type { SessionStore } from './session-store.js';

/** Whether a client session was ended (DELETE) on any replica, answered without a store read where that is safe. */
export interface EndedSessions {
  /**
   * Whether session `key` was ended, on any replica. Rejects when that must be read from the store
   * and the store does not answer (with the store's own error). Answers at once (no await) when
   * this process knows: from what it heard, or from a store in its own memory.
   */
  isEnded(key: string): boolean | Promise<boolean>;
  /** Session `key` was just opened here: live, and known to be. */
  opened(key: string): void;
  /** Ends session `key` for every replica: the store's tombstone first (awaited), then this replica's view. */
  end(key: string): Promise<void>;
  /** Calls `listener` with each session ended anywhere, once, so that what a replica holds for it is let go. */
  onEnded(listener: (key: string) => void): void;
  /** Stops watching the store. */
  close(): void;
}

export interface EndedSessionsOptions {
  /** How long an ended session stays refused, in ms (the session max age). */
  readonly tombstoneMs: number;
  /** Keys remembered (as verified live, and as ended); the oldest are forgotten first and read again. */
  readonly maxEntries: number;
  /** Whether this process hears of every end now (see `StoreWatcher.listening`), for the outage log. */
  readonly onListening?: (up: boolean, error?: Error) => void;
}

/**
 * Issue 16: an ended session must be refused on every replica, without a request reaching the
 * upstream, whatever the upstream answered to DELETE. The end is a tombstone in the store, written
 * before the DELETE is answered. Reading it on every request would cost every request a round trip
 * to the store; instead a replica watches the store (Redis: a pub/sub channel the end is published
 * on, in the same step as the tombstone) and serves without a read the sessions it has verified
 * while it was listening.
 *
 * Consistency: a replica that is listening has the end before the DELETE's answer reaches the
 * client (the store sends it before it confirms the end), so no later request of that client goes
 * upstream. A replica that is not listening (connecting, reconnecting, or deaf: no heartbeat for
 * three intervals) reads the tombstone on every request, and each time it starts listening again
 * it forgets what it verified (an end may have passed unheard). A store without `watch` is read
 * on every request; one that is not shared is read always (it is this process's memory).
 */
export function createEndedSessions(store: SessionStore, options: EndedSessionsOptions): EndedSessions {
  const state = {
    listening: false,
    // Incremented each time listening starts: a key verified at an older epoch is verified no more.
    epoch: 0,
    verified: new Map<string, number>(),
    ended: new Set<string>(),
  };
  const listeners: ((key: string) => void)[] = [];
  const remember = <T>(table: Map<string, T> | Set<string>, key: string, value?: T) => {
    if (table instanceof Map) table.set(key, value as T);
    else table.add(key);
    if (table.size > options.maxEntries) table.delete(table.keys().next().value as string);
  };

  function markEnded(key: string): void {
    state.verified.delete(key);
    if (state.ended.has(key)) return;
    remember(state.ended, key);
    for (const listener of listeners) listener(key);
  }

  const unwatch = store.watch?.({
    ended: markEnded,
    listening(up, error) {
      state.listening = up;
      if (up) state.epoch += 1;
      options.onListening?.(up, error);
    },
  });
  const trusted = store.shared && unwatch !== undefined;

  return {
    isEnded(key) {
      if (state.ended.has(key)) return true;
      if (trusted && state.listening && state.verified.get(key) === state.epoch) return false;
      if (store.shared || store.endedNow === undefined) return readStore(key);
      if (!store.endedNow(key)) return false;
      markEnded(key);
      return true;
    },
    opened(key) {
      if (trusted && state.listening) remember(state.verified, key, state.epoch);
    },
    async end(key) {
      await store.end(key, options.tombstoneMs);
      markEnded(key);
    },
    onEnded(listener) {
      listeners.push(listener);
    },
    close() {
      unwatch?.();
    },
  };

  /** The tombstone read from a store in another process. */
  async function readStore(key: string): Promise<boolean> {
    const since = state.listening ? state.epoch : undefined;
    if (await store.isEnded(key)) {
      markEnded(key);
      return true;
    }
    // An end heard while the store was read wins; otherwise the key is verified as of `since`.
    if (state.ended.has(key)) return true;
    if (trusted && since !== undefined && state.listening && state.epoch === since) remember(state.verified, key, since);
    return false;
  }
}
