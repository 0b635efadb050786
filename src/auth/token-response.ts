import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { StoredTokens } from './oauth-store.js';
import { SignInError } from './SignInError.js';

/** The longest access token lifetime believed, in seconds (10 years): beyond it, dates stop being dates. */
const MAX_EXPIRES_IN_S = 315_360_000;

/** Visible ASCII and spaces (RFC 6749 Appendix A, VSCHAR): what an HTTP header can carry. */
const VSCHAR = /^[\x20-\x7e]+$/;

/**
 * A token endpoint's answer (any grant) as it is stored: the tokens must be sendable (an
 * `access_token` a header cannot carry is refused with a clear error here, not a TypeError on
 * every later request), and an `expires_in` that is not a positive, believable number of
 * seconds (0, negative, 1e308) counts as absent: the token is used until the server refuses it.
 */
export function toStoredTokens(answer: OAuthTokens, now: number): StoredTokens {
  // An empty refresh_token is no refresh token (some servers write "" for none).
  const { refresh_token: refreshToken, ...withoutRefresh } = answer;
  const tokens: OAuthTokens = refreshToken === '' || refreshToken === undefined ? withoutRefresh : answer;
  for (const [name, value] of [
    ['access_token', tokens.access_token],
    ['refresh_token', tokens.refresh_token],
  ] as const) {
    if (value !== undefined && !VSCHAR.test(value)) {
      throw new SignInError(
        'SIGN_IN_FAILED',
        `the token endpoint's answer has ${value === '' ? 'an empty' : 'an unusable'} ${name} (RFC 6749 allows visible ASCII only); refusing it`,
      );
    }
  }
  const { expires_in: expiresIn, ...rest } = tokens;
  const lifetime =
    typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? Math.min(expiresIn, MAX_EXPIRES_IN_S) : undefined;
  return {
    ...rest,
    ...(lifetime === undefined ? {} : { expires_in: lifetime }),
    obtained_at: now,
    expires_at: lifetime === undefined ? undefined : now + lifetime * 1000,
  };
}
