import type { SessionStateChange } from '../recovery/session-sharing.js';

/**
 * One client session of the gateway, as every replica sees it. Never holds a secret: no token, no
 * credential, no header value; the client-facing session id (which carries the session's key) is
 * never written either.
 */
export interface StoredSession {
  /** Who opened it: the caller's name from the token file, or `local`. */
  readonly caller: string;
  /** The client's `initialize` params. */
  readonly initializeParams: unknown;
  /** The upstream's current session id; undefined until known (or after the store was emptied). */
  readonly serverId: string | undefined;
  /** Protocol version negotiated by the latest re-initialization, when it differs from the client's. */
  readonly protocolVersion: string | undefined;
  readonly logLevel: string | undefined;
  readonly subscriptions: readonly string[];
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** A change to a stored session: a new upstream session, or a change of session state. */
export type StoredSessionChange =
  | SessionStateChange
  | { readonly kind: 'server-session'; readonly serverId: string | undefined; readonly protocolVersion: string | undefined };

/** The store did not answer (unreachable, or past its command bound). */
export class StoreUnreachableError extends Error {
  override name = 'StoreUnreachableError';
}

/** A lock held in the store; `release` never throws. */
export interface StoreLock {
  release(): Promise<void>;
}

/**
 * Where the gateway keeps its session table: in memory (one process) or in Redis/Valkey (any
 * number of replicas). Keys are opaque strings the gateway builds (`upstream/session key`).
 * Records expire after `idleTtlMs` without a `touch` (sliding), and the table never holds more
 * than its cap: an expired or evicted record costs one upstream re-initialization later, never an
 * error, because the client's session id carries what rebuilds it.
 */
export interface SessionStore {
  /** `memory` or `redis`, for logs and /readyz. */
  readonly kind: string;
  /** Whether several processes share it (upstream sessions then outlive this process). */
  readonly shared: boolean;
  get(key: string): Promise<StoredSession | undefined>;
  /** Creates or replaces a record. */
  put(key: string, session: StoredSession): Promise<void>;
  /** Applies a change atomically (concurrent changes from several replicas all land). No-op when the record is gone. */
  update(key: string, change: StoredSessionChange): Promise<void>;
  /** Restarts the record's idle TTL. */
  touch(key: string): Promise<void>;
  /** Removes the record and remembers for `tombstoneMs` that the client ended it. */
  end(key: string, tombstoneMs: number): Promise<void>;
  /** Whether the client ended the session (DELETE) within the tombstone's lifetime. */
  isEnded(key: string): Promise<boolean>;
  /**
   * Counts `key` among `caller`'s live sessions unless that would exceed `limit`; false when the
   * caller already has `limit` live sessions.
   */
  admit(caller: string, key: string, limit: number): Promise<boolean>;
  /** Takes a lock for `ttlMs` (released earlier by its holder); undefined when another holds it. */
  lock(key: string, ttlMs: number): Promise<StoreLock | undefined>;
  /** Whether a lock is held on `key`. */
  isLocked(key: string): Promise<boolean>;
  /** Rejects when the store is unreachable. */
  ping(): Promise<void>;
  /** Every record's key, for ending upstream sessions at shutdown (stores that are not shared only). */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

/** Applies a change to a session record (for stores that hold records as objects). */
export function applyChange(session: StoredSession, change: StoredSessionChange): StoredSession {
  switch (change.kind) {
    case 'server-session':
      return { ...session, serverId: change.serverId, protocolVersion: change.protocolVersion };
    case 'log-level':
      return { ...session, logLevel: change.level };
    case 'subscribe':
      return session.subscriptions.includes(change.uri) ? session : { ...session, subscriptions: [...session.subscriptions, change.uri] };
    case 'unsubscribe':
      return { ...session, subscriptions: session.subscriptions.filter((uri) => uri !== change.uri) };
  }
}
