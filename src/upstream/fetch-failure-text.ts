import { isFetchLayerError } from '../errors/LifelineError.js';
import { networkErrorText } from '../errors/network-error-text.js';

/**
 * Why a fetch failed, in words: a sign-in error or a refused redirect says so itself (their
 * messages name the server and what to do); anything else is a network failure, named by
 * `networkErrorText`.
 */
export function fetchFailureText(error: unknown, timeoutMs?: number): string {
  return speaksForItself(error) ? error.message : networkErrorText(error, timeoutMs);
}

/** A failure whose message is complete on its own (a sign-in error, a refused redirect). */
export function speaksForItself(error: unknown): error is Error {
  return isFetchLayerError(error) || (error instanceof Error && error.name === 'RedirectNotFollowedError');
}
