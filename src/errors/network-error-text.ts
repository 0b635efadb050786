import { isFetchLayerError, isLifelineError } from './LifelineError.js';

/**
 * A failed fetch in words: "connection refused: nothing listens at 127.0.0.1:3001 (ECONNREFUSED)",
 * "no answer within 10000 ms". fetch reports network failures as `TypeError('fetch failed')` with
 * the system error in `cause`; this reads the cause so users see what actually happened.
 */
export function networkErrorText(error: unknown, timeoutMs?: number): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return timeoutMs === undefined ? 'no answer in time' : `no answer within ${timeoutMs} ms`;
  if (error.name === 'AbortError') return 'the request was cancelled before an answer arrived';
  // The CLI's words for a failure on the way to a server (a refused certificate, a failed proxy)
  // name the host and what to do: said as they are, not looked through to the system's code.
  const said = saidInFull(error);
  if (said !== undefined) return said.message;
  const cause = causeOf(error);
  const code = cause instanceof Error && ownCode(cause) ? undefined : cause?.code;
  if (typeof code === 'string') return `${describeCode(code, locationOf(cause))} (${code})`;
  if (error.message === 'fetch failed' && cause?.message !== undefined) return cause.message;
  return error.message;
}

interface SystemErrorLike {
  code?: unknown;
  message?: string;
  address?: unknown;
  port?: unknown;
  hostname?: string;
}

function locationOf(cause: SystemErrorLike | undefined): string {
  if (typeof cause?.hostname === 'string') return cause.hostname;
  if (typeof cause?.address !== 'string') return '';
  return cause.port === undefined ? cause.address : `${cause.address}:${String(cause.port)}`;
}

function causeOf(error: Error): SystemErrorLike | undefined {
  // fetch wraps the system error, sometimes twice (undici's ConnectTimeoutError, AggregateError).
  let current: unknown = error;
  let deepest: SystemErrorLike | undefined;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const candidate = current as Error & SystemErrorLike;
    if (typeof candidate.code === 'string' && !ownCode(candidate)) return candidate;
    if (depth > 0) deepest = candidate;
    current = candidate.cause ?? (candidate as { errors?: unknown[] }).errors?.[0];
  }
  return deepest;
}

const SAID_IN_FULL: ReadonlySet<string> = new Set(['CERTIFICATE_NOT_ACCEPTED', 'PROXY_FAILED']);

function saidInFull(error: Error): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (isLifelineError(current) && SAID_IN_FULL.has(current.code)) return current;
    current = current.cause ?? (current as { errors?: unknown[] }).errors?.[0];
  }
  return undefined;
}

/**
 * A code of ours, not the system's: the transport's, the gateway's and the CLI's errors are looked
 * through to their cause. (The middleware's and the sign-in's codes are read as they always were.)
 */
function ownCode(error: Error): boolean {
  return isLifelineError(error) && !isFetchLayerError(error);
}

function describeCode(code: string, where: string): string {
  const at = where === '' ? '' : ` (${where})`;
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused: the server is not listening${at}`;
    case 'ECONNRESET':
      return 'the server closed the connection';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host name not found: DNS lookup failed${at}`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connection timed out${at}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable${at}`;
    case 'UND_ERR_SOCKET':
      return 'the connection closed unexpectedly';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'the server stopped answering';
    default:
      if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) return 'TLS error: the server certificate was not accepted';
      return 'network error';
  }
}
