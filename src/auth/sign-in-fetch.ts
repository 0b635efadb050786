import type { FetchLike } from '../recovery/outgoing-request.js';
import { readWholeText } from '../shared/read-whole-body.js';
import { describeUrl } from '../shared/redact.js';
import { SignInError } from './SignInError.js';
import { checkSignInUrl } from './sign-in-url.js';

/** What bounds every request of a sign-in. */
export interface SignInFetchOptions {
  /** The fetch underneath. */
  readonly fetch: FetchLike;
  /** The MCP server signed in to: a remote one's sign-in sends nothing to this machine. */
  readonly serverUrl: string;
  /** Bound for each request, answer included, in ms. */
  readonly requestTimeoutMs: number;
  /** Bound for each answer's body, in bytes. */
  readonly maxDocumentBytes: number;
}

/**
 * The fetch of every request a sign-in makes (protected-resource and authorization-server
 * metadata, OpenID discovery, registration, token, device and revocation requests):
 * - the URL must pass {@linkcode checkSignInUrl} (https:, or http: on loopback; nothing on this
 *   machine for a remote server), checked before connecting;
 * - redirects are never followed here (`redirect: 'manual'`): the SDK follows those within the
 *   origin itself, through this fetch again, and our own requests treat a 3xx as a failure;
 * - the answer is read whole within `requestTimeoutMs`, and at most `maxDocumentBytes` of it: one
 *   over the bound is released unread and refused with a `DOCUMENT_TOO_LARGE` error naming the URL
 *   and the bound, so memory stays flat whatever a server sends.
 */
export function createSignInFetch(options: SignInFetchOptions): FetchLike {
  const { maxDocumentBytes } = options;
  return async function signInFetch(url, init) {
    const target = checkSignInUrl('sign-in request to', typeof url === 'string' ? url : url.href, options.serverUrl);
    const timeout = AbortSignal.timeout(options.requestTimeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const response = await options.fetch(target.href, { ...init, redirect: 'manual', signal });
    const body = await readWholeText(response, maxDocumentBytes);
    if (body === undefined) {
      throw new SignInError(
        'DOCUMENT_TOO_LARGE',
        `the answer of ${describeUrl(target.href)} is larger than ${maxDocumentBytes} bytes, the bound for every sign-in document; refusing it`,
      );
    }
    // A status that may not have a body (204, 304) gets none; everything else the text as read.
    const empty = response.status === 204 || response.status === 205 || response.status === 304;
    return new Response(empty ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
