// The seam through which sessions outlive the process that opened them (issue 12, `serve`).
//
// The `serve` gateway's replicas share their client sessions through a store (memory or Redis):
// any replica may take any request of any session, so the middleware of a replica must be able to
// take over a session another replica opened, and a lost upstream session must be re-initialized
// once across all replicas, not once per replica. `withSessionRecovery` calls these four methods
// when the `sharing` option is set; without it, nothing changes.
//
// Runtime-neutral on purpose: the interface is plain data and promises; the store behind it (and
// its locks) belongs to the caller (src/gateway/store-session-sharing.ts).
import type { SessionStateChange } from '../shared/session-state.js';

/** What any process needs to carry on a session it did not open. */
export interface SharedSessionState {
  /** The client's own `initialize` params: what a re-initialization sends. */
  readonly initializeParams: unknown;
  /**
   * The server's current id for the session. `undefined`: no live server session is known (the
   * store was emptied, or a re-initialization failed); re-initialize before sending.
   */
  readonly serverId: string | undefined;
  /** Protocol version negotiated by the latest re-initialization, if it differs from the client's. */
  readonly protocolVersion: string | undefined;
  /** Last `logging/setLevel` level the server accepted. */
  readonly logLevel: string | undefined;
  /** Resource URIs subscribed and not since unsubscribed. */
  readonly subscriptions: readonly string[];
}

/** What a re-initialization produced, as far as other processes need to know. */
export interface NewServerSession {
  readonly sessionId: string | undefined;
  readonly protocolVersion: string | undefined;
}

/** How a shared recovery ended for this process. */
export type SharedRecovery<T extends NewServerSession> =
  /** This process re-initialized; `result` is what `reinitialize` returned. */
  | { readonly kind: 'reinitialized'; readonly result: T }
  /** Another process had already re-initialized: use its session, send nothing more. */
  | { readonly kind: 'adopted'; readonly state: SharedSessionState };

/** Option `sharing` of `withSessionRecovery`: sessions kept in a store shared by several processes. */
export interface SessionSharing {
  /**
   * A request names a session (by the id the client holds, `alias`) that this process has no
   * record of: another process opened it, or this one forgot it. Resolves with the session's shared
   * state, or `undefined` when the session is unknown everywhere (the request then passes through
   * untouched, as any request for an unknown session does).
   */
  load(alias: string, endpoint: string): Promise<SharedSessionState | undefined>;
  /**
   * The server lost session `alias`, known here as `lostServerId`. Re-initializes at most once
   * across processes (a lock in the store): the process that takes the lock calls `reinitialize`
   * with the freshest shared state (its log level and subscriptions, whichever process set them)
   * and records the new session; one that finds the session already replaced adopts it instead.
   * Rejects when the session cannot be recovered (ended by the client meanwhile, store unreachable
   * for longer than the recovery bound) or when `reinitialize` rejects.
   */
  recover<T extends NewServerSession>(
    alias: string,
    lostServerId: string | undefined,
    reinitialize: (latest: SharedSessionState) => Promise<T>,
  ): Promise<SharedRecovery<T>>;
  /** The server accepted a change of session state. Never throws; failures are the store's to report. */
  changed(alias: string, change: SessionStateChange): void;
  /** The client ended the session (DELETE). Never throws. */
  ended(alias: string): void;
}
