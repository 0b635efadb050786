import { scrubberForRequest } from '../shared/secret-scrubber.js';
import type { GatewayUpstream } from './gateway-options.js';

/**
 * What removes the gateway's own secrets for `upstream` from text the upstream wrote, before a
 * client or a log sees it: the values of its configured headers and of its URL's query, and what
 * its `fetch` adds (`upstream.scrub`, an OAuth token). Undefined when there is none of them, so
 * that answers can pass through untouched.
 */
export function upstreamScrubber(upstream: GatewayUpstream): ((text: string) => string) | undefined {
  const configured = upstream.headers ?? {};
  if (Object.keys(configured).length === 0 && upstream.url.search === '' && upstream.scrub === undefined) return undefined;
  const secrets = scrubberForRequest(configured, upstream.url);
  const fetchSecrets = upstream.scrub;
  return fetchSecrets === undefined ? (text) => secrets.scrub(text) : (text) => fetchSecrets(secrets.scrub(text));
}
