// The one writer of a session's record. Every other part of the middleware reads a session
// through `SessionKeeper`'s readonly fields and changes it only through the named transitions
// below; the compiler holds that line (the class that writes is not exported).
import type { SessionLossReport } from '../errors/SessionRecoveryError.js';
import { noop } from '../shared/noop.js';
import { textScrubber } from '../shared/redact.js';
import { applyStateChange } from '../shared/session-state.js';
import type { Circuit } from './circuit.js';
import { credentialsTag } from './credentials-tag.js';
import type { KeepAlive } from './keep-alive.js';
import type { OutgoingRequest } from './outgoing-request.js';
import { stateChangesOf } from './session-record.js';
import type { NewServerSession, SessionSharing, SharedSessionState } from './session-sharing.js';
import type { StreamBackoff } from './stream-backoff.js';

/** Where a session stands: one of three phases, each with what only it knows. */
type SessionPhase =
  /**
   * The server session is in use. `proven`: it has answered successfully at least once. A session a
   * recovery opened that is rejected before it ever answered shows a server that keeps failing (issue 9).
   */
  | { readonly kind: 'live'; readonly proven: boolean }
  /**
   * A re-initialization is under way (`flight`, shared by every request that waits for it). `loss`:
   * what the latest request that met the lost session was answered.
   */
  | { readonly kind: 'recovering'; readonly flight: Promise<void>; readonly loss: SessionLossReport }
  /**
   * The server lost the session and nothing has replaced it yet: the next request re-initializes
   * before it is sent. `loss`: what the server answered (undefined when the session came from the
   * shared store without a server session); `failure`: why the last re-initialization failed, when it did.
   */
  | { readonly kind: 'dead'; readonly loss: SessionLossReport | undefined; readonly failure: unknown };

/** No credentials are known to have been accepted on the session (another process opened it). */
const NONE_ACCEPTED = Symbol('none accepted');

// Shared phase objects: the hot path (a successful answer) changes the phase without allocating.
const LIVE_PROVEN: SessionPhase = Object.freeze({ kind: 'live', proven: true });
const LIVE_UNPROVEN: SessionPhase = Object.freeze({ kind: 'live', proven: false });

/** What a new keeper starts from. */
export interface SessionStart {
  /** The id the client got at `initialize`: stable for the life of the connection. */
  readonly alias: string;
  /** The MCP endpoint (URL without fragment). */
  readonly endpoint: string;
  /** The client's own `initialize` params, replayed to open a new session. */
  readonly initializeParams: unknown;
  /** Stops re-initializing a server that keeps failing; shared by every session on the endpoint. */
  readonly circuit: Circuit;
  /** Holds back the client's GET stream while it keeps failing. */
  readonly stream: StreamBackoff;
  /** The headers of the client's initialize (credentials for the middleware's own pings). */
  readonly headerSource?: RequestInit['headers'];
  /** Where accepted changes of session state are reported, when sessions are shared. */
  readonly sharing?: SessionSharing | undefined;
  /** Starts the session's keep-alive (option `keepAlive`); undefined when it is off. */
  readonly keepAlive?: ((keeper: SessionKeeper) => KeepAlive) | undefined;
  /** The session as the shared store knows it (another process opened it): its server session, its state. */
  readonly shared?: SharedSessionState | undefined;
}

/** The circuit as a session's readers see it: they may ask, only the keeper changes it. */
type CircuitView = Pick<Circuit, 'failures' | 'blocked'>;

/**
 * One MCP session as the client knows it, and the only code that changes it. The client keeps the
 * id it got at `initialize` (the alias) for the life of the connection; the keeper maps it to the
 * server's current session, tracks the session's phase, and holds what a re-initialization needs.
 */
export interface SessionKeeper {
  readonly alias: string;
  readonly endpoint: string;
  readonly initializeParams: unknown;
  readonly phase: SessionPhase;
  /** The server's current id for this session; undefined once the server stopped issuing ids. */
  readonly serverId: string | undefined;
  /** Protocol version negotiated by the latest re-initialization, if it differs from the client's. */
  readonly protocolVersion: string | undefined;
  /** Re-initializations started so far. A request compares it with its value when sent. */
  readonly attempts: number;
  /** Last `logging/setLevel` level the server accepted. */
  readonly logLevel: string | undefined;
  /** Resource URIs subscribed and not since unsubscribed. */
  readonly subscriptions: ReadonlySet<string>;
  /** GET answered 404 while the session was alive: the server has no SSE stream (a 405 in disguise). */
  readonly getUnsupported: boolean;
  /** When the session last had a successful exchange (for the keep-alive), milliseconds since the epoch. */
  readonly lastSuccessAt: number;
  /** The headers of the client's latest request (credentials for the middleware's own pings). */
  readonly headerSource: RequestInit['headers'];
  /**
   * The abort signal the client's requests share, when they share one: the SDK transports pass one
   * for the life of the connection and abort it when they close. Undefined while requests come
   * with signals of their own (a per-request bound says nothing about the client).
   */
  readonly clientSignal: AbortSignal | undefined;
  /** Whether the session is kept alive with pings (option `keepAlive`). */
  readonly keepsAlive: boolean;
  readonly circuit: CircuitView;

  /** The client sent a request: its headers and signal are noted (for the keep-alive's pings), pinging resumes. */
  clientSent(request: OutgoingRequest): void;
  /**
   * The server answered `request` successfully: the session is proven, the state the request
   * changed is recorded (and shared). Returns true when this closed an open circuit.
   */
  answered(request: OutgoingRequest): boolean;
  /** The server answered something (the client's own initialize): returns true when this closed an open circuit. */
  serverAnswered(): boolean;
  /**
   * Whether the session accepted the credentials in `headers`: its last successful answer (or the
   * initialize that opened it) came with the same ones. A 401 to them shows the session is gone.
   */
  credentialsAccepted(headers: Headers): boolean;
  /** A keep-alive ping sent at attempt `sentAt` was answered. */
  pingAnswered(sentAt: number): void;
  /**
   * A request sent at attempt `sentAt` met a certain loss: the session is dead, unless a recovery
   * started since then (the request shares it) or is under way.
   */
  lostAt(sentAt: number, loss: SessionLossReport): void;
  /**
   * A request sent at attempt `sentAt`, at `sentTime`, met a loss: the idle time before it bounds the
   * server's idle timeout, for the keep-alive (unless a recovery started since then).
   */
  idledOut(sentAt: number, sentTime: number): void;
  /** A recovery starts (`start` opens the new session); returns its flight. Never while one is under way. */
  recoveryStarted(loss: SessionLossReport, start: () => Promise<void>): Promise<void>;
  /** Another request met the loss while a recovery is under way: it shares the flight. Only while one is. */
  recoveryJoined(loss: SessionLossReport): Promise<void>;
  /** The freshest shared state (log level, subscriptions), taken before re-initializing with it. */
  tookSharedState(state: SharedSessionState): void;
  /** The recovery opened a new server session; its initialize was accepted with `credentials` (the headers it carried). */
  replaced(session: NewServerSession, credentials?: Headers): void;
  /** Another process had already replaced the lost session: this one uses it. */
  adopted(state: SharedSessionState): void;
  /** The recovery failed: the next request re-initializes (or shares this failure, if sent before it). */
  recoveryFailed(failure: unknown): void;
  /** The circuit refused to re-initialize: the session stays (or becomes) dead. */
  circuitRefused(loss: SessionLossReport): void;
  /** A recovery counted against the server; returns when this (re)opened the circuit. */
  circuitFailed(cause: string, now: number): ReturnType<Circuit['failed']>;
  /** A GET goes out: whether its `Last-Event-ID` names an event of a lost session (true once after each replacement). */
  streamRequested(): boolean;
  /** Waits until the next GET may go; undefined when not backing off. */
  streamHeld(signal: AbortSignal | undefined): Promise<void> | undefined;
  /** A GET stream failed. */
  streamFailed(now: number): ReturnType<StreamBackoff['failed']>;
  /** A GET stream worked (delivered a message or stayed open). */
  streamWorked(): void;
  /** The session answered a ping while its GET got a 404: it offers no stream. */
  streamUnsupported(): void;
  /** The session was ended or forgotten: its keep-alive stops for good. */
  ended(): void;
  /**
   * What the middleware may repeat of a server's text about this session: the values of `headers`
   * redacted, the session's ids (and `otherId`) shortened.
   */
  scrubber(headers: Headers | undefined, otherId?: string): (text: string) => string;
}

/** Creates the keeper of one session, live on `start.alias` (or as the shared store knows it). */
export function keepSession(start: SessionStart): SessionKeeper {
  return new Keeper(start);
}

class Keeper implements SessionKeeper {
  readonly alias: string;
  readonly endpoint: string;
  readonly initializeParams: unknown;
  phase: SessionPhase = LIVE_PROVEN;
  serverId: string | undefined;
  protocolVersion: string | undefined = undefined;
  attempts = 0;
  logLevel: string | undefined = undefined;
  readonly subscriptions = new Set<string>();
  getUnsupported = false;
  lastSuccessAt = Date.now();
  headerSource: RequestInit['headers'];
  clientSignal: AbortSignal | undefined = undefined;
  readonly circuit: Circuit;
  // After a recovery, the client's next `Last-Event-ID` names an event of the lost session.
  private staleEventId = false;
  private lastSignal: AbortSignal | undefined = undefined;
  private readonly stream: StreamBackoff;
  private readonly sharing: SessionSharing | undefined;
  private readonly keepAlive: KeepAlive | undefined;
  // The headers of the last request the session answered successfully (a reference, no copy: the
  // hot path stays free of allocations); their credentials are compared only when a 401 comes.
  private acceptedHeaders: RequestInit['headers'] | typeof NONE_ACCEPTED;

  constructor(start: SessionStart) {
    this.alias = start.alias;
    this.endpoint = start.endpoint;
    this.initializeParams = start.initializeParams;
    this.serverId = start.alias;
    this.headerSource = start.headerSource;
    this.acceptedHeaders = start.headerSource;
    this.circuit = start.circuit;
    this.stream = start.stream;
    this.sharing = start.sharing;
    this.keepAlive = start.keepAlive?.(this);
    const { shared } = start;
    if (shared !== undefined) {
      this.acceptedHeaders = NONE_ACCEPTED;
      this.serverId = shared.serverId;
      this.protocolVersion = shared.protocolVersion;
      this.tookSharedState(shared);
      if (shared.serverId === undefined) this.phase = { kind: 'dead', loss: undefined, failure: undefined };
    }
  }

  get keepsAlive(): boolean {
    return this.keepAlive !== undefined;
  }

  clientSent(request: OutgoingRequest): void {
    if (this.keepAlive === undefined) return;
    this.headerSource = request.init.headers;
    this.clientSignal = request.signal === this.lastSignal ? request.signal : undefined;
    this.lastSignal = request.signal;
    this.keepAlive.resume();
  }

  answered(request: OutgoingRequest): boolean {
    const changes = stateChangesOf(request);
    if (changes !== undefined) {
      for (const change of changes) {
        applyStateChange(this, change);
        this.sharing?.changed(this.alias, change);
      }
    }
    if (this.phase === LIVE_UNPROVEN) this.phase = LIVE_PROVEN;
    if (this.keepAlive !== undefined) this.lastSuccessAt = Date.now();
    this.acceptedHeaders = request.init.headers;
    return this.serverAnswered();
  }

  serverAnswered(): boolean {
    return this.circuit.failures !== 0 && this.circuit.succeeded();
  }

  credentialsAccepted(headers: Headers): boolean {
    const accepted = this.acceptedHeaders;
    if (accepted === NONE_ACCEPTED) return false;
    return credentialsTag(accepted instanceof Headers ? accepted : new Headers(accepted ?? undefined)) === credentialsTag(headers);
  }

  pingAnswered(sentAt: number): void {
    if (this.attempts === sentAt) this.lastSuccessAt = Date.now();
  }

  lostAt(sentAt: number, loss: SessionLossReport): void {
    const { phase } = this;
    if (this.attempts !== sentAt || phase.kind === 'recovering') return;
    this.phase = { kind: 'dead', loss, failure: phase.kind === 'dead' ? phase.failure : undefined };
  }

  idledOut(sentAt: number, sentTime: number): void {
    if (this.attempts === sentAt) this.keepAlive?.learned(sentTime - this.lastSuccessAt);
  }

  recoveryStarted(loss: SessionLossReport, start: () => Promise<void>): Promise<void> {
    if (this.phase.kind === 'recovering') throw new Error('mcp-lifeline: a recovery is already under way (internal error)');
    this.attempts += 1;
    const flight = start();
    // Waiters may all have given up (aborted): the flight's failure is still handled here.
    flight.catch(noop);
    this.phase = { kind: 'recovering', flight, loss };
    return flight;
  }

  recoveryJoined(loss: SessionLossReport): Promise<void> {
    const { phase } = this;
    if (phase.kind !== 'recovering') throw new Error('mcp-lifeline: no recovery to join (internal error)');
    this.phase = { kind: 'recovering', flight: phase.flight, loss };
    return phase.flight;
  }

  tookSharedState(state: SharedSessionState): void {
    this.logLevel = state.logLevel;
    this.subscriptions.clear();
    for (const uri of state.subscriptions) this.subscriptions.add(uri);
  }

  replaced(session: NewServerSession, credentials?: Headers): void {
    if (this.phase.kind !== 'recovering') return;
    this.acceptedHeaders = credentials ?? NONE_ACCEPTED;
    this.serverId = session.sessionId;
    this.protocolVersion = session.protocolVersion;
    this.phase = LIVE_UNPROVEN;
    this.staleEventId = true;
    this.lastSuccessAt = Date.now();
  }

  adopted(state: SharedSessionState): void {
    if (this.phase.kind !== 'recovering') return;
    this.tookSharedState(state);
    // Another process opened it, with its caller's credentials: none are known accepted here.
    this.replaced({ sessionId: state.serverId, protocolVersion: state.protocolVersion });
  }

  recoveryFailed(failure: unknown): void {
    const { phase } = this;
    if (phase.kind !== 'recovering') return;
    this.phase = { kind: 'dead', loss: phase.loss, failure };
  }

  circuitRefused(loss: SessionLossReport): void {
    const { phase } = this;
    if (phase.kind === 'recovering') return;
    this.phase = { kind: 'dead', loss, failure: phase.kind === 'dead' ? phase.failure : undefined };
  }

  circuitFailed(cause: string, now: number): ReturnType<Circuit['failed']> {
    return this.circuit.failed(cause, now);
  }

  streamRequested(): boolean {
    const stale = this.staleEventId;
    this.staleEventId = false;
    return stale;
  }

  streamHeld(signal: AbortSignal | undefined): Promise<void> | undefined {
    return this.stream.hold(signal);
  }

  streamFailed(now: number): ReturnType<StreamBackoff['failed']> {
    return this.stream.failed(now);
  }

  streamWorked(): void {
    this.stream.succeeded();
  }

  streamUnsupported(): void {
    this.getUnsupported = true;
  }

  ended(): void {
    this.keepAlive?.stop();
  }

  scrubber(headers: Headers | undefined, otherId?: string): (text: string) => string {
    return textScrubber(headers, otherId === undefined ? [this.alias, this.serverId] : [this.alias, this.serverId, otherId]);
  }
}
