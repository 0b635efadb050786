import {
  applyChange,
  type SessionStore,
  type StoredSession,
  type StoredSessionChange,
  type StoreLock,
  type StoreWatcher,
} from './session-store.js';

/** Options of {@linkcode createMemoryStore}. */
export interface MemoryStoreOptions {
  /** Forget a record after this long without a request, in ms. */
  readonly idleTtlMs: number;
  /** Records held at most; the least recently used is forgotten first. */
  readonly maxRecords: number;
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

// How long an admitted session may take to be stored before it stops counting (an open that died half-way).
const OPENING_MS = 60_000;

interface Entry {
  session: StoredSession;
  lastSeen: number;
}

/**
 * The default store: a table in this process's memory, nothing to install. Sessions do not outlive
 * the process here, but clients do not notice a restart either when the session keys are kept
 * (`--key-file`): their session ids rebuild the session, at the cost of one upstream
 * re-initialization. Expiry is lazy (checked on access): no timer keeps the process alive.
 */
export function createMemoryStore(options: MemoryStoreOptions): SessionStore {
  const now = options.now ?? Date.now;
  // Insertion order is recency order: `touch` moves a record to the end, eviction takes the front.
  const records = new Map<string, Entry>();
  const tombstones = new Map<string, number>();
  const locks = new Map<string, number>();
  // Each caller's admitted keys, with when each was admitted.
  const callers = new Map<string, Map<string, number>>();
  const watchers = new Set<StoreWatcher>();

  const live = (key: string): Entry | undefined => {
    const entry = records.get(key);
    if (entry === undefined) return undefined;
    if (now() - entry.lastSeen <= options.idleTtlMs) return entry;
    records.delete(key);
    return undefined;
  };
  const remember = (key: string, entry: Entry) => {
    records.delete(key);
    records.set(key, entry);
    while (records.size > options.maxRecords) records.delete(records.keys().next().value as string);
  };

  /**
   * Past the cap: the expired tombstones go, and the oldest ones while still over it (memory stays
   * bounded, as for records; an ended session whose tombstone went is refused no longer, and its
   * id rebuilds it for its own caller). Each tombstone is visited once: no scan of them all per end.
   */
  function forgetOldTombstones(): void {
    const at = now();
    for (const [stale, until] of tombstones) {
      if (until >= at && tombstones.size <= options.maxRecords) break;
      tombstones.delete(stale);
    }
  }

  function endedNow(key: string): boolean {
    const until = tombstones.get(key);
    if (until === undefined) return false;
    if (until >= now()) return true;
    tombstones.delete(key);
    return false;
  }

  return {
    kind: 'memory',
    shared: false,
    async get(key) {
      return live(key)?.session;
    },
    async put(key, session) {
      remember(key, { session, lastSeen: now() });
    },
    async update(key: string, change: StoredSessionChange) {
      const entry = live(key);
      if (entry !== undefined) entry.session = applyChange(entry.session, change);
    },
    async touch(key) {
      const entry = live(key);
      if (entry !== undefined) remember(key, { session: entry.session, lastSeen: now() });
    },
    async end(key, tombstoneMs) {
      const caller = records.get(key)?.session.caller;
      if (caller !== undefined) callers.get(caller)?.delete(key);
      records.delete(key);
      tombstones.delete(key);
      tombstones.set(key, now() + tombstoneMs);
      if (tombstones.size > options.maxRecords) forgetOldTombstones();
      for (const watcher of watchers) watcher.ended(key);
    },
    async isEnded(key) {
      return endedNow(key);
    },
    endedNow,
    async admit(caller, key, limit) {
      const keys = callers.get(caller) ?? new Map<string, number>();
      callers.set(caller, keys);
      // A session counts while its record lives, or while it is being opened (admitted, not yet stored).
      for (const [known, admittedAt] of keys) if (live(known) === undefined && now() - admittedAt > OPENING_MS) keys.delete(known);
      if (keys.has(key)) return true;
      if (keys.size >= limit) return false;
      keys.set(key, now());
      return true;
    },
    async release(caller, key) {
      callers.get(caller)?.delete(key);
    },
    async leastRecentlyUsed(caller) {
      let oldest: { key: string; lastSeen: number } | undefined;
      for (const key of callers.get(caller)?.keys() ?? []) {
        const entry = live(key);
        if (entry !== undefined && (oldest === undefined || entry.lastSeen < oldest.lastSeen)) oldest = { key, lastSeen: entry.lastSeen };
      }
      return oldest?.key;
    },
    watch(watcher) {
      watchers.add(watcher);
      watcher.listening(true);
      return () => watchers.delete(watcher);
    },
    async lock(key, ttlMs): Promise<StoreLock | undefined> {
      const until = locks.get(key);
      if (until !== undefined && until > now()) return undefined;
      const mine = now() + ttlMs;
      locks.set(key, mine);
      return {
        async release() {
          if (locks.get(key) === mine) locks.delete(key);
        },
      };
    },
    async isLocked(key) {
      return (locks.get(key) ?? 0) > now();
    },
    async ping() {},
    async keys() {
      return [...records.keys()].filter((key) => live(key) !== undefined);
    },
    async close() {
      records.clear();
    },
  };
}
