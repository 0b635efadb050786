/** What the middleware did, reported through `onEvent`. Session ids are always redacted. */
export type LifelineEvent =
  | SessionLostEvent
  | LossNotConfirmedEvent
  | ReinitializedEvent
  | SessionAdoptedEvent
  | StateRestoredEvent
  | ReplayedEvent
  | MessageDroppedEvent
  | StreamBrokenEvent
  | RecoveryFailedEvent
  | StreamBackoffEvent
  | CircuitEvent
  | SessionAbandonedEvent
  | KeepAliveEvent
  | KeepAliveFailedEvent
  | ServerUnreachableEvent
  | ServerReachableEvent;

interface EventBase {
  /** The MCP endpoint, without query string. */
  readonly url: string;
  /** Milliseconds since the epoch. */
  readonly time: number;
}

/** The server answered a request as if it no longer knew the session, and that is certain. */
export interface SessionLostEvent extends EventBase {
  readonly type: 'session-lost';
  /** The classifier rule that matched, e.g. `spec-404`. */
  readonly rule: string;
  /**
   * How the loss is known: `answer`, the answer proves it (404, a session check's 400); `ping`, the
   * answer only suggested it and a `ping` on the session confirmed it.
   */
  readonly knownBy: 'answer' | 'ping';
  readonly status: number;
  /** HTTP method of the rejected request. */
  readonly method: string;
  /** JSON-RPC method of the rejected message, when it had one. */
  readonly rpcMethod: string | undefined;
  readonly sessionId: string;
  /** What the server said, shortened. */
  readonly serverMessage: string;
}

/**
 * An answer read like session loss, but the session did not confirm it: the client got the
 * server's answer as it was, and nothing was re-sent. `session-alive`: the session answered a
 * `ping`, so the error was the request's own (a tool that failed mentioning "session").
 * `unconfirmed`: the ping got no answer that tells (timeout, network error, 5xx).
 */
export interface LossNotConfirmedEvent extends EventBase {
  readonly type: 'loss-not-confirmed';
  readonly rule: string;
  readonly status: number;
  readonly method: string;
  readonly rpcMethod: string | undefined;
  readonly sessionId: string;
  readonly serverMessage: string;
  readonly outcome: 'session-alive' | 'unconfirmed';
  /** Why the ping could not tell, for `unconfirmed`. */
  readonly reason: string | undefined;
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

/**
 * Another process sharing the session (option `sharing`) had already replaced the lost session:
 * this one uses that session, and sent no `initialize` of its own.
 */
export interface SessionAdoptedEvent extends EventBase {
  readonly type: 'session-adopted';
  readonly previousSessionId: string;
  readonly sessionId: string;
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
 * A request's SSE response broke, or ended, before it carried the answer, and could not be
 * resumed (no event ids): the client was answered with a JSON-RPC error at once (the request may
 * have run, so it was not replayed).
 */
export interface StreamBrokenEvent extends EventBase {
  readonly type: 'stream-broken';
  readonly method: string;
  readonly rpcMethod: string | undefined;
  /** `broke`: a network error cut it; `ended`: the server closed it cleanly without the answer. */
  readonly how: 'broke' | 'ended';
  /** What happened, in words (the network error, or what the server sent instead of the answer). */
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

/**
 * The client's GET stream keeps failing, so its re-opening is held back (reported once per run
 * of failures; the backoff is cleared when a stream delivers a message or stays open).
 */
export interface StreamBackoffEvent extends EventBase {
  readonly type: 'stream-backoff';
  readonly sessionId: string;
  /** Failures in a row so far. */
  readonly failures: number;
  /** How long the next GET is held back. */
  readonly delayMs: number;
  /** The last failure, in words. */
  readonly reason: string;
}

/**
 * The circuit opened (re-initialization stopped after `failures` failed recoveries in a row, until
 * `retryAt`) or closed (the server answered again).
 */
export interface CircuitEvent extends EventBase {
  readonly type: 'circuit-open' | 'circuit-closed';
  readonly failures: number;
  /** When a request may try to re-initialize again (milliseconds since the epoch); undefined when closed. */
  readonly retryAt: number | undefined;
  /** The last failure, in words. */
  readonly cause: string;
}

/** The middleware ended (DELETE, not awaited) a session it opened and gave up on. */
export interface SessionAbandonedEvent extends EventBase {
  readonly type: 'session-abandoned';
  readonly sessionId: string;
  /** Why it gave the session up. */
  readonly reason: 'rejected-at-once' | 'handshake-failed';
}

/** The keep-alive learned a bound of the server's idle timeout (or started), and its ping interval. */
export interface KeepAliveEvent extends EventBase {
  readonly type: 'keepalive';
  readonly sessionId: string;
  /** The smallest upper bound of the idle timeout known so far; undefined with a fixed interval. */
  readonly boundMs: number | undefined;
  /** Pings now go out after this long without a successful exchange. */
  readonly intervalMs: number;
  /** `loss`: learned from a loss after `idleMs` of idleness; `initial`: given; `fixed`: a fixed interval. */
  readonly source: 'loss' | 'initial' | 'fixed';
  readonly idleMs: number | undefined;
}

/** A keep-alive ping got no answer that tells (timeout, network error, 5xx); the session is left as it is. */
export interface KeepAliveFailedEvent extends EventBase {
  readonly type: 'keepalive-failed';
  readonly sessionId: string;
  readonly reason: string;
}

/**
 * Requests to the server could not be delivered (a refused connection, a connection reset before
 * any byte was written, a DNS failure for a host that answered before): they wait for it, up to
 * `restartWindow`. Once per outage. `url` is the server's origin.
 */
export interface ServerUnreachableEvent extends EventBase {
  readonly type: 'server-unreachable';
  /** Why, in words: "connection refused: the server is not listening (127.0.0.1:3001) (ECONNREFUSED)". */
  readonly reason: string;
  /** How long each request waits for the server at most, in milliseconds. */
  readonly windowMs: number;
}

/** The server answered again after an outage: the requests that waited for it are sent. */
export interface ServerReachableEvent extends EventBase {
  readonly type: 'server-reachable';
  /** How long it could not be reached, from the first failure to the first answer, in milliseconds. */
  readonly downMs: number;
  /** Tries that failed meanwhile (one request at a time tries the server). */
  readonly tries: number;
}
