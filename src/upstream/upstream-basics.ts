import type { FetchLike } from '../recovery/outgoing-request.js';
import { describeUrl } from '../shared/redact.js';
import { type SecretScrubber, scrubberForRequest } from '../shared/secret-scrubber.js';
import { followSameOriginRedirects } from './same-origin-redirects.js';
import { UpstreamError, type UpstreamOptions } from './upstream.js';
import { eventReporter, type ReportEvent } from './upstream-events.js';

/** What every upstream opens with (see {@linkcode openUpstream}). */
export interface UpstreamBasics {
  /** The endpoint as messages name it: no query, no credentials. */
  readonly where: string;
  /** The credentials the upstream sends, to be removed from whatever server text it repeats. */
  readonly scrubber: SecretScrubber;
  readonly scrub: (text: string) => string;
  /** Reports through the sink, scrubbed; a sink that throws does not break the upstream. */
  readonly report: ReportEvent;
  /** The caller's fetch, following redirects within the endpoint's origin only: the credentials belong to it. */
  readonly fetch: FetchLike;
  /** Aborted when the upstream closes: background work and exchanges in flight stop. */
  readonly lifetime: AbortController;
  /** Rejects a message once the upstream is closed: it was never sent. */
  assertOpen(): void;
}

/** The opening every upstream shares, written once. */
export function openUpstream(options: UpstreamOptions): UpstreamBasics {
  const scrubber = scrubberForRequest(options.headers);
  const scrub = (text: string) => scrubber.scrub(text);
  const lifetime = new AbortController();
  return {
    where: describeUrl(options.url.href),
    scrubber,
    scrub,
    report: eventReporter(options.sink, scrub),
    fetch: followSameOriginRedirects(options.fetch),
    lifetime,
    assertOpen() {
      if (lifetime.signal.aborted) throw new UpstreamError('the connection to the server is closed', { mayHaveRun: false });
    },
  };
}
