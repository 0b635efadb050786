import { LifelineError } from './LifelineError.js';
import type { RequestReport } from './SessionRecoveryError.js';

/**
 * A request could not be delivered (the connection was refused, reset before any byte was
 * written, or the host name stopped resolving), and the server did not come back within the
 * restart window. The request never reached the server, so it did not run; `cause` holds the last
 * network error.
 */
export class ServerUnreachableError extends LifelineError<'SERVER_UNREACHABLE'> {
  override name = 'ServerUnreachableError' as const;
  readonly request: RequestReport;
  /** How long the request waited for the server, in milliseconds. */
  readonly waitedMs: number;

  constructor(details: { request: RequestReport; reason: string; waitedMs: number; windowMs: number }, options?: { cause?: unknown }) {
    const { request, reason, waitedMs, windowMs } = details;
    const what = request.rpcMethod === undefined ? '' : ` (${request.rpcMethod})`;
    super(
      'SERVER_UNREACHABLE',
      `${request.method} ${request.url}${what} could not be delivered: ${reason}. ` +
        `It waited ${seconds(waitedMs)} s for the server to come back (restart window ${seconds(windowMs)} s); ` +
        'it never reached the server, so it did not run.',
      options,
    );
    this.request = request;
    this.waitedMs = waitedMs;
  }
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(ms < 10_000 ? 1 : 0);
}
