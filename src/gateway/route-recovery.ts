import { networkErrorText } from '../errors/network-error-text.js';
import type { LifelineEvent } from '../recovery/events.js';
import { resolveOptions } from '../recovery/options.js';
import type { AnyFetch } from '../recovery/outgoing-request.js';
import { createRecoveringFetch } from '../recovery/recovering-fetch.js';
import type { NewServerSession, SessionSharing, SharedSessionState } from '../recovery/session-sharing.js';
import { redactSessionId } from '../shared/redact.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { ResolvedGatewayOptions } from './gateway-options.js';
import { type SessionStore, StoreUnreachableError } from './session-store.js';
import { createStoreSessionSharing } from './store-session-sharing.js';

// A re-initialization is initialize, initialized and the state restore, each bounded by the timeout.
const HANDSHAKE_STEPS = 3;

/** What rebuilds a session the store lost: what the request's own session id carries. */
export type SessionFallback = (
  key: string,
) => { readonly caller: string; readonly initializeParams: unknown; readonly createdAt: number } | undefined;

/**
 * The session recovery of `withSessionRecovery` under one upstream route of the gateway: it knows each client session by
 * its store key and finds the upstream session (opened by any replica, or by none yet) in the store,
 * so any replica serves any request and a lost upstream session is re-initialized once for all of
 * them. Its events go to the gateway's log and metrics.
 */
export function createRouteRecovery(
  http: AnyFetch,
  context: {
    readonly name: string;
    readonly options: ResolvedGatewayOptions;
    readonly store: SessionStore;
    readonly metrics: GatewayMetrics;
    readonly fallback: SessionFallback;
  },
): AnyFetch {
  const { name, options, store, metrics } = context;
  const { log } = options;

  function sessionSharing(): SessionSharing {
    const shared = createStoreSessionSharing({
      store,
      keyOf: (key) => key,
      fallback: context.fallback,
      recoveryTimeoutMs: HANDSHAKE_STEPS * options.timeoutMs,
      tombstoneMs: options.sessionMaxAgeMs,
      // The store's outage is logged once by the gateway; a lost write is rewritten by the next recovery.
      onError: (error) => log.debug(`store: ${networkErrorText(error)}`, { upstream: name }),
    });
    return {
      ...shared,
      load: (key, endpoint) =>
        shared.load(key, endpoint).catch((error: unknown) => {
          if (error instanceof StoreUnreachableError) throw error;
          throw new StoreUnreachableError(`the session store did not answer: ${networkErrorText(error, options.timeoutMs)}`, {
            cause: error,
          });
        }),
      async recover<T extends NewServerSession>(
        key: string,
        lost: string | undefined,
        reinitialize: (latest: SharedSessionState) => Promise<T>,
      ) {
        const outcome = await shared.recover(key, lost, reinitialize);
        // No upstream session was known for it: the store had lost the record.
        if (outcome.kind === 'reinitialized' && lost === undefined) {
          metrics.session(name, 'rebuilt');
          log.info('session rebuilt from its session id', { upstream: name, session: redactSessionId(key.slice(name.length + 1)) });
        }
        return outcome;
      },
    };
  }

  function report(event: LifelineEvent): void {
    metrics.recovery(name, event);
    switch (event.type) {
      case 'session-lost':
        log.info('upstream session lost', {
          upstream: name,
          rule: event.rule,
          status: event.status,
          request: event.rpcMethod ?? event.method,
        });
        return;
      case 'reinitialized':
        log.info('upstream session recovered', {
          upstream: name,
          ms: event.durationMs,
          session: `${event.previousSessionId}→${event.sessionId}`,
        });
        return;
      case 'session-adopted':
        log.info('upstream session adopted from another replica', {
          upstream: name,
          session: `${event.previousSessionId}→${event.sessionId}`,
        });
        return;
      case 'recovery-failed':
        // The request it failed gets the error, and the route logs it once when it answers the client.
        log.debug(event.message, { upstream: name, code: event.code });
        return;
      case 'server-unreachable':
        log.warn('upstream unreachable: requests wait for it to come back', {
          upstream: name,
          reason: event.reason,
          windowMs: event.windowMs,
        });
        return;
      case 'server-reachable':
        log.info('upstream reachable again', { upstream: name, downMs: event.downMs, tries: event.tries });
        return;
      default:
        log.debug(event.type, { upstream: name });
    }
  }

  const config = resolveOptions({
    timeout: options.timeoutMs,
    restartWindow: options.restartWindowMs,
    onEvent: (event) => report(event),
    // The middleware keeps sessions in the order it met them: leave room beyond the store's cap.
    maxSessions: options.maxRecords * 2,
    sharing: sessionSharing(),
  });
  // The route shows its clients its own session id on every answer: the middleware need not show one.
  return createRecoveringFetch(http, config, { presentsSessionIds: false });
}
