import type { SessionRecoveryErrorCode } from '../errors/error-codes.js';
import { type RequestReport, type SessionLossReport, SessionRecoveryError } from '../errors/SessionRecoveryError.js';
import { describeUrl } from '../shared/redact.js';
import { EventReporter } from './event-reporter.js';
import type { ResolvedOptions } from './options.js';
import { type AnyFetch, headerOf, headerRecord, type OutgoingRequest } from './outgoing-request.js';
import { RequestSignals } from './request-signals.js';
import type { SessionKeeper } from './session-keeper.js';
import { WatchedResponse } from './watched-response.js';

/** What a recovery that did not succeed reports: the code, the loss, why, and when to try again. */
export interface Failure {
  readonly code: SessionRecoveryErrorCode;
  readonly loss: SessionLossReport;
  /** Why, in words; scrubbed like any server text before it reaches the error. */
  readonly reason?: string | undefined;
  readonly cause?: unknown;
  /** For `CIRCUIT_OPEN`: when a request may try to re-initialize again. */
  readonly retryAt?: number | undefined;
}

/** A request sent again after a recovery: `body` replaces the original (undefined: the original as it was). */
export interface Resend {
  readonly body: string | undefined;
}

/**
 * What the parts of one middleware share: the fetch it wraps, its options, its events, and what
 * every part does with a request on a session: send it, finish its answer, or fail it.
 */
export class RecoveryContext {
  readonly next: AnyFetch;
  readonly config: ResolvedOptions;
  readonly events: EventReporter;
  /** Whether answers show the client's session id in place of the server's (see {@linkcode present}). */
  readonly presentsSessionIds: boolean;
  private lastId = 0;
  private readonly signals = new RequestSignals();

  constructor(next: AnyFetch, config: ResolvedOptions, events = new EventReporter(config.onEvent), presentsSessionIds = true) {
    this.next = next;
    this.config = config;
    this.events = events;
    this.presentsSessionIds = presentsSessionIds;
  }

  /** A JSON-RPC id no client message uses, for the middleware's own requests. */
  newId(purpose: string): string {
    this.lastId += 1;
    return `mcp-lifeline-${purpose}-${this.lastId}`;
  }

  /** Sends the request on the session's current server id (untouched when nothing needs rewriting). */
  send(keeper: SessionKeeper, request: OutgoingRequest, resend?: Resend): Promise<Response> {
    const body = resend?.body;
    const protocolVersion = keeper.protocolVersion === undefined ? null : headerOf(request.input, request.init, 'mcp-protocol-version');
    const resumes = request.method === 'GET' && headerOf(request.input, request.init, 'last-event-id') !== null;
    const stale = request.method === 'GET' && keeper.streamRequested();
    const dropEventId = resumes && (resend !== undefined || stale);
    const rewrite =
      keeper.serverId !== keeper.alias ||
      (keeper.protocolVersion !== undefined && protocolVersion !== null && protocolVersion !== keeper.protocolVersion) ||
      dropEventId ||
      body !== undefined;
    const signal = this.signals.for(request.signal);
    // Called as a plain function, never as a method of this object: a browser's fetch throws
    // "Illegal invocation" when its receiver is not the global object.
    const { next } = this;
    if (!rewrite) return next(request.input, signal === undefined ? request.init : { ...request.init, signal });

    // One plain copy of the caller's headers (a `Headers` costs a sorted copy each time it is read).
    const headers = headerRecord(request.init.headers);
    if (keeper.serverId === undefined) delete headers['mcp-session-id'];
    else headers['mcp-session-id'] = keeper.serverId;
    if (keeper.protocolVersion !== undefined && protocolVersion !== null) headers['mcp-protocol-version'] = keeper.protocolVersion;
    // An event id of the lost session means nothing to the new one (spec: ids are per session).
    if (dropEventId) delete headers['last-event-id'];
    return next(request.url, {
      ...request.init,
      method: request.method,
      headers,
      body: body ?? request.body ?? null,
      signal: signal ?? null,
    });
  }

  /** A server answer about to reach the client: the session's health noted, its id shown as the client knows it. */
  finish(keeper: SessionKeeper, request: OutgoingRequest, response: Response): Response {
    this.noteAnswer(keeper, request, response);
    return this.present(keeper, response);
  }

  /**
   * What the client is shown: the session id it got at initialize, for the life of the connection.
   * (The v1 SDK transport adopts an id from any response, v2 only from initialize; a stable id keeps
   * both consistent.)
   */
  present(keeper: SessionKeeper, response: Response): Response {
    return WatchedResponse.showing(response, this.presentedSessionId(keeper, response));
  }

  /** The session id {@linkcode present} shows instead of the server's; undefined when the answer is shown as it is. */
  presentedSessionId(keeper: SessionKeeper, response: Response): string | undefined {
    if (!this.presentsSessionIds) return undefined;
    const sent = response.headers.get('mcp-session-id');
    return sent === null || sent === keeper.alias ? undefined : keeper.alias;
  }

  /** The session's health, as a server answer shows it (the first part of {@linkcode finish}). */
  noteAnswer(keeper: SessionKeeper, request: OutgoingRequest, response: Response): void {
    if (response.ok && keeper.answered(request)) this.events.circuitClosed(request.url);
  }

  /** The error the client gets when recovery did not succeed, reported as `recovery-failed`. */
  fail(keeper: SessionKeeper, request: OutgoingRequest, failure: Failure): SessionRecoveryError {
    const report: RequestReport = { method: request.method, url: describeUrl(request.url), rpcMethod: request.messages().rpcMethod };
    const reason = failure.reason === undefined ? undefined : keeper.scrubber(request.headers())(failure.reason);
    const error = new SessionRecoveryError(
      failure.code,
      { request: report, loss: failure.loss, ...(reason === undefined ? {} : { reason }), retryAt: failure.retryAt },
      { cause: failure.cause },
    );
    this.events.recoveryFailed(error);
    return error;
  }
}
