import { LifelineError } from '../errors/LifelineError.js';
import type { NewServerSession, SessionSharing, SharedRecovery, SharedSessionState } from '../recovery/session-sharing.js';
import { sleep } from '../shared/timers.js';
import type { SessionStore, StoredSession } from './session-store.js';

/** Options of {@linkcode createStoreSessionSharing}. */
export interface StoreSessionSharingOptions {
  readonly store: SessionStore;
  /** Store key of a session, from the id the middleware knows it by. */
  readonly keyOf: (alias: string) => string;
  /**
   * What rebuilds a session the store no longer holds (emptied, expired): the client's initialize
   * params and identity, which the gateway has from the session id of the request in hand.
   */
  readonly fallback: (
    alias: string,
  ) => { readonly caller: string; readonly initializeParams: unknown; readonly createdAt: number } | undefined;
  /** Upper bound of one re-initialization, in ms: the lock's lifetime, and how long others wait for it. */
  readonly recoveryTimeoutMs: number;
  /** How long an ended session stays refused, in ms (the gateway's session max age). @default 7 days */
  readonly tombstoneMs?: number;
  /** How often a process waiting for another's recovery looks again, in ms. @default 20 */
  readonly pollMs?: number;
  /** A store write failed (it is not retried: the next recovery rewrites the record). */
  readonly onError?: (error: unknown) => void;
}

const DEFAULT_TOMBSTONE_MS = 7 * 24 * 60 * 60 * 1000; // the default session max age

/** Why a shared recovery gave up. */
class SharedRecoveryError extends LifelineError<'SHARED_RECOVERY_FAILED'> {
  override name = 'SharedRecoveryError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('SHARED_RECOVERY_FAILED', message, options);
  }
}

/**
 * The {@linkcode SessionSharing} hook of `withSessionRecovery` over the gateway's store: what lets
 * any replica serve any request of any session, and re-initialize a lost upstream session once for
 * all replicas.
 *
 * Concurrency: a recovery takes the session's lock in the store (SET NX PX in Redis). The holder
 * reads the record again under the lock: if another replica already replaced the lost upstream
 * session, it adopts that one; otherwise it re-initializes and writes the new id before releasing.
 * A replica that finds the lock taken waits (polling, bounded by `recoveryTimeoutMs`) until it is
 * free, then adopts the new session, or, when the holder failed, tries itself. The lock expires on
 * its own if its holder dies mid-recovery.
 */
export function createStoreSessionSharing(options: StoreSessionSharingOptions): SessionSharing {
  const { store, keyOf } = options;
  const pollMs = options.pollMs ?? 20;
  const report = (error: unknown) => options.onError?.(error);

  const stateOf = (session: StoredSession): SharedSessionState => ({
    initializeParams: session.initializeParams,
    serverId: session.serverId,
    protocolVersion: session.protocolVersion,
    logLevel: session.logLevel,
    subscriptions: session.subscriptions,
  });

  /** The record, or one rebuilt from the request's session id when the store lost it. */
  async function current(alias: string): Promise<StoredSession | undefined> {
    const stored = await store.get(keyOf(alias));
    if (stored !== undefined) return stored;
    const fallback = options.fallback(alias);
    if (fallback === undefined) return undefined;
    return { ...fallback, serverId: undefined, protocolVersion: undefined, logLevel: undefined, subscriptions: [] };
  }

  return {
    async load(alias) {
      // Both at once: one round trip's wait, not two.
      const [ended, session] = await Promise.all([store.isEnded(keyOf(alias)), current(alias)]);
      return ended || session === undefined ? undefined : stateOf(session);
    },

    async recover<T extends NewServerSession>(
      alias: string,
      lostServerId: string | undefined,
      reinitialize: (latest: SharedSessionState) => Promise<T>,
    ): Promise<SharedRecovery<T>> {
      const key = keyOf(alias);
      const deadline = Date.now() + options.recoveryTimeoutMs;
      for (;;) {
        if (await store.isEnded(key)) throw new SharedRecoveryError('the session was ended by its client');
        const lock = await store.lock(key, options.recoveryTimeoutMs);
        if (lock !== undefined) {
          try {
            const session = await current(alias);
            if (session === undefined) throw new SharedRecoveryError('the session is no longer known');
            if (session.serverId !== undefined && session.serverId !== lostServerId) return { kind: 'adopted', state: stateOf(session) };
            const result = await reinitialize(stateOf(session));
            const change = { kind: 'server-session', serverId: result.sessionId, protocolVersion: result.protocolVersion } as const;
            const stored = await store.get(key);
            if (stored === undefined)
              await store.put(key, { ...session, serverId: result.sessionId, protocolVersion: result.protocolVersion });
            else await store.update(key, change);
            return { kind: 'reinitialized', result };
          } finally {
            await lock.release();
          }
        }
        // Another replica is recovering this session: wait for it, then use what it opened.
        while ((await store.isLocked(key)) && Date.now() < deadline) await sleep(pollMs, { onAbort: 'resolve' });
        const session = await store.get(key);
        if (session?.serverId !== undefined && session.serverId !== lostServerId) return { kind: 'adopted', state: stateOf(session) };
        if (Date.now() >= deadline) {
          throw new SharedRecoveryError(`another replica's re-initialization did not finish within ${options.recoveryTimeoutMs} ms`);
        }
        // Its attempt failed: try ourselves (still bounded by the deadline).
      }
    },

    changed(alias, change) {
      store.update(keyOf(alias), change).catch(report);
    },

    ended(alias) {
      store.end(keyOf(alias), options.tombstoneMs ?? DEFAULT_TOMBSTONE_MS).catch(report);
    },
  };
}
