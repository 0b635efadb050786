// Which fetch failures prove the request never reached the server. Only those may be sent again
// while waiting for a server that restarts: a request that may have been read may have run.

/** Why a request was not delivered, in the system's words, or undefined when it may have been. */
export type UndeliveredCause = string | undefined;

interface ErrorLike {
  readonly code?: unknown;
  readonly syscall?: unknown;
  readonly socket?: { readonly bytesWritten?: unknown } | undefined;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

// Resets that may come before the request was written: undelivered only when the socket wrote nothing.
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN']);

/**
 * The error code that proves `error` (a fetch failure) left the request undelivered: a connection
 * that was never established (refused, timed out or unreachable while connecting), a connection
 * reset before any byte was written, or, when the host `resolvedBefore`, a failed DNS lookup (a
 * service whose name disappears while it is replaced). Anything else, a reset after the request
 * was written included, may have reached the server: undefined.
 */
export function undeliveredCause(error: unknown, resolvedBefore: boolean): UndeliveredCause {
  const found: ErrorLike[] = [];
  collect(error, found, 0);
  let bytesWritten: number | undefined;
  for (const item of found) {
    const written = item.socket?.bytesWritten;
    if (typeof written === 'number') bytesWritten = Math.max(bytesWritten ?? 0, written);
  }
  const codes = found.map((item) => ({ code: typeof item.code === 'string' ? item.code : undefined, syscall: item.syscall }));
  // Every address tried must have failed undelivered (happy eyeballs tries several).
  const coded = codes.filter((item) => item.code !== undefined);
  if (coded.length === 0) return undefined;
  for (const { code, syscall } of coded) {
    if (!undeliveredCode(code as string, syscall, { resolvedBefore, bytesWritten })) return undefined;
  }
  return coded[0]?.code;
}

function undeliveredCode(code: string, syscall: unknown, context: { resolvedBefore: boolean; bytesWritten: number | undefined }): boolean {
  if (code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT') return true;
  if (syscall === 'connect') return true; // ETIMEDOUT, EHOSTUNREACH, ENETUNREACH while connecting
  if (DNS_CODES.has(code)) return context.resolvedBefore;
  if (RESET_CODES.has(code)) return context.bytesWritten === 0;
  return false;
}

/** The error and its causes (fetch wraps the system error, sometimes in an AggregateError). */
function collect(value: unknown, found: ErrorLike[], depth: number): void {
  if (depth > 6 || typeof value !== 'object' || value === null) return;
  const item = value as ErrorLike;
  found.push(item);
  collect(item.cause, found, depth + 1);
  if (Array.isArray(item.errors)) for (const inner of item.errors) collect(inner, found, depth + 1);
}
