import { LifelineError } from '../errors/LifelineError.js';
import type { AnyFetch } from './outgoing-request.js';

/** At most this many redirects are followed for one of the middleware's own requests (the SDK transports' limit). */
const MAX_OWN_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * One of the middleware's own requests (re-initialization, ping, keep-alive, DELETE) was
 * redirected somewhere it does not follow. The message names the target without credentials,
 * query or fragment.
 */
export class RedirectNotFollowedError extends LifelineError<'REDIRECT_NOT_FOLLOWED'> {
  override name = 'RedirectNotFollowedError' as const;
  readonly status: number;

  constructor(message: string, status: number) {
    super('REDIRECT_NOT_FOLLOWED', message);
    this.status = status;
  }
}

/**
 * Sends a request the middleware makes on its own. Redirects are handled as the SDK transports
 * handle the client's (`redirectPolicy: 'same-origin'`): followed only within the request's origin
 * (same scheme, host and port, or its https form), only with 307 or 308 when the method is not
 * GET (301, 302 and 303 would turn the request into a GET), at most {@linkcode MAX_OWN_REDIRECTS}
 * times. Anything else is refused, so credentials (an API key, a bearer token) never reach
 * another origin, and a session issued there is never carried back (issue 9).
 */
export async function sendOwnRequest(next: AnyFetch, url: string, init: RequestInit): Promise<Response> {
  let target = url;
  for (let hops = 0; ; hops++) {
    const response = await next(target, { ...init, redirect: 'manual' });
    if (response.type === 'opaqueredirect') {
      throw new RedirectNotFollowedError('redirected; not followed, because this runtime does not reveal where to', 0);
    }
    if (!REDIRECT_STATUSES.has(response.status)) return response;
    const location = response.headers.get('location');
    await response.body?.cancel().catch(() => {});
    const redirectedTo = location === null ? undefined : parseUrl(location, target);
    if (redirectedTo === undefined) {
      throw new RedirectNotFollowedError(`answered HTTP ${response.status} without a usable Location`, response.status);
    }
    const where = describeTarget(redirectedTo);
    const from = new URL(target);
    if (!isWithinOrigin(from, redirectedTo) || addsUserinfo(from, redirectedTo)) {
      throw new RedirectNotFollowedError(
        `redirected (HTTP ${response.status}) to another origin, ${where}; mcp-lifeline does not follow it, so no credentials leave ${from.origin}`,
        response.status,
      );
    }
    const keepsMethod = response.status === 307 || response.status === 308 || (init.method ?? 'GET').toUpperCase() === 'GET';
    if (!keepsMethod) {
      throw new RedirectNotFollowedError(
        `redirected (HTTP ${response.status}) to ${where}; not followed, because it would turn the ${init.method} into a GET`,
        response.status,
      );
    }
    if (hops + 1 > MAX_OWN_REDIRECTS) {
      throw new RedirectNotFollowedError(`redirected more than ${MAX_OWN_REDIRECTS} times (last to ${where})`, response.status);
    }
    target = redirectedTo.href;
  }
}

/** Whether `to` has the scheme, host and port of `from`, or is its https form, both on default ports (as the SDKs decide). */
function isWithinOrigin(from: URL, to: URL): boolean {
  if (from.protocol === to.protocol && from.hostname === to.hostname && from.port === to.port) return true;
  return from.hostname === to.hostname && from.protocol === 'http:' && from.port === '' && to.protocol === 'https:' && to.port === '';
}

function addsUserinfo(from: URL, to: URL): boolean {
  return (to.username !== '' || to.password !== '') && (to.username !== from.username || to.password !== from.password);
}

function parseUrl(location: string, base: string): URL | undefined {
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

/** The redirect target as it may be shown: no userinfo, query or fragment (they may carry tokens). */
function describeTarget(url: URL): string {
  return `${url.origin}${url.pathname}`;
}
