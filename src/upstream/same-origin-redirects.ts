import type { FetchLike } from '../recovery/outgoing-request.js';
import { describeUrl } from '../recovery/redact.js';

/** A redirect the upstream refused to follow. */
export class RedirectRefusedError extends Error {
  override name = 'RedirectRefusedError';
}

/** Redirects followed at most per request, as browsers bound them (fetch spec: 20); servers need one or two. */
const MAX_REDIRECTS = 5;

/**
 * Follows redirects only within the endpoint's origin. A server can point a request elsewhere, but
 * the request carries credentials (Authorization, API keys, the session id) that belong to this
 * origin alone: a cross-origin redirect is refused with an error naming both origins, never
 * followed (the official SDK transports refuse them too). A same-origin 307/308 is followed with
 * the same method and body; a same-origin 301/302/303 to a POST is refused, since turning the
 * message into a GET would drop it.
 */
export function followSameOriginRedirects(next: FetchLike): FetchLike {
  return async function sameOriginFetch(url, init = {}) {
    let current: string | URL = url;
    for (let hops = 0; ; hops++) {
      const response = await next(current, { ...init, redirect: 'manual' });
      if (response.status < 300 || response.status > 399 || response.status === 304) return response;
      const location = response.headers.get('location');
      if (location === null) return response;
      await response.body?.cancel().catch(() => {});
      const source = new URL(current);
      const target = new URL(location, source);
      const from = describeUrl(source.href);
      if (target.origin !== source.origin) {
        throw new RedirectRefusedError(
          `${from} redirected to another origin (${target.origin}); mcp-lifeline never sends credentials across origins: ` +
            'use the final URL directly if you trust it',
        );
      }
      const method = (init.method ?? 'GET').toUpperCase();
      if (method !== 'GET' && response.status !== 307 && response.status !== 308) {
        throw new RedirectRefusedError(
          `${from} answered ${method} with HTTP ${response.status} to ${describeUrl(target.href)}: use that URL directly`,
        );
      }
      if (hops + 1 >= MAX_REDIRECTS) throw new RedirectRefusedError(`${from}: more than ${MAX_REDIRECTS} redirects`);
      current = target;
    }
  };
}
