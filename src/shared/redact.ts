import { scrubberForRequest } from './secret-scrubber.js';

/**
 * Shortens a session id for events and logs: a session id is a bearer credential on many servers,
 * so only its first four characters are ever reported.
 */
export function redactSessionId(sessionId: string | null | undefined): string {
  if (!sessionId) return '(none)';
  return sessionId.length <= 8 ? '…' : `${sessionId.slice(0, 4)}…`;
}

/** The URL without query, fragment or credentials, which may carry tokens (`?api_key=…`). */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** `text` with every occurrence of the given session ids shortened as {@linkcode redactSessionId} does. */
export function redactIds(text: string, ids: readonly (string | undefined)[]): string {
  let redacted = text;
  for (const id of ids) {
    if (id !== undefined && id.length > 0) redacted = redacted.split(id).join(redactSessionId(id));
  }
  return redacted;
}

/**
 * What the middleware may repeat of a server's text: every header value it sent with `headers`
 * (and their common encodings, see {@linkcode scrubberForRequest}) replaced by `[redacted]`,
 * and every full session id shortened (issue 9: servers quote request headers in error bodies).
 */
export function textScrubber(headers: Headers | undefined, sessionIds: readonly (string | undefined)[]): (text: string) => string {
  const secrets = scrubberForRequest(headers ?? {});
  return (text) => secrets.scrub(redactIds(text, sessionIds));
}
