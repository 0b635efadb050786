import { networkErrorText } from '../errors/network-error-text.js';
import type { AnyFetch } from '../recovery/outgoing-request.js';
import { WatchedResponse } from '../recovery/watched-response.js';
import { noop } from '../shared/noop.js';
import { readWholeBody } from '../shared/read-whole-body.js';
import type { GatewayLog } from './gateway-options.js';
import type { SessionStore } from './session-store.js';
import { sharedDeadline } from './shared-deadline.js';
import { type RequestHeaders, withSession } from './upstream-headers.js';

// What of a DELETE's answer is read rather than cancelled.
const DISCARDED_BODY_BYTES = 4096;
// Upstream sessions ended at once at shutdown: a gateway may hold thousands, the upstream should not see them all at once.
const SHUTDOWN_DELETES_AT_ONCE = 8;

/**
 * DELETE of an upstream session, bounded by `deadline`'s signal (a {@linkcode sharedDeadline}): the
 * upstream's answer (its body discarded), or the error that stopped it. Never throws: the session
 * is over for the client whatever the upstream says.
 */
export async function deleteUpstreamSession(
  http: AnyFetch,
  request: { readonly url: string; readonly headers: RequestHeaders; readonly serverId: string; readonly deadline: () => AbortSignal },
): Promise<Response | Error> {
  try {
    const answer = await http(request.url, {
      method: 'DELETE',
      headers: withSession(request.headers, request.serverId),
      signal: request.deadline(),
      redirect: 'manual',
    });
    // Read to its end when it is small (an empty body, usually): cancelling an exchange costs an
    // error and its stack. Chunk by chunk from the HTTP client: a web stream for a body nobody reads
    // would cost as much as the rest of the DELETE's answer.
    await readWholeBody(answer, DISCARDED_BODY_BYTES, WatchedResponse.readerOf).catch(noop);
    return answer;
  } catch (error) {
    return error as Error;
  }
}

/**
 * DELETE of an upstream session through {@linkcode deleteUpstreamSession}, with what the upstream
 * answered logged when it did not end it; the session is over for the client whatever the answer.
 */
export async function endUpstreamSession(
  http: AnyFetch,
  request: Parameters<typeof deleteUpstreamSession>[1],
  report: { readonly log: GatewayLog; readonly upstream: string; readonly timeoutMs: number },
): Promise<void> {
  const answer = await deleteUpstreamSession(http, request);
  // 405: the server does not let clients end sessions; 404: it had forgotten it already.
  if (answer instanceof Response && answer.ok) return;
  const said = answer instanceof Response ? `HTTP ${answer.status}` : networkErrorText(answer, report.timeoutMs);
  const level = answer instanceof Response && (answer.status === 404 || answer.status === 405) ? 'debug' : 'warn';
  report.log[level]('the upstream did not end its session (it stays open there until it expires)', {
    upstream: report.upstream,
    answer: said,
  });
}

/**
 * Ends the upstream session of every record in `store` under `prefix` (one route's), a few at a
 * time; resolves with how many the upstream confirmed.
 */
export async function endStoredSessions(
  http: AnyFetch,
  store: SessionStore,
  route: { readonly prefix: string; readonly url: string; readonly headers: RequestHeaders; readonly timeoutMs: number },
): Promise<number> {
  const keys = (await store.keys()).filter((key) => key.startsWith(route.prefix));
  const deadline = sharedDeadline(route.timeoutMs);
  let count = 0;
  for (let index = 0; index < keys.length; index += SHUTDOWN_DELETES_AT_ONCE) {
    await Promise.all(
      keys.slice(index, index + SHUTDOWN_DELETES_AT_ONCE).map(async (key) => {
        const serverId = (await store.get(key))?.serverId;
        if (serverId === undefined) return;
        const answer = await deleteUpstreamSession(http, { url: route.url, headers: route.headers, serverId, deadline });
        if (answer instanceof Response && answer.ok) count += 1;
      }),
    );
  }
  return count;
}
