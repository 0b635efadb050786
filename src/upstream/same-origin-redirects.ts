import type { AnyFetch, FetchLike } from '../recovery/outgoing-request.js';
import { RedirectNotFollowedError, sendOwnRequest } from '../recovery/own-request.js';
import { describeUrl } from '../shared/redact.js';

/**
 * Follows redirects only within the endpoint's origin, for every request of the bridge, the probe
 * and the gateway: the policy the middleware applies to its own requests (`sendOwnRequest`, the
 * SDK transports' `same-origin`). A request carries credentials (Authorization, API keys, the
 * session id) that belong to this origin alone: a redirect elsewhere is refused with an error that
 * names the endpoint and the target's origin, never followed.
 */
export function followSameOriginRedirects(next: FetchLike): FetchLike {
  return async function sameOriginFetch(url, init = {}) {
    const target = typeof url === 'string' ? url : url.href;
    try {
      return await sendOwnRequest(next as AnyFetch, target, init);
    } catch (error) {
      if (!(error instanceof RedirectNotFollowedError)) throw error;
      throw new RedirectNotFollowedError(`${describeUrl(target)} ${error.message}`, error.status);
    }
  };
}
