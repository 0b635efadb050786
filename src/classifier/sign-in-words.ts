// What a 401 says about who must act: the server's sign-in (a token, a login) or its session
// table. A 401 is the authentication layer's answer; only its challenge and its words tell which.

// error="invalid_token" (RFC 6750 §3.1): the access token itself was refused.
const CHALLENGE_ERROR = /(?:^|[\s,])error\s*=\s*(?:"([^"]*)"|([^\s,]+))/i;

/** The `error` parameter of a `WWW-Authenticate` challenge (`invalid_token`, `insufficient_scope`), if any. */
export function challengeError(challenge: string | null | undefined): string | undefined {
  if (challenge === null || challenge === undefined) return undefined;
  const match = CHALLENGE_ERROR.exec(challenge);
  return match === null ? undefined : (match[1] ?? match[2] ?? '').toLowerCase();
}

// Words that make "session expired" a login session's: the user, not the MCP session, must act.
const SIGN_IN = new RegExp(
  [
    String.raw`log(?:ged)?[\s-]?(?:in|on|out)`,
    'logins?',
    String.raw`sign(?:ed)?[\s-]?(?:in|on|out)`,
    String.raw`re-?authenticat\w*`,
    String.raw`authenticat\w*`,
    'credentials?',
    'passwords?',
    'sso',
    'oauth2?',
    'tokens?',
    'jwts?',
    'bearer',
    String.raw`api[\s-]?keys?`,
    'cookies?',
    String.raw`user\s+sessions?`,
    String.raw`browser\s+sessions?`,
  ]
    .map((word) => String.raw`\b${word}\b`)
    .join('|'),
  'i',
);

/**
 * True when `text` names a sign-in: a login, a token, credentials ("Session expired, please log in
 * again", "session token expired", "invalid_token"). Such a 401 is the user's to fix, whatever else
 * it says about a session.
 */
export function namesSignIn(text: string): boolean {
  return SIGN_IN.test(text.includes('_') ? text.replaceAll('_', ' ') : text);
}
