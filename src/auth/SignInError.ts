/** Stable machine-readable codes carried by every {@linkcode SignInError}. */
export type SignInErrorCode =
  /** No usable token, and this request may not open a browser (background request, or `interactive: false`). */
  | 'SIGN_IN_REQUIRED'
  /** The user did not finish signing in within the bound (`--oauth-timeout`). */
  | 'SIGN_IN_TIMEOUT'
  /**
   * A sign-in waits for the user, and the request could not wait longer for it (the bridge answers
   * a host's request before the host's own timeout): the message says what to do and until when.
   * The sign-in goes on; a later request finds it done.
   */
  | 'SIGN_IN_PENDING'
  /** The authorization server sent the user back with an error (`access_denied`, …). */
  | 'AUTHORIZATION_DENIED'
  /** No longer thrown: a callback with another `state` (RFC 6749 §10.12: forged or stale) is answered 400 and ignored, and the sign-in waits on. Kept so code that names it compiles. */
  | 'STATE_MISMATCH'
  /** An issuer check failed: RFC 9207 `iss` in the callback, or RFC 8414 §3.3 metadata `issuer`. */
  | 'ISSUER_MISMATCH'
  /** Discovery, registration or the token exchange failed; the message says what the server said. */
  | 'SIGN_IN_FAILED'
  /** The server still refuses the newest token (401 after refresh and sign-in, or 403 after step-up). */
  | 'STILL_UNAUTHORIZED'
  /** Another process held the sign-in lease longer than the wait bound. */
  | 'LEASE_TIMEOUT'
  /** The callback port is taken, and the client is registered for that port only. */
  | 'CALLBACK_PORT_IN_USE'
  /** A sign-in URL (metadata, endpoint, the server, a page for the browser) is neither https: nor http: on a loopback host. */
  | 'INSECURE_ENDPOINT'
  /** The protected-resource metadata names another resource than the server signed in to (RFC 9728 §3.3, RFC 8707). */
  | 'RESOURCE_MISMATCH'
  /** A document fetched during sign-in (metadata, registration, token, device answer) is over the size bound. */
  | 'DOCUMENT_TOO_LARGE'
  /** The sign-in store directory is writable by, or belongs to, another user. */
  | 'STORE_INSECURE';

// The same registry-wide brand as LifelineError: `isLifelineError()` recognises sign-in errors too,
// so the bridge shows their message as it is.
const brand = Symbol.for('mcp-lifeline.error');

/**
 * Why a request could not get a token: a sign-in that failed or was refused, or one that may not
 * start here. The message names the server and what to do; it never contains a token.
 */
export class SignInError extends Error {
  override name = 'SignInError';
  readonly code: SignInErrorCode;
  readonly [brand] = true;

  constructor(code: SignInErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for a {@linkcode SignInError}, even from another copy of the package. */
export function isSignInError(value: unknown): value is SignInError {
  return value instanceof SignInError || (value instanceof Error && value.name === 'SignInError' && 'code' in value);
}
