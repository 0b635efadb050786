import { createHash } from 'node:crypto';

/** The gateway's client credentials: bearer tokens, each naming a caller. */
export interface CallerCredentials {
  /** The caller a presented bearer token belongs to; undefined for an unknown token. */
  identify(token: string): string | undefined;
  /** How many tokens are accepted (for the startup log line). */
  readonly size: number;
}

/** The caller's name when the gateway requires no credential (loopback only). */
export const LOCAL_CALLER = 'local';
const MIN_TOKEN_LENGTH = 16;

/**
 * Parses a token file: one credential a line, `#` starts a comment. A line is either `TOKEN` or
 * `NAME TOKEN`; the name identifies the caller in logs, metrics and session binding (so a caller
 * keeps its sessions when its token is replaced), and defaults to a fingerprint of the token.
 * Tokens are kept only as SHA-256 digests. Throws a TypeError naming the line, never its content.
 */
export function parseCallerTokens(text: string, where: string): CallerCredentials {
  const byDigest = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/\s+/);
    if (fields.length > 2) throw new TypeError(`${where}, line ${index + 1}: expected "TOKEN" or "NAME TOKEN"`);
    const token = fields[fields.length - 1] as string;
    if (token.length < MIN_TOKEN_LENGTH) {
      throw new TypeError(`${where}, line ${index + 1}: the token is shorter than ${MIN_TOKEN_LENGTH} characters`);
    }
    const name = fields.length === 2 ? (fields[0] as string) : `caller-${digest(token).slice(0, 8)}`;
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
      throw new TypeError(`${where}, line ${index + 1}: a caller name may hold letters, digits and . _ @ - (at most 64)`);
    }
    byDigest.set(digest(token), name);
  });
  if (byDigest.size === 0) throw new TypeError(`${where}: no token found`);
  return {
    size: byDigest.size,
    // Looked up by digest: the comparison never runs over the secret itself.
    identify: (token) => byDigest.get(digest(token)),
  };
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
