// Single-flight recovery: a lost session is re-initialized once for every request that met it,
// in this process (the keeper's flight) and across processes (option `sharing`, whose store holds
// the lock). A request sent before an attempt began shares that attempt's outcome, success or
// failure, so a late answer from the lost session neither replaces the new session nor retries a
// failed one.

import { networkErrorText } from '../errors/network-error-text.js';
import type { SessionLossReport } from '../errors/SessionRecoveryError.js';
import { abortable } from '../shared/abortable.js';
import { noop } from '../shared/noop.js';
import type { Attempt } from './attempt.js';
import type { OutgoingRequest } from './outgoing-request.js';
import { sendOwnRequest } from './own-request.js';
import type { RecoveryContext } from './recovery-context.js';
import { HandshakeFailure, type HandshakeResult, reinitialize } from './reinitialize.js';
import type { SessionKeeper } from './session-keeper.js';
import type { SharedRecovery } from './session-sharing.js';

/** What a re-initialization opens the new session with, and restores on it. */
interface RestorableState {
  readonly initializeParams: unknown;
  readonly logLevel: string | undefined;
  readonly subscriptions: Iterable<string>;
}

/** Why a session given up on is ended. */
type AbandonReason = 'rejected-at-once' | 'handshake-failed';

/** Re-initializes lost sessions, once per loss, and stops (the circuit) when the server keeps failing. */
export class RecoveryFlight {
  private readonly context: RecoveryContext;

  constructor(context: RecoveryContext) {
    this.context = context;
  }

  /** The session is dead or being replaced: re-initialize (or wait for it) before sending, unless the circuit says not now. */
  beforeSending(keeper: SessionKeeper, request: OutgoingRequest): Promise<void> {
    const { phase } = keeper;
    const loss = (phase.kind === 'live' ? undefined : phase.loss) ?? unknownLoss();
    return this.recover(keeper, request, { sentAt: keeper.attempts, loss });
  }

  /**
   * Re-initializes once for every request that met the same lost session. `met.sentAt`: the
   * keeper's attempt count when the request was sent; `met.loss`: what the server answered it.
   */
  async recover(keeper: SessionKeeper, request: OutgoingRequest, met: { sentAt: number; loss: SessionLossReport }): Promise<void> {
    const { context } = this;
    const { loss } = met;
    const { phase } = keeper;
    if (phase.kind !== 'recovering' && keeper.attempts > met.sentAt) {
      // A recovery started after this request was sent, and is over: its outcome is this request's.
      if (phase.kind === 'live') return;
      throw context.fail(keeper, request, {
        code: 'REINITIALIZE_FAILED',
        loss,
        reason: networkErrorText(phase.failure, context.config.timeout),
        cause: phase.failure,
      });
    }
    let flight: Promise<void>;
    if (phase.kind === 'recovering') {
      flight = keeper.recoveryJoined(loss);
    } else {
      const blocked = keeper.circuit.blocked(Date.now());
      if (blocked !== undefined) {
        keeper.circuitRefused(loss);
        const seconds = Math.max(1, Math.ceil((blocked.retryAt - Date.now()) / 1000));
        throw context.fail(keeper, request, {
          code: 'CIRCUIT_OPEN',
          loss,
          reason:
            `the last ${keeper.circuit.failures} attempts to re-initialize failed (${blocked.cause}); ` +
            `the next one may start in ${seconds} s, at ${new Date(blocked.retryAt).toISOString()}`,
          retryAt: blocked.retryAt,
        });
      }
      flight = keeper.recoveryStarted(loss, () => this.start(keeper, request));
    }
    try {
      await abortable(flight, request.signal);
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw context.fail(keeper, request, {
        code: 'REINITIALIZE_FAILED',
        loss,
        reason: networkErrorText(error, context.config.timeout),
        cause: error,
      });
    }
  }

  /**
   * A call that already went through a recovery met a loss again: the session is marked dead (the
   * next request re-initializes) and, when it was a new session that never answered, it is ended
   * and counted against the server.
   */
  rejectedAtOnce(attempt: Attempt, loss: SessionLossReport): void {
    const { keeper, request } = attempt;
    if (keeper.attempts !== attempt.sentAt || keeper.phase.kind !== 'live') return;
    keeper.lostAt(attempt.sentAt, loss);
    if (!attempt.unproven) return;
    if (attempt.serverId !== undefined) {
      this.abandon(keeper, { url: request.url, headers: request.headers(), sessionId: attempt.serverId, reason: 'rejected-at-once' });
    }
    this.circuitFailed(keeper, request.url, `a new session was rejected at once: ${againText(loss)}`);
  }

  /** Opens the new session: here, or through the shared store (once across processes). */
  private start(keeper: SessionKeeper, request: OutgoingRequest): Promise<void> {
    const { context } = this;
    const { config, events } = context;
    const started = Date.now();
    const previous = keeper.serverId;
    const headers = request.headers();
    let handshakeFailed = false;
    const handshake = (state: RestorableState) =>
      reinitialize({
        next: context.next,
        url: request.url,
        headers,
        initializeParams: state.initializeParams,
        timeout: config.timeout,
        newId: (purpose) => context.newId(purpose),
        restore: config.restoreState ? { logLevel: state.logLevel, subscriptions: [...state.subscriptions] } : undefined,
        scrub: keeper.scrubber(headers),
      }).catch((error: unknown) => {
        handshakeFailed = true;
        throw error;
      });
    const { sharing } = config;
    const recovery: Promise<SharedRecovery<HandshakeResult>> =
      sharing === undefined
        ? handshake(keeper).then((result) => ({ kind: 'reinitialized', result }))
        : // Once across the processes: the one that takes the store's lock re-initializes with the
          // freshest shared state; the others adopt the session it opened.
          sharing.recover(keeper.alias, previous, (latest) => {
            keeper.tookSharedState(latest);
            return handshake(latest);
          });
    return recovery.then(
      (outcome) => {
        if (outcome.kind === 'adopted') {
          keeper.adopted(outcome.state);
          events.sessionAdopted(request.url, { previous, serverId: outcome.state.serverId });
          return;
        }
        keeper.replaced(outcome.result, headers);
        events.reinitialized(request.url, { previous, result: outcome.result, started });
      },
      (error: unknown) => {
        keeper.recoveryFailed(error);
        if (error instanceof HandshakeFailure && error.openedSessionId !== undefined) {
          this.abandon(keeper, { url: request.url, headers, sessionId: error.openedSessionId, reason: 'handshake-failed' });
        }
        // A shared recovery may fail without the server (the session ended elsewhere, the store): only the handshake counts.
        if (handshakeFailed && countsAgainstServer(error)) this.circuitFailed(keeper, request.url, networkErrorText(error, config.timeout));
        throw error;
      },
    );
  }

  private circuitFailed(keeper: SessionKeeper, url: string, cause: string): void {
    const opened = keeper.circuitFailed(cause, Date.now());
    if (opened !== undefined) this.context.events.circuitOpen(url, { failures: opened.failures, retryAt: opened.retryAt, cause });
  }

  /**
   * Ends a session the middleware opened and gave up on (DELETE, bounded by `timeout`, not
   * awaited): a server behind a load balancer may still hold it (issue 9: 20 calls left 39).
   */
  private abandon(keeper: SessionKeeper, session: { url: string; headers: Headers; sessionId: string; reason: AbandonReason }): void {
    const { context } = this;
    const headers = new Headers(session.headers);
    for (const name of ['content-type', 'content-length', 'last-event-id', 'mcp-method', 'mcp-name']) headers.delete(name);
    headers.set('mcp-session-id', session.sessionId);
    if (keeper.protocolVersion !== undefined) headers.set('mcp-protocol-version', keeper.protocolVersion);
    context.events.sessionAbandoned(session.url, { sessionId: session.sessionId, reason: session.reason });
    sendOwnRequest(context.next, session.url, { method: 'DELETE', headers, signal: AbortSignal.timeout(context.config.timeout) })
      .then((response) => response.body?.cancel())
      .catch(noop);
  }
}

/** A loss met again after a recovery, in words for errors. */
export function againText(loss: SessionLossReport): string {
  return `HTTP ${loss.status} (rule ${loss.rule}) "${loss.serverMessage.slice(0, 120)}"`;
}

/**
 * Whether a failed recovery counts towards the circuit: the server took part and failed. A refused
 * connection or an unknown host costs the server nothing (a restarting server is retried as soon
 * as it listens again), and a 401/403 is for the client's credentials, not for the circuit.
 */
function countsAgainstServer(error: unknown): boolean {
  if (error instanceof HandshakeFailure) {
    const status = error.response?.status;
    if (status === 401 || status === 403) return false;
  }
  const text = networkErrorText(error);
  return !/\((?:ECONNREFUSED|ENOTFOUND|EAI_AGAIN)\)/.test(text);
}

function unknownLoss(): SessionLossReport {
  return { rule: 'unknown', status: 0, serverMessage: '' };
}
