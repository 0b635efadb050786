import type { LifelineErrorCode } from './error-codes.js';

// A registry-wide symbol, so the guard works when two copies of the package are loaded (as undici does).
const brand = Symbol.for('mcp-lifeline.error');

/**
 * Base class of every error mcp-lifeline throws. `code` is stable; `cause` holds the underlying
 * error where there is one; each subclass names itself (`name`) and its family of codes.
 */
export class LifelineError<C extends LifelineErrorCode = LifelineErrorCode> extends Error {
  override name: string = 'LifelineError';
  readonly code: C;
  readonly [brand] = true;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for any error thrown by mcp-lifeline, even from another copy of the package; its `code` is a {@linkcode LifelineErrorCode}. */
export function isLifelineError(value: unknown): value is LifelineError {
  return (
    value instanceof LifelineError || (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true)
  );
}

// The errors a fetch layer of ours throws at its caller (the middleware's, the sign-in's).
const FETCH_LAYER_ERRORS: ReadonlySet<string> = new Set(['SessionRecoveryError', 'ServerUnreachableError', 'SignInError']);

/**
 * An error of a layer mcp-lifeline puts beneath a fetch: the middleware's `SessionRecoveryError`
 * and `ServerUnreachableError`, or the sign-in's `SignInError`. Its message says what happened and
 * what to do, for the user as it is; and it is no network failure: only a `REPLAY_FAILED` may have
 * left a request that ran.
 */
export function isFetchLayerError(value: unknown): value is LifelineError {
  return isLifelineError(value) && FETCH_LAYER_ERRORS.has(value.name);
}
