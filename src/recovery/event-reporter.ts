// Every event the middleware reports is built here, in one place: URLs lose their query and
// credentials, session ids are shortened, and server text arrives already scrubbed. A listener
// that throws never fails the client's request; without a listener, no event is even built.
import type { SessionLossReport, SessionRecoveryError } from '../errors/SessionRecoveryError.js';
import { describeUrl, redactSessionId } from '../shared/redact.js';
import type { KeepAliveEvent, LifelineEvent, LossNotConfirmedEvent, MessageDroppedEvent, SessionAbandonedEvent } from './events.js';
import type { HandshakeResult } from './reinitialize.js';

/** The request an event is about: its URL, method and JSON-RPC method. */
export interface RequestLike {
  readonly url: string;
  readonly method: string;
  messages(): { readonly rpcMethod: string | undefined };
}

type Listener = (event: LifelineEvent) => void;

/** Builds and delivers the middleware's {@linkcode LifelineEvent}s. */
export class EventReporter {
  private readonly listener: Listener | undefined;

  constructor(listener: Listener | undefined) {
    this.listener = listener;
  }

  /** A loss is certain (`knownBy`: the answer proved it, or a ping confirmed it). */
  sessionLost(request: RequestLike, seen: { loss: SessionLossReport; knownBy: 'answer' | 'ping'; serverId: string | undefined }): void {
    if (this.listener === undefined) return;
    const { loss } = seen;
    this.emit({
      type: 'session-lost',
      url: describeUrl(request.url),
      time: Date.now(),
      rule: loss.rule,
      knownBy: seen.knownBy,
      status: loss.status,
      method: request.method,
      rpcMethod: request.messages().rpcMethod,
      sessionId: redactSessionId(seen.serverId),
      serverMessage: loss.serverMessage,
    });
  }

  /** An answer read like a loss, and the session's ping did not confirm it. */
  lossNotConfirmed(
    request: RequestLike,
    seen: { loss: SessionLossReport; serverId: string | undefined; outcome: LossNotConfirmedEvent['outcome']; reason: string | undefined },
  ): void {
    if (this.listener === undefined) return;
    const { loss } = seen;
    this.emit({
      type: 'loss-not-confirmed',
      url: describeUrl(request.url),
      time: Date.now(),
      rule: loss.rule,
      status: loss.status,
      method: request.method,
      rpcMethod: request.messages().rpcMethod,
      sessionId: redactSessionId(seen.serverId),
      serverMessage: loss.serverMessage,
      outcome: seen.outcome,
      reason: seen.reason,
    });
  }

  /** A re-initialization opened a new session (and restored state on it, when there was any). */
  reinitialized(url: string, change: { previous: string | undefined; result: HandshakeResult; started: number }): void {
    if (this.listener === undefined) return;
    const { result } = change;
    const described = describeUrl(url);
    const time = Date.now();
    const sessionId = redactSessionId(result.sessionId);
    this.emit({
      type: 'reinitialized',
      url: described,
      time,
      previousSessionId: redactSessionId(change.previous),
      sessionId,
      durationMs: time - change.started,
      protocolVersion: result.protocolVersion,
      serverInfo: result.serverInfo,
      capabilities: result.capabilities,
    });
    const restored = result.restored;
    if (restored !== undefined && (restored.logLevel !== undefined || restored.subscriptions > 0)) {
      this.emit({ type: 'state-restored', url: described, time, sessionId, ...restored });
    }
  }

  /** Another process had already replaced the lost session: this one uses it. */
  sessionAdopted(url: string, change: { previous: string | undefined; serverId: string | undefined }): void {
    if (this.listener === undefined) return;
    this.emit({
      type: 'session-adopted',
      url: describeUrl(url),
      time: Date.now(),
      previousSessionId: redactSessionId(change.previous),
      sessionId: redactSessionId(change.serverId),
    });
  }

  /** The request was sent again on the new session; `status` is its answer's. */
  replayed(request: RequestLike, answer: { serverId: string | undefined; status: number }): void {
    if (this.listener === undefined) return;
    this.emit({
      type: 'replayed',
      url: describeUrl(request.url),
      time: Date.now(),
      method: request.method,
      rpcMethod: request.messages().rpcMethod,
      sessionId: redactSessionId(answer.serverId),
      status: answer.status,
    });
  }

  /** A message was answered here instead of replayed: it belonged to the lost session. */
  messageDropped(url: string, reason: MessageDroppedEvent['reason']): void {
    if (this.listener === undefined) return;
    this.emit({ type: 'message-dropped', url: describeUrl(url), time: Date.now(), reason });
  }

  /** A request's SSE answer broke or ended before its answer; the client was answered with an error. */
  streamBroken(request: RequestLike, ending: { how: 'broke' | 'ended'; error: string }): void {
    if (this.listener === undefined) return;
    this.emit({
      type: 'stream-broken',
      url: describeUrl(request.url),
      time: Date.now(),
      method: request.method,
      rpcMethod: request.messages().rpcMethod,
      how: ending.how,
      error: ending.error,
    });
  }

  /** The client got a {@linkcode SessionRecoveryError}. */
  recoveryFailed(error: SessionRecoveryError): void {
    if (this.listener === undefined) return;
    const { request } = error;
    this.emit({
      type: 'recovery-failed',
      url: request.url,
      time: Date.now(),
      method: request.method,
      rpcMethod: request.rpcMethod,
      code: error.code,
      message: error.message,
    });
  }

  /** The client's GET stream keeps failing: it is held back. */
  streamBackoff(url: string, backoff: { serverId: string | undefined; failures: number; delayMs: number; reason: string }): void {
    if (this.listener === undefined) return;
    this.emit({
      type: 'stream-backoff',
      url: describeUrl(url),
      time: Date.now(),
      sessionId: redactSessionId(backoff.serverId),
      failures: backoff.failures,
      delayMs: backoff.delayMs,
      reason: backoff.reason,
    });
  }

  /** Re-initialization stops until `retryAt`. */
  circuitOpen(url: string, opened: { failures: number; retryAt: number; cause: string }): void {
    if (this.listener === undefined) return;
    this.emit({ type: 'circuit-open', url: describeUrl(url), time: Date.now(), ...opened });
  }

  /** The server answered again: re-initialization may start at once. */
  circuitClosed(url: string): void {
    if (this.listener === undefined) return;
    this.emit({
      type: 'circuit-closed',
      url: describeUrl(url),
      time: Date.now(),
      failures: 0,
      retryAt: undefined,
      cause: 'the server answered',
    });
  }

  /** A session the middleware opened and gave up on is being ended. */
  sessionAbandoned(url: string, session: { sessionId: string; reason: SessionAbandonedEvent['reason'] }): void {
    if (this.listener === undefined) return;
    this.emit({
      type: 'session-abandoned',
      url: describeUrl(url),
      time: Date.now(),
      sessionId: redactSessionId(session.sessionId),
      reason: session.reason,
    });
  }

  /** The keep-alive learned a bound of the server's idle timeout, or started with an interval. */
  keepAlive(
    url: string,
    change: { serverId: string | undefined } & Pick<KeepAliveEvent, 'boundMs' | 'intervalMs' | 'source' | 'idleMs'>,
  ): void {
    if (this.listener === undefined) return;
    const { serverId, ...interval } = change;
    this.emit({ type: 'keepalive', url: describeUrl(url), time: Date.now(), sessionId: redactSessionId(serverId), ...interval });
  }

  /** A keep-alive ping got no answer that tells. */
  keepAliveFailed(url: string, failure: { serverId: string | undefined; reason: string }): void {
    if (this.listener === undefined) return;
    this.emit({
      type: 'keepalive-failed',
      url: describeUrl(url),
      time: Date.now(),
      sessionId: redactSessionId(failure.serverId),
      reason: failure.reason,
    });
  }

  /** Requests to the server at `origin` could not be delivered: they wait for it (once per outage). */
  serverUnreachable(origin: string, outage: { reason: string; windowMs: number }): void {
    if (this.listener === undefined) return;
    this.emit({ type: 'server-unreachable', url: origin, time: Date.now(), ...outage });
  }

  /** The server at `origin` answered again after an outage. */
  serverReachable(origin: string, outage: { downMs: number; tries: number }): void {
    if (this.listener === undefined) return;
    this.emit({ type: 'server-reachable', url: origin, time: Date.now(), ...outage });
  }

  private emit(event: LifelineEvent): void {
    try {
      this.listener?.(event);
    } catch {
      // A listener's failure must not fail the client's request.
    }
  }
}
