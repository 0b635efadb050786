// The stable codes of every error mcp-lifeline throws, one union per family. `LifelineErrorCode`
// is their union: what `isLifelineError()` promises about an error's `code`, for every error.

/** Codes of the middleware's errors: `SessionRecoveryError` (a lost session it could not hide) and `ServerUnreachableError`. */
export type MiddlewareErrorCode =
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
  /** The request could not be delivered, and the server did not come back within the restart window: it never ran (`ServerUnreachableError`). */
  | 'SERVER_UNREACHABLE';

/** Codes of `SessionRecoveryError`: the middleware could not hide a lost session. */
export type SessionRecoveryErrorCode = Exclude<MiddlewareErrorCode, 'SERVER_UNREACHABLE'>;

/** Codes of `SignInError` (`mcp-lifeline/oauth`): a sign-in failed, was refused, or may not start here. */
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

/** Codes of the errors between mcp-lifeline and an MCP server: the bridge's and the gateway's upstreams, the middleware's own requests. */
export type TransportErrorCode =
  /** A message could not be delivered: the server refused it or could not be reached; `mayHaveRun` says whether it may have run. */
  | 'UPSTREAM_FAILED'
  /** A body the server sent could not be read as JSON-RPC: not JSON, or over the size bound. */
  | 'INVALID_BODY'
  /** A redirect of a request mcp-lifeline makes on its own was not followed: another origin, or a method it would change. */
  | 'REDIRECT_NOT_FOLLOWED'
  /** A step of a re-initialization failed (the cause of a `REINITIALIZE_FAILED`). */
  | 'HANDSHAKE_FAILED'
  /** An input request of a 2026-07-28 server cannot reach the host, or the host refused it. */
  | 'INPUT_NOT_BRIDGED'
  /** A server's TLS certificate was not accepted (an unknown CA, expired, another host's): a `CertificateError` naming the host (the CLI's requests). */
  | 'CERTIFICATE_NOT_ACCEPTED'
  /** The proxy could not be reached, or refused to carry the request (HTTP 407, 403, 502…): a `ProxyError` naming it (the CLI's requests). */
  | 'PROXY_FAILED';

/** Codes of the `serve` gateway's errors (`mcp-lifeline/gateway`). */
export type GatewayErrorCode =
  /** `startGateway` cannot serve this configuration safely (`GatewayConfigError`); the message names the fix. */
  | 'INVALID_GATEWAY_CONFIG'
  /** The session store did not answer: unreachable, or past its command bound. */
  | 'STORE_UNREACHABLE'
  /** A recovery shared with other replicas gave up: the session ended meanwhile, or the store stayed unreachable. */
  | 'SHARED_RECOVERY_FAILED'
  /** A client's request body is larger than the gateway's bound (`--max-body`). */
  | 'BODY_TOO_LARGE'
  /** A client's request body did not arrive within the bound (`--body-timeout`). */
  | 'BODY_TIMEOUT'
  /** An upstream answer that is not an event stream is larger than the message bound (`--max-message-size`). */
  | 'ANSWER_TOO_LARGE'
  /** A client's `initialize` params are too large to travel in a session id. */
  | 'TOKEN_TOO_LARGE'
  /** A feature needs an optional package that is not installed (the Redis store: `@redis/client`); a `MissingPackageError`. */
  | 'MISSING_PACKAGE';

/** Codes of the command line's errors. */
export type CliErrorCode =
  /** A mistake in the command line or its inputs: the CLI prints the message and exits 2. */
  | 'USAGE'
  /** `probe`: the server refused or failed the handshake, so the probe cannot go on (exit 2). */
  | 'PROBE_CONNECTION_FAILED';

/** Stable machine-readable codes carried by every `LifelineError`: the union of the families above. */
export type LifelineErrorCode = MiddlewareErrorCode | SignInErrorCode | TransportErrorCode | GatewayErrorCode | CliErrorCode;
