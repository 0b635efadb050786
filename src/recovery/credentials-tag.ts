// Which credentials a session accepted, kept as a short tag, not as the secret itself: a 401 to
// the very credentials the session accepted shows the session, not the sign-in, is gone.

/** Headers that carry credentials: `Authorization`, cookies, and API-key or token headers by name. */
const CREDENTIAL_HEADER = /^(?:authorization|proxy-authorization|cookie)$|api[-_]?key|token|secret|auth/i;

/** A tag of the credentials in `headers` (FNV-1a over their names and values); equal tags, equal credentials. */
export function credentialsTag(headers: Headers): string {
  let hash = 0x811c9dc5;
  const mix = (text: string) => {
    for (let index = 0; index < text.length; index++) {
      hash ^= text.charCodeAt(index);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
  };
  let count = 0;
  // Headers iterate in name order, so the tag does not depend on the order they were set in.
  for (const [name, value] of headers) {
    if (!CREDENTIAL_HEADER.test(name) || name === 'mcp-session-id') continue;
    mix(`${name}\u0000${value}\u0000`);
    count += 1;
  }
  return `${count}:${hash.toString(16)}`;
}
