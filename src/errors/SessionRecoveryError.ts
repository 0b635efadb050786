import type { SessionRecoveryErrorCode } from './error-codes.js';
import { LifelineError } from './LifelineError.js';

/** The session loss that started a recovery, as reported in errors. */
export interface SessionLossReport {
  /** The classifier rule that matched. */
  readonly rule: string;
  /** HTTP status of the rejection. */
  readonly status: number;
  /** What the server said, shortened. */
  readonly serverMessage: string;
}

/** The request the client sent, as reported in errors (the URL carries no query string). */
export interface RequestReport {
  readonly method: string;
  readonly url: string;
  readonly rpcMethod: string | undefined;
}

const WHAT_HAPPENED: Record<SessionRecoveryErrorCode, string> = {
  REINITIALIZE_FAILED: 'Re-initializing the session failed',
  REPLAY_FAILED: 'A new session was opened, but sending the request again failed',
  NOT_REPLAYABLE: 'A new session was opened, but the request body is a stream and cannot be sent twice; send the request again',
  SESSION_LOST_AGAIN: 'A new session was opened, but the server rejected the request on it too; not retrying',
  CIRCUIT_OPEN: 'Not re-initializing, and the request was not sent',
};

/**
 * The server lost the MCP session and mcp-lifeline could not hide it. The message says what the
 * server answered, what was tried and why it failed; `cause` holds the underlying error.
 */
export class SessionRecoveryError extends LifelineError<SessionRecoveryErrorCode> {
  override name = 'SessionRecoveryError' as const;
  readonly request: RequestReport;
  readonly loss: SessionLossReport;
  /** For `CIRCUIT_OPEN`: when a request may try to re-initialize again (milliseconds since the epoch). */
  readonly retryAt: number | undefined;

  constructor(
    code: SessionRecoveryErrorCode,
    details: { request: RequestReport; loss: SessionLossReport; reason?: string; retryAt?: number | undefined },
    options?: { cause?: unknown },
  ) {
    const { request, loss, reason } = details;
    const what = request.rpcMethod === undefined ? '' : ` (${request.rpcMethod})`;
    const said = loss.serverMessage === '' ? '' : ` "${loss.serverMessage.slice(0, 200)}"`;
    super(
      code,
      `MCP session expired: ${request.method} ${request.url}${what} was rejected with HTTP ${loss.status}${said} ` +
        `(rule ${loss.rule}). ${WHAT_HAPPENED[code]}${reason === undefined ? '' : `: ${reason}`}.` +
        (code === 'REINITIALIZE_FAILED' ? ' The next request will try again.' : ''),
      options,
    );
    this.request = request;
    this.loss = loss;
    this.retryAt = details.retryAt;
  }
}
