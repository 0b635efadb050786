import type { FetchLike } from '../recovery/outgoing-request.js';
import { createSecretScrubber, type SecretScrubber } from '../shared/secret-scrubber.js';

/** A fetch that notes the credentials it sends, and a scrub that removes them from text. */
export interface SentCredentials {
  readonly fetch: FetchLike;
  readonly scrub: (text: string) => string;
}

// Access tokens are refreshed (hourly, often): the last few are kept, the older ones have expired.
const KEPT = 4;

/**
 * For `serve --oauth`: the gateway's sign-in adds an access token to each upstream request below
 * the gateway, which never sees it. This fetch, under the sign-in, notes each `Authorization`
 * value it sends, so that an upstream that quotes it back (a debug page) cannot hand it to a client.
 */
export function recordSentCredentials(next: FetchLike): SentCredentials {
  const state: { recent: string[]; scrubber: SecretScrubber } = { recent: [], scrubber: createSecretScrubber() };
  const note = (value: string) => {
    if (state.recent.includes(value)) return;
    state.recent = [value, ...state.recent].slice(0, KEPT);
    const scrubber = createSecretScrubber();
    for (const kept of state.recent) scrubber.addHeader('authorization', kept);
    state.scrubber = scrubber;
  };
  return {
    fetch(url, init) {
      const value = new Headers(init?.headers).get('authorization');
      if (value !== null) note(value);
      return next(url, init);
    },
    scrub: (text) => state.scrubber.scrub(text),
  };
}
