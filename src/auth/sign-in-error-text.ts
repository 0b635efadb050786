import { OAuthError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { serverText } from '../shared/server-text.js';

/** The longest server-supplied text a sign-in error repeats. */
const MAX_SAID = 300;

/**
 * Why a step of a sign-in failed, in words: the OAuth error code and description, a timeout, or
 * the error's message with its system cause. What the server said (the SDK quotes raw bodies) is
 * shortened and stripped of control characters ({@linkcode serverText}).
 */
export function signInErrorText(error: unknown): string {
  if (error instanceof OAuthError) return serverText(`${error.errorCode}${error.message ? ` (${error.message})` : ''}`, MAX_SAID);
  if (error instanceof Error && error.name === 'TimeoutError') return 'the authorization server did not answer in time';
  if (error instanceof Error) {
    const cause = (error as { cause?: { code?: unknown } }).cause?.code;
    return serverText(typeof cause === 'string' ? `${error.message} (${cause})` : error.message, MAX_SAID);
  }
  return serverText(String(error), MAX_SAID);
}
