import { LifelineError } from '../errors/LifelineError.js';
import type { SessionStateChange } from '../shared/session-state.js';

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
export class StoreUnreachableError extends LifelineError<'STORE_UNREACHABLE'> {
  override name = 'StoreUnreachableError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_UNREACHABLE', message, options);
  }
}

/** What a shared store reports as it happens (see {@linkcode SessionStore.watch}). */
export interface StoreWatcher {
  /** A client ended session `key` (DELETE) through any process sharing the store. */
  ended(key: string): void;
  /**
   * Whether this process hears of every end now. False from the moment that cannot be told (the
   * store's connection broke, or it fell silent); true again once it can, after which any end in
   * between must be read from the store.
   */
  listening(up: boolean, error?: Error): void;
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
  /** The same, at once: a store that is this process's memory (asked on every request, an await each would cost 5 % of a call). */
  endedNow?(key: string): boolean;
  /**
   * Counts `key` among `caller`'s live sessions unless that would exceed `limit`; false when the
   * caller already has `limit` live sessions.
   */
  admit(caller: string, key: string, limit: number): Promise<boolean>;
  /** Stops counting `key` among `caller`'s sessions (it was admitted, then never opened). Optional: without it the place is freed when the key's idle TTL runs out. */
  release?(caller: string, key: string): Promise<void>;
  /** The key of `caller`'s least recently used live session, if any. Optional: without it a caller at its limit is refused. */
  leastRecentlyUsed?(caller: string): Promise<string | undefined>;
  /**
   * Tells `watcher` of every session ended by any process as it happens, so that a process can
   * serve the sessions it knows without asking the store on every request. Optional: without it,
   * a shared store is asked on every request. Returns a function that stops watching.
   */
  watch?(watcher: StoreWatcher): () => void;
  /** Where the store is, for messages (no credentials), e.g. `redis://10.0.0.5:6379/0`. @default kind */
  readonly address?: string;
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
