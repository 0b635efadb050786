/** What the middleware did, reported through `onEvent`. Session ids are always redacted. */
export type LifelineEvent =
  | SessionLostEvent
  | ReinitializedEvent
  | StateRestoredEvent
  | ReplayedEvent
  | MessageDroppedEvent
  | StreamBrokenEvent
  | RecoveryFailedEvent;

interface EventBase {
  /** The MCP endpoint, without query string. */
  readonly url: string;
  /** Milliseconds since the epoch. */
  readonly time: number;
}

/** The server answered a request as if it no longer knew the session. */
export interface SessionLostEvent extends EventBase {
  readonly type: 'session-lost';
  /** The classifier rule that matched, e.g. `spec-404`. */
  readonly rule: string;
  readonly status: number;
  /** HTTP method of the rejected request. */
  readonly method: string;
  /** JSON-RPC method of the rejected message, when it had one. */
  readonly rpcMethod: string | undefined;
  readonly sessionId: string;
  /** What the server said, shortened. */
  readonly serverMessage: string;
}

/** A new session replaced the lost one. */
export interface ReinitializedEvent extends EventBase {
  readonly type: 'reinitialized';
  readonly previousSessionId: string;
  readonly sessionId: string;
  /** Time spent on initialize, initialized and state restore. */
  readonly durationMs: number;
  readonly protocolVersion: string | undefined;
  /** The new session's `serverInfo` and `capabilities`, as the server sent them. */
  readonly serverInfo: unknown;
  readonly capabilities: unknown;
}

/** The log level and resource subscriptions of the lost session were set again. */
export interface StateRestoredEvent extends EventBase {
  readonly type: 'state-restored';
  readonly sessionId: string;
  readonly logLevel: string | undefined;
  readonly subscriptions: number;
  /** One line per item the server refused. */
  readonly failures: readonly string[];
}

/** A rejected message was sent again on the new session. */
export interface ReplayedEvent extends EventBase {
  readonly type: 'replayed';
  readonly method: string;
  readonly rpcMethod: string | undefined;
  readonly sessionId: string;
  /** HTTP status of the replay's answer. */
  readonly status: number;
}

/** A message was answered locally instead of replayed: it belonged to the lost session. */
export interface MessageDroppedEvent extends EventBase {
  readonly type: 'message-dropped';
  readonly reason: 'response-to-lost-session' | 'initialized-notification' | 'delete-of-lost-session';
}

/**
 * A request's SSE response broke mid-stream and could not be resumed: the client was answered
 * with a JSON-RPC error (the request may have run, so it was not replayed).
 */
export interface StreamBrokenEvent extends EventBase {
  readonly type: 'stream-broken';
  readonly method: string;
  readonly rpcMethod: string | undefined;
  /** The network error, in words. */
  readonly error: string;
}

/** Recovery did not succeed; the client got a {@linkcode SessionRecoveryError}. */
export interface RecoveryFailedEvent extends EventBase {
  readonly type: 'recovery-failed';
  /** HTTP method of the request that got the error. */
  readonly method: string;
  readonly rpcMethod: string | undefined;
  readonly code: string;
  readonly message: string;
}
