/** Stable machine-readable codes carried by every {@linkcode LifelineError}. */
export type LifelineErrorCode =
  /** The session was lost and the middleware could not open a new one. */
  | 'REINITIALIZE_FAILED'
  /** A new session was opened, but the rejected message could not be sent again. */
  | 'REPLAY_FAILED'
  /** The message's body was a stream, which cannot be sent twice. */
  | 'NOT_REPLAYABLE'
  /** The server rejected the replayed message on each new session too, up to `maxRecoveries`: it never ran. */
  | 'SESSION_LOST_AGAIN'
  /** Re-initialization failed too often in a row: it is not tried again before `retryAt`. */
  | 'CIRCUIT_OPEN'
  /** The request could not be delivered, and the server did not come back within the restart window: it never ran. */
  | 'SERVER_UNREACHABLE'
  /** A feature needs an optional package that is not installed (the Redis store: `@redis/client`); a `MissingPackageError`. */
  | 'MISSING_PACKAGE'
  /** A server's TLS certificate was not accepted (an unknown CA, expired, another host's): a `CertificateError` naming the host. */
  | 'CERTIFICATE_NOT_ACCEPTED'
  /** The proxy could not be reached, or refused to carry the request (HTTP 407, 403, 502…): a `ProxyError` naming it. */
  | 'PROXY_FAILED';

// A registry-wide symbol, so the guard works when two copies of the package are loaded (as undici does).
const brand = Symbol.for('mcp-lifeline.error');

/** Base class of every error mcp-lifeline throws. */
export class LifelineError extends Error {
  override name = 'LifelineError';
  readonly code: LifelineErrorCode;
  readonly [brand] = true;

  constructor(code: LifelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for any error thrown by mcp-lifeline, even from another copy of the package. */
export function isLifelineError(value: unknown): value is LifelineError {
  return (
    value instanceof LifelineError || (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true)
  );
}
