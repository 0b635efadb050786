import type { SignInErrorCode } from '../errors/error-codes.js';
import { LifelineError } from '../errors/LifelineError.js';

/**
 * Why a request could not get a token: a sign-in that failed or was refused, or one that may not
 * start here. The message names the server and what to do; it never contains a token.
 */
export class SignInError extends LifelineError<SignInErrorCode> {
  override name = 'SignInError' as const;
}

/** True for a {@linkcode SignInError}, even from another copy of the package. */
export function isSignInError(value: unknown): value is SignInError {
  return value instanceof SignInError || (value instanceof Error && value.name === 'SignInError' && 'code' in value);
}
