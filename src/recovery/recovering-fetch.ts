import { classifySessionLoss, type SessionLossVerdict } from '../classifier/classify-session-loss.js';
import { mediaType } from '../classifier/server-message.js';
import { hasSessionLossWording } from '../classifier/wording.js';
import type { LifelineErrorCode } from '../errors/LifelineError.js';
import { networkErrorText } from '../errors/network-error-text.js';
import { type RequestReport, type SessionLossReport, SessionRecoveryError } from '../errors/SessionRecoveryError.js';
import { checkJsonOnRead } from './check-json-on-read.js';
import { type Circuit, createCircuit } from './circuit.js';
import { EventReporter, type RequestLike } from './event-reporter.js';
import { startKeepAlive } from './keep-alive.js';
import type { ResolvedOptions } from './options.js';
import {
  type AnyFetch,
  bodyText,
  type FetchInput,
  fromRequestInput,
  headerOf,
  isRequestInput,
  isResponse,
  type JsonRpcId,
  type OutgoingRequest,
  type RequestBody,
  toOutgoingRequest,
} from './outgoing-request.js';
import { sendOwnRequest } from './own-request.js';
import { pingSession, type SessionCheck } from './ping-session.js';
import { readPrefix } from './read-prefix.js';
import { describeUrl } from './redact.js';
import { HandshakeFailure, type HandshakeResult, reinitialize } from './reinitialize.js';
import { keepSession, type SessionKeeper } from './session-keeper.js';
import { createSessionTable, endpointOf, initializeParamsOf } from './session-record.js';
import type { SessionSharing, SharedRecovery, SharedSessionState } from './session-sharing.js';
import { sseReplacement } from './sse-replacement.js';
import { createStreamBackoff } from './stream-backoff.js';
import { type AnsweredRequests, type SseWatch, type StreamEnding, watchSseResponse } from './watch-sse-response.js';
import { readAllText, WatchedResponse } from './watched-response.js';

type Lost = SessionLossVerdict & { lost: true };
type KnownBy = 'answer' | 'ping';

/** A non-2xx answer, classified; its body is still there to deliver (`rebuild`) or to drop (`discard`). */
type Classified =
  | { readonly lost: false; readonly response: Response }
  | {
      readonly lost: true;
      readonly verdict: Lost;
      readonly status: number;
      readonly rebuild: () => Response;
      readonly discard: () => Promise<void>;
    };

/** One sending of a request: what it was sent on, so its answer is judged against that session. */
interface Attempt {
  /** The record's attempt count when sent: a recovery started since then is shared, not repeated. */
  readonly sentAt: number;
  /** The server session id it went to. */
  readonly serverId: string | undefined;
  /** The call went through a recovery before this sending: it gets no second one. */
  readonly fresh: boolean;
  /** It went to a session a recovery opened that had not answered yet. */
  readonly unproven: boolean;
  /** Milliseconds since the epoch. */
  readonly time: number;
}

const noop = () => {};
// A session error has "error", "detail" or "message" in it: any other answer passes unparsed.
const MAY_NAME_AN_ERROR = /"(?:error|detail|message)"/;
// A GET stream that lived this long, even without a message, was a working stream.
const HEALTHY_STREAM_MS = 5_000;

/**
 * The fetch that {@linkcode withSessionRecovery} wraps around `next`. Requests that carry no
 * session the middleware knows go to `next` untouched; the rest are watched for session loss.
 *
 * The rule (issue 8): a request is replayed only when the server's answer proves it was not
 * processed (404 to a request with a session id, a session check's 400) or when a `ping` on the
 * same session confirms an answer that merely reads like session loss. Anything else reaches the
 * client as the server sent it.
 */
export function createRecoveringFetch(next: AnyFetch, config: ResolvedOptions): AnyFetch {
  const circuits = new Map<string, Circuit>();
  const sessions = createSessionTable<SessionKeeper>(config.maxSessions, (record) => record.ended());
  const { sharing } = config;
  // Look-ups of shared sessions in flight, so that a session's concurrent requests share one.
  const loading = new Map<string, Promise<SessionKeeper | undefined>>();
  const classifyOptions = { rules: config.rules, notLossRules: config.notLossRules };
  const candidateStatuses = new Set(config.rules.flatMap((rule) => rule.status));
  const keepingAlive = config.keepAlive.mode !== 'off';
  const healthyStreamMs = Math.min(HEALTHY_STREAM_MS, config.streamBackoff.maxDelayMs);
  let lastId = 0;
  const newId = (purpose: string) => `mcp-lifeline-${purpose}-${++lastId}`;

  const events = new EventReporter(config.onEvent);

  return async function fetchWithSessionRecovery(input: FetchInput, init?: RequestInit): Promise<Response> {
    const alias = headerOf(input, init, 'mcp-session-id');
    if (alias === null) {
      const initialize = isPost(input, init) ? initializeParamsOf(await postBody(input, init)) : undefined;
      if (initialize === undefined) return next(input, init);
      return openSession(input, init, initialize.params);
    }
    let record = sessions.get(alias);
    if (record === undefined && sharing !== undefined) record = await sharedRecord(sharing, alias, urlOf(input));
    if (record === undefined || record.endpoint !== endpointOf(urlOf(input))) return next(input, init);
    const request = isRequestInput(input) ? await fromRequestInput(input, init) : toOutgoingRequest(input, init);
    if (request.method === 'DELETE') return terminate(record, request);
    if (request.method === 'GET') return openStream(record, request);
    return exchange(record, request);
  };

  /** The client's own initialize: remember its params and the session the server issues. */
  async function openSession(input: FetchInput, init: RequestInit | undefined, params: unknown): Promise<Response> {
    const response = await next(input, init);
    const sessionId = response.headers.get('mcp-session-id');
    // No session id: a stateless server (or a 2026-07-28 one); nothing to recover, nothing kept.
    if (!response.ok || !sessionId) return response;
    const headerSource = init?.headers ?? (isRequestInput(input) ? input.headers : undefined);
    const record = newRecord(sessionId, urlOf(input), { initializeParams: params, headerSource });
    if (record.serverAnswered()) events.circuitClosed(urlOf(input));
    sessions.add(record);
    return response;
  }

  function newRecord(
    alias: string,
    url: string,
    from: { initializeParams: unknown; headerSource?: RequestInit['headers']; shared?: SharedSessionState },
  ): SessionKeeper {
    const endpoint = endpointOf(url);
    const policy = config.keepAlive;
    return keepSession({
      alias,
      endpoint,
      circuit: circuitOf(endpoint),
      stream: createStreamBackoff(config.streamBackoff),
      sharing,
      keepAlive: policy.mode === 'off' ? undefined : (record) => keepAlive(record, url, policy),
      ...from,
    });
  }

  /**
   * A session this process has no record of, looked up in the shared store (another process
   * opened it, or this one forgot it): once per session, however many of its requests arrive
   * together. Without a live server session there, its first request re-initializes.
   */
  function sharedRecord(share: SessionSharing, alias: string, url: string): Promise<SessionKeeper | undefined> {
    let pending = loading.get(alias);
    if (pending === undefined) {
      pending = share
        .load(alias, endpointOf(url))
        .then((state) => {
          if (state === undefined) return undefined;
          const known = sessions.get(alias);
          if (known !== undefined) return known;
          const record = newRecord(alias, url, { initializeParams: state.initializeParams, shared: state });
          sessions.add(record);
          return record;
        })
        .finally(() => loading.delete(alias));
      loading.set(alias, pending);
    }
    return pending;
  }

  function circuitOf(endpoint: string): Circuit {
    let circuit = circuits.get(endpoint);
    if (circuit === undefined) {
      circuit = createCircuit(config.circuit);
      circuits.set(endpoint, circuit);
    }
    return circuit;
  }

  /** A POST on a known session: sent, judged, recovered and replayed when the loss is certain. */
  async function exchange(record: SessionKeeper, request: OutgoingRequest): Promise<Response> {
    record.clientSent(request);
    const fresh = record.phase.kind !== 'live';
    if (fresh) await recoverBeforeSending(record, request);
    const attempt = attemptOn(record, fresh);
    const response = await send(record, request, false);
    // Successes skip classify (no await): they are watched as the client reads them.
    if (response.ok) return delivered(record, request, attempt, response);
    const classified = await classify(record, request, response);
    if (!classified.lost) return finish(record, request, classified.response);
    return judge(record, request, attempt, classified);
  }

  /**
   * The GET stream: like {@linkcode exchange}, and held back while it keeps failing (issue 8: the
   * SDK transports re-open it about once a second, forever).
   */
  async function openStream(record: SessionKeeper, request: OutgoingRequest): Promise<Response> {
    if (record.getUnsupported) return methodNotAllowed();
    await record.streamHeld(request.signal);
    try {
      const response = await exchange(record, request);
      if (!response.ok && response.status !== 405) streamFailed(record, request, `HTTP ${response.status}`);
      return response;
    } catch (error) {
      if (!request.signal?.aborted)
        streamFailed(record, request, error instanceof SessionRecoveryError ? error.code : networkErrorText(error));
      throw error;
    }
  }

  function streamFailed(record: SessionKeeper, request: OutgoingRequest, reason: string): void {
    const { failures, delayMs, report } = record.streamFailed(Date.now());
    if (report) events.streamBackoff(request.url, { serverId: record.serverId, failures, delayMs, reason });
  }

  function attemptOn(record: SessionKeeper, fresh: boolean): Attempt {
    const { phase } = record;
    const unproven = phase.kind === 'live' && !phase.proven;
    return { sentAt: record.attempts, serverId: record.serverId, fresh, unproven, time: keepingAlive ? Date.now() : 0 };
  }

  /** A 2xx answer: delivered as it comes, watched for a session error inside it. */
  function delivered(record: SessionKeeper, request: OutgoingRequest, attempt: Attempt, response: Response): Response {
    return watchSuccess(record, request, attempt, finish(record, request, response), (verdict, knownBy) =>
      lost(record, request, attempt, { verdict, status: 200, knownBy }),
    );
  }

  /**
   * Watches a successful answer for a session error inside it, without delaying or copying it:
   * an SSE body is checked on its first event (and answered if it ends without its answer), a
   * small JSON body when the client reads it. `onLossInside` produces the answer to deliver
   * instead of a confirmed loss.
   */
  function watchSuccess(
    record: SessionKeeper,
    request: OutgoingRequest,
    attempt: Attempt,
    response: Response,
    onLossInside: (verdict: Lost, knownBy: KnownBy) => Promise<Response>,
  ): Response {
    if (!config.checkSuccessfulAnswers || !response.ok || response.body === null) return response;
    const contentType = response.headers.get('content-type');
    const type = mediaType(contentType);
    if (type === 'text/event-stream') {
      const original = response.body;
      let watched: ReadableStream<Uint8Array> | undefined;
      const stream = () => {
        watched ??= watchSseResponse(original, sseWatch(record, request, attempt, { contentType, onLossInside }));
        return watched;
      };
      return new WatchedResponse(response, { stream, text: () => readAllText(stream().getReader()) });
    }
    if (type === 'application/json' && !(Number(response.headers.get('content-length')) > config.peekBytes)) {
      return checkJsonOnRead(
        response,
        (text) => {
          // A session error is a small error object; anything else passes unparsed.
          if (text.length > config.peekBytes || !MAY_NAME_AN_ERROR.test(text)) return undefined;
          return judgeInside(record, request, attempt, { contentType, text }, onLossInside)?.then((judged) => judged?.instead);
        },
        config.peekBytes,
      );
    }
    return response;
  }

  /** What the SSE watcher of one answer is told: what to look for, and what to do when it finds it. */
  function sseWatch(
    record: SessionKeeper,
    request: OutgoingRequest,
    attempt: Attempt,
    answer: { contentType: string | null; onLossInside: (verdict: Lost, knownBy: KnownBy) => Promise<Response> },
  ): SseWatch {
    // Once a ping cleared a suspicion in this answer, the rest of it is not asked about again.
    let cleared = false;
    const decide = (text: string) =>
      MAY_NAME_AN_ERROR.test(text)
        ? judgeInside(record, request, attempt, { contentType: answer.contentType, text }, answer.onLossInside)?.then((judged) => {
            if (judged === undefined) {
              cleared = true;
              return undefined;
            }
            return sseReplacement(judged.instead, request);
          })
        : undefined;
    if (request.method === 'POST') {
      return {
        limit: config.peekBytes,
        requests: answeredRequests(request),
        decide,
        onUnanswered: (ending) => answerUnanswered(record, request, attempt, { ending, judged: cleared }),
      };
    }
    const opened = Date.now();
    let delivering = false;
    return {
      limit: config.peekBytes,
      decide,
      onMessage: () => {
        delivering = true;
        record.streamWorked();
      },
      onClose: (how) => {
        if (how === 'cancelled' || delivering) return;
        if (Date.now() - opened >= healthyStreamMs) record.streamWorked();
        else streamFailed(record, request, how === 'broke' ? 'the stream broke at once' : 'the stream closed without a message');
      },
    };
  }

  /**
   * A session error inside a 200 answer is only a suspicion (a tool's own error can read the same):
   * once a ping confirms it, the answer to deliver instead; undefined to deliver it as it is.
   */
  function judgeInside(
    record: SessionKeeper,
    request: OutgoingRequest,
    attempt: Attempt,
    answer: { contentType: string | null; text: string },
    onLossInside: (verdict: Lost, knownBy: KnownBy) => Promise<Response>,
  ): Promise<{ readonly instead: Promise<Response> } | undefined> | undefined {
    const verdict = lossIn(record, request, { status: 200, contentType: answer.contentType, body: answer.text });
    if (verdict === undefined) return undefined;
    return confirmed(record, request, attempt, { verdict, status: 200 }).then((knownBy) =>
      knownBy === undefined ? undefined : { instead: onLossInside(verdict, knownBy) },
    );
  }

  /**
   * Whether a loss verdict stands: at once for proof, after a ping for a suspicion. Undefined when
   * the session answered the ping (or could not be asked): the client then gets the answer as sent.
   */
  async function confirmed(
    record: SessionKeeper,
    request: OutgoingRequest,
    attempt: Attempt,
    loss: { verdict: Lost; status: number },
  ): Promise<KnownBy | undefined> {
    const { verdict, status } = loss;
    // A GET answered 404 without naming a session may come from a server that offers no stream.
    const proof = verdict.evidence === 'proof' && !(request.method === 'GET' && !hasSessionLossWording(verdict.serverMessage));
    if (proof) return 'answer';
    const check = await ping(record, request.headers(), attempt.serverId);
    if (check.state === 'lost') return 'ping';
    events.lossNotConfirmed(request, {
      loss: lossReport(verdict, status),
      serverId: attempt.serverId,
      outcome: check.state === 'alive' ? 'session-alive' : 'unconfirmed',
      reason: check.state === 'unconfirmed' ? check.reason : undefined,
    });
    if (check.state === 'alive' && request.method === 'GET' && status === 404) record.streamUnsupported();
    return undefined;
  }

  /** A non-2xx answer that reads like session loss: confirmed, then recovered; or delivered as it is. */
  async function judge(
    record: SessionKeeper,
    request: OutgoingRequest,
    attempt: Attempt,
    classified: Classified & { lost: true },
  ): Promise<Response> {
    const { verdict, status } = classified;
    const knownBy = await confirmed(record, request, attempt, { verdict, status });
    if (knownBy === undefined) {
      if (record.getUnsupported && request.method === 'GET') {
        await classified.discard();
        return methodNotAllowed();
      }
      return finish(record, request, classified.rebuild());
    }
    await classified.discard();
    return lost(record, request, attempt, { verdict, status, knownBy });
  }

  /**
   * A certain loss: recover once for everyone who met it, then replay. A request sent to a session
   * a recovery had just opened, and rejected before that session ever answered, is not recovered
   * again (at most one recovery per call; the circuit counts it).
   */
  async function lost(
    record: SessionKeeper,
    request: OutgoingRequest,
    attempt: Attempt,
    loss: { verdict: Lost; status: number; knownBy: KnownBy },
  ): Promise<Response> {
    const { verdict, status, knownBy } = loss;
    const report = lossReport(verdict, status);
    events.sessionLost(request, { loss: report, knownBy, serverId: attempt.serverId });
    record.idledOut(attempt.sentAt, attempt.time);
    if (request.signal?.aborted) throw request.signal.reason;

    if (attempt.fresh && attempt.sentAt === record.attempts) {
      rejectedAtOnce(record, request, attempt, report);
      throw fail(record, request, { code: 'SESSION_LOST_AGAIN', loss: report, reason: againText(report) });
    }

    const replayBody = replayableMessages(request);
    if (replayBody === 'none') {
      // Answers to the lost session's requests mean nothing to a new session: drop them (202, as
      // the server would have). The next request re-initializes.
      record.lostAt(attempt.sentAt, report);
      events.messageDropped(request.url, droppedReason(request));
      return new Response(null, { status: 202, statusText: 'Accepted' });
    }

    try {
      await recover(record, attempt.sentAt, request, report);
    } catch (error) {
      const refused = error instanceof SessionRecoveryError ? (error.cause as HandshakeFailure | undefined)?.response : undefined;
      if (refused !== undefined && (refused.status === 401 || refused.status === 403)) {
        // Hand the client the server's own 401/403 (with WWW-Authenticate) so its OAuth flow can
        // refresh credentials and send again; the body says what happened.
        return authRefusal(refused, (error as Error).message);
      }
      throw error;
    }
    return replay(record, request, report, replayBody);
  }

  /** The session is dead: re-initialize before sending, unless the circuit says not now. */
  async function recoverBeforeSending(record: SessionKeeper, request: OutgoingRequest): Promise<void> {
    const { phase } = record;
    await recover(record, record.attempts, request, (phase.kind === 'live' ? undefined : phase.loss) ?? unknownLoss());
  }

  /**
   * Re-initializes once for every request that met the same lost session (single flight). A
   * request sent before an attempt began shares that attempt's outcome, success or failure, so a
   * late answer from the lost session neither replaces the new session nor retries a failed one.
   */
  async function recover(record: SessionKeeper, sentAt: number, request: OutgoingRequest, loss: SessionLossReport): Promise<void> {
    const { phase } = record;
    if (phase.kind !== 'recovering' && record.attempts > sentAt) {
      if (phase.kind === 'live') return;
      throw fail(record, request, {
        code: 'REINITIALIZE_FAILED',
        loss,
        reason: networkErrorText(phase.failure, config.timeout),
        cause: phase.failure,
      });
    }
    let flight: Promise<void>;
    if (phase.kind === 'recovering') {
      flight = record.recoveryJoined(loss);
    } else {
      const blocked = record.circuit.blocked(Date.now());
      if (blocked !== undefined) {
        record.circuitRefused(loss);
        const seconds = Math.max(1, Math.ceil((blocked.retryAt - Date.now()) / 1000));
        throw fail(record, request, {
          code: 'CIRCUIT_OPEN',
          loss,
          reason:
            `the last ${record.circuit.failures} attempts to re-initialize failed (${blocked.cause}); ` +
            `the next one may start in ${seconds} s, at ${new Date(blocked.retryAt).toISOString()}`,
          retryAt: blocked.retryAt,
        });
      }
      flight = record.recoveryStarted(loss, () => startRecovery(record, request));
    }
    try {
      await abortable(flight, request.signal);
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw fail(record, request, { code: 'REINITIALIZE_FAILED', loss, reason: networkErrorText(error, config.timeout), cause: error });
    }
  }

  function startRecovery(record: SessionKeeper, request: OutgoingRequest): Promise<void> {
    const started = Date.now();
    const previous = record.serverId;
    const headers = request.headers();
    let handshakeFailed = false;
    const handshake = (state: RestorableState) =>
      reinitialize({
        next,
        url: request.url,
        headers,
        initializeParams: state.initializeParams,
        timeout: config.timeout,
        newId,
        restore: config.restoreState ? { logLevel: state.logLevel, subscriptions: [...state.subscriptions] } : undefined,
        scrub: record.scrubber(headers),
      }).catch((error: unknown) => {
        handshakeFailed = true;
        throw error;
      });
    const recovery: Promise<SharedRecovery<HandshakeResult>> =
      sharing === undefined
        ? handshake(record).then((result) => ({ kind: 'reinitialized', result }))
        : // Once across the processes: the one that takes the store's lock re-initializes with the
          // freshest shared state; the others adopt the session it opened.
          sharing.recover(record.alias, previous, (latest) => {
            record.tookSharedState(latest);
            return handshake(latest);
          });
    return recovery.then(
      (outcome) => {
        if (outcome.kind === 'adopted') {
          record.adopted(outcome.state);
          events.sessionAdopted(request.url, { previous, serverId: outcome.state.serverId });
          return;
        }
        const { result } = outcome;
        record.replaced(result);
        events.reinitialized(request.url, { previous, result, started });
      },
      (error: unknown) => {
        record.recoveryFailed(error);
        if (error instanceof HandshakeFailure && error.openedSessionId !== undefined) {
          abandon(record, { url: request.url, headers, sessionId: error.openedSessionId, reason: 'handshake-failed' });
        }
        // A shared recovery may fail without the server (the session ended elsewhere, the store): only the handshake counts.
        if (handshakeFailed && countsAgainstServer(error)) openCircuit(record, request.url, networkErrorText(error, config.timeout));
        throw error;
      },
    );
  }

  /**
   * A call that already went through a recovery met a loss again: the session is marked dead (the
   * next request re-initializes) and, when it was a new session that never answered, it is ended
   * and counted against the server.
   */
  function rejectedAtOnce(record: SessionKeeper, request: OutgoingRequest, attempt: Attempt, loss: SessionLossReport): void {
    if (record.attempts !== attempt.sentAt || record.phase.kind !== 'live') return;
    record.lostAt(attempt.sentAt, loss);
    if (!attempt.unproven) return;
    if (attempt.serverId !== undefined) {
      abandon(record, { url: request.url, headers: request.headers(), sessionId: attempt.serverId, reason: 'rejected-at-once' });
    }
    openCircuit(record, request.url, `a new session was rejected at once: ${againText(loss)}`);
  }

  function openCircuit(record: SessionKeeper, url: string, cause: string): void {
    const opened = record.circuitFailed(cause, Date.now());
    if (opened !== undefined) events.circuitOpen(url, { failures: opened.failures, retryAt: opened.retryAt, cause });
  }

  /**
   * Ends a session the middleware opened and gave up on (DELETE, bounded by `timeout`, not
   * awaited): a server behind a load balancer may still hold it (issue 9: 20 calls left 39).
   */
  function abandon(
    record: SessionKeeper,
    session: { url: string; headers: Headers; sessionId: string; reason: 'rejected-at-once' | 'handshake-failed' },
  ): void {
    const headers = new Headers(session.headers);
    for (const name of ['content-type', 'content-length', 'last-event-id', 'mcp-method', 'mcp-name']) headers.delete(name);
    headers.set('mcp-session-id', session.sessionId);
    if (record.protocolVersion !== undefined) headers.set('mcp-protocol-version', record.protocolVersion);
    events.sessionAbandoned(session.url, { sessionId: session.sessionId, reason: session.reason });
    sendOwnRequest(next, session.url, { method: 'DELETE', headers, signal: AbortSignal.timeout(config.timeout) })
      .then((response) => response.body?.cancel())
      .catch(noop);
  }

  async function replay(
    record: SessionKeeper,
    request: OutgoingRequest,
    loss: SessionLossReport,
    body: string | undefined,
  ): Promise<Response> {
    if (!request.replayable) throw fail(record, request, { code: 'NOT_REPLAYABLE', loss });
    const attempt = attemptOn(record, true);
    let response: Response;
    try {
      response = await send(record, request, true, body);
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw fail(record, request, {
        code: 'REPLAY_FAILED',
        loss,
        reason: `${networkErrorText(error)}; it may or may not have run`,
        cause: error,
      });
    }
    // The replay met a loss again: not retried. The client gets SESSION_LOST_AGAIN in place of the
    // server's bare "Session not found" (or the server's answer, when a ping shows it was the tool's).
    const again = (verdict: Lost, status: number) => {
      const report = lossReport(verdict, status);
      rejectedAtOnce(record, request, attempt, report);
      return fail(record, request, { code: 'SESSION_LOST_AGAIN', loss, reason: againText(report) });
    };
    if (!response.ok) {
      const classified = await classify(record, request, response);
      if (!classified.lost) return replayed(record, request, finish(record, request, classified.response));
      if ((await confirmed(record, request, attempt, classified)) === undefined) {
        return replayed(record, request, finish(record, request, classified.rebuild()));
      }
      await classified.discard();
      throw again(classified.verdict, classified.status);
    }
    const answer = watchSuccess(record, request, attempt, finish(record, request, response), (verdict) =>
      Promise.reject(again(verdict, 200)),
    );
    return replayed(record, request, answer);
  }

  function replayed(record: SessionKeeper, request: OutgoingRequest, answer: Response): Response {
    events.replayed(request, { serverId: record.serverId, status: answer.status });
    return answer;
  }

  /**
   * A request's SSE answer ended, or broke, before its answer arrived and cannot be resumed (no
   * event ids): the server has made the wait certain, so the client is answered at once (issue 8).
   * Not replayed: the request may have run. A session error the stream carried instead is judged
   * like any other (a confirmed loss marks the session dead, so the next request re-initializes).
   */
  async function answerUnanswered(
    record: SessionKeeper,
    request: OutgoingRequest,
    attempt: Attempt,
    unanswered: { ending: StreamEnding; judged: boolean },
  ): Promise<string> {
    const { ending } = unanswered;
    const { rpcMethod } = request.messages();
    const method = rpcMethod ?? 'the request';
    const scrub = record.scrubber(request.headers(), attempt.serverId);
    let instead = '';
    if (ending.stray !== undefined) {
      const verdict = lossIn(record, request, { status: 200, contentType: 'application/json', body: ending.stray });
      const said = verdict?.serverMessage ?? scrub(ending.stray).slice(0, 200);
      instead = `; it sent "${said.slice(0, 200)}" instead`;
      if (verdict !== undefined && !unanswered.judged) {
        const knownBy = await confirmed(record, request, attempt, { verdict, status: 200 });
        if (knownBy !== undefined) {
          const report = lossReport(verdict, 200);
          record.lostAt(attempt.sentAt, report);
          instead = `; it reported the session lost instead ("${report.serverMessage}", rule ${verdict.rule}), so the next request opens a new one`;
        }
      }
    }
    const how = ending.error === undefined ? 'ended' : 'broke';
    const what = [
      how === 'broke'
        ? `the server's response stream for ${method} broke before its answer arrived (${networkErrorText(ending.error)})`
        : `stream ended without an answer to ${method}: the server ended the response stream without answering it`,
    ];
    if (ending.invalid > 0) what.push(`${ending.invalid} event(s) in it were not valid JSON`);
    if (ending.otherIds.length > 0)
      what.push(`it answered ${ending.otherIds.map((id) => JSON.stringify(id)).join(', ')}, which no request here carried`);
    events.streamBroken(request, { how, error: `${what.join('; ')}${instead}` });
    const message = `mcp-lifeline: ${what.join('; ')}${instead}; it may or may not have run, so it was not sent again`;
    return ending.missing.map((id) => sseErrorEvent(id, message)).join('');
  }

  /** Sends the request on the session's current server id (untouched when nothing needs rewriting). */
  function send(record: SessionKeeper, request: OutgoingRequest, fresh: boolean, body?: string): Promise<Response> {
    const protocolVersion = record.protocolVersion === undefined ? null : headerOf(request.input, request.init, 'mcp-protocol-version');
    const resumes = request.method === 'GET' && headerOf(request.input, request.init, 'last-event-id') !== null;
    const stale = request.method === 'GET' && record.streamRequested();
    const dropEventId = resumes && (fresh || stale);
    const rewrite =
      record.serverId !== record.alias ||
      (record.protocolVersion !== undefined && protocolVersion !== null && protocolVersion !== record.protocolVersion) ||
      dropEventId ||
      body !== undefined;
    const signal = ownSignal(request.signal);
    if (!rewrite) return next(request.input, signal === undefined ? request.init : { ...request.init, signal });

    const headers = new Headers(request.headers());
    if (record.serverId === undefined) headers.delete('mcp-session-id');
    else headers.set('mcp-session-id', record.serverId);
    if (record.protocolVersion !== undefined && protocolVersion !== null) headers.set('mcp-protocol-version', record.protocolVersion);
    // An event id of the lost session means nothing to the new one (spec: ids are per session).
    if (dropEventId) headers.delete('last-event-id');
    return next(request.url, {
      ...request.init,
      method: request.method,
      headers,
      body: body ?? request.body ?? null,
      signal: signal ?? null,
    });
  }

  /** Reads just enough of a non-2xx answer to tell whether it reads like session loss. */
  async function classify(record: SessionKeeper, request: OutgoingRequest, response: Response): Promise<Classified> {
    const { status } = response;
    if (response.ok || !candidateStatuses.has(status)) return { lost: false, response };
    const contentType = response.headers.get('content-type');
    const prefix = await readPrefix(response, config.peekBytes);
    const verdict = lossIn(record, request, { status, contentType, body: prefix.text });
    if (verdict === undefined) return { lost: false, response: prefix.rebuild() };
    return { lost: true, verdict, status, rebuild: () => prefix.rebuild(), discard: () => prefix.discard() };
  }

  /** The loss verdict for an answer, or undefined when it is not a loss (or the user said not to recover). */
  function lossIn(
    record: SessionKeeper,
    request: OutgoingRequest,
    answer: { status: number; contentType: string | null; body: string },
  ): Lost | undefined {
    const classified = classifySessionLoss({ method: request.method, hadSessionId: true, ...answer }, classifyOptions);
    if (!classified.lost) return undefined;
    // Servers quote what they were sent (the id they did not find, a token): none of it reaches an
    // event, a log or an error.
    const scrub = record.scrubber(request.headers());
    const verdict = { ...classified, serverMessage: scrub(classified.serverMessage) };
    const wanted = config.shouldRecover?.(verdict, {
      method: request.method,
      url: describeUrl(request.url),
      rpcMethod: request.messages().rpcMethod,
    });
    return wanted === false ? undefined : verdict;
  }

  /** Pings the session `serverId` with the client's headers; never throws. */
  function ping(record: SessionKeeper, headers: Headers, serverId: string | undefined): Promise<SessionCheck> {
    const sessionHeaders = new Headers(headers);
    if (serverId === undefined) sessionHeaders.delete('mcp-session-id');
    else sessionHeaders.set('mcp-session-id', serverId);
    if (record.protocolVersion !== undefined && sessionHeaders.has('mcp-protocol-version')) {
      sessionHeaders.set('mcp-protocol-version', record.protocolVersion);
    }
    return pingSession({
      next,
      url: record.endpoint,
      headers: sessionHeaders,
      id: newId('ping'),
      timeout: config.timeout,
      classify: (status, contentType, body) => {
        const verdict = classifySessionLoss({ method: 'POST', hadSessionId: true, status, contentType, body }, classifyOptions);
        return verdict.lost ? verdict : undefined;
      },
    });
  }

  /** The keep-alive of one session: pings go through {@linkcode ping}; a loss they meet marks the session dead. */
  function keepAlive(record: SessionKeeper, url: string, policy: Exclude<ResolvedOptions['keepAlive'], { mode: 'off' }>) {
    // The pings, as events report them.
    const pings: RequestLike = { url, method: 'POST', messages: () => PING_MESSAGE };
    return startKeepAlive({
      policy,
      lastSuccessAt: () => record.lastSuccessAt,
      usable: () => record.phase.kind === 'live',
      over: () => record.clientSignal?.aborted === true,
      onInterval: (change) => events.keepAlive(url, { serverId: record.serverId, ...change }),
      ping: async () => {
        const attempt = attemptOn(record, false);
        const sentAt = Date.now();
        const check = await ping(record, new Headers(record.headerSource), attempt.serverId);
        if (check.state === 'alive') {
          record.pingAnswered(attempt.sentAt);
          return;
        }
        if (check.state === 'unconfirmed') {
          events.keepAliveFailed(url, { serverId: attempt.serverId, reason: check.reason });
          return;
        }
        const scrub = record.scrubber(new Headers(record.headerSource));
        const report = lossReport({ rule: check.verdict.rule, serverMessage: scrub(check.verdict.serverMessage) }, check.status);
        events.sessionLost(pings, { loss: report, knownBy: 'ping', serverId: attempt.serverId });
        if (record.attempts !== attempt.sentAt) return;
        record.idledOut(attempt.sentAt, sentAt);
        // The next request re-initializes before it is sent: nothing is re-sent, and no session is
        // opened for a client that may never call again.
        record.lostAt(attempt.sentAt, report);
      },
    });
  }

  /** DELETE: on a session the server already lost, there is nothing left to terminate. */
  async function terminate(record: SessionKeeper, request: OutgoingRequest): Promise<Response> {
    record.ended();
    const { phase } = record;
    await (phase.kind === 'recovering' ? phase.flight.catch(noop) : undefined);
    if (record.phase.kind !== 'dead') {
      const classified = await classify(record, request, await send(record, request, false));
      if (!classified.lost) {
        if (classified.response.ok || classified.response.status === 405) ended(record);
        return present(record, classified.response);
      }
      await classified.discard();
    }
    ended(record);
    events.messageDropped(request.url, 'delete-of-lost-session');
    return new Response(null, { status: 200 });
  }

  function ended(record: SessionKeeper): void {
    sessions.delete(record.alias);
    sharing?.ended(record.alias);
  }

  /** A server answer about to reach the client: the session's state and health noted, its id shown as the client knows it. */
  function finish(record: SessionKeeper, request: OutgoingRequest, response: Response): Response {
    if (response.ok && record.answered(request)) events.circuitClosed(request.url);
    return present(record, response);
  }

  /** The error the client gets when recovery did not succeed, reported as `recovery-failed`. */
  function fail(record: SessionKeeper, request: OutgoingRequest, failure: Failure): SessionRecoveryError {
    const error = recoveryError(record, request, failure);
    events.recoveryFailed(error);
    return error;
  }
}

/**
 * What the client is shown: the session id it got at initialize, for the life of the connection.
 * (The v1 SDK transport adopts an id from any response, v2 only from initialize; a stable id keeps
 * both consistent.)
 */
function present(record: SessionKeeper, response: Response): Response {
  const sent = response.headers.get('mcp-session-id');
  if (sent === null || sent === record.alias) return response;
  const headers = new Headers(response.headers);
  headers.set('mcp-session-id', record.alias);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** What a re-initialization opens the new session with, and restores on it. */
interface RestorableState {
  readonly initializeParams: unknown;
  readonly logLevel: string | undefined;
  readonly subscriptions: Iterable<string>;
}

/** What a recovery that did not succeed reports: the code, the loss, why, and when to try again. */
interface Failure {
  readonly code: LifelineErrorCode;
  readonly loss: SessionLossReport;
  readonly reason?: string | undefined;
  readonly cause?: unknown;
  readonly retryAt?: number | undefined;
}

/** The error for a failed recovery: what the request was, what the server said, why (scrubbed like any server text). */
function recoveryError(record: SessionKeeper, request: OutgoingRequest, failure: Failure): SessionRecoveryError {
  const report: RequestReport = { method: request.method, url: describeUrl(request.url), rpcMethod: request.messages().rpcMethod };
  const reason = failure.reason === undefined ? undefined : record.scrubber(request.headers())(failure.reason);
  return new SessionRecoveryError(
    failure.code,
    { request: report, loss: failure.loss, ...(reason === undefined ? {} : { reason }), retryAt: failure.retryAt },
    { cause: failure.cause },
  );
}

/** A loss verdict as errors and events report it: the server's words shortened. */
function lossReport(verdict: { readonly rule: string; readonly serverMessage: string }, status: number): SessionLossReport {
  return { rule: verdict.rule, status, serverMessage: verdict.serverMessage.slice(0, 200) };
}

// What a keep-alive ping carries, as events report it.
const PING_MESSAGE = { rpcMethod: 'ping' };

function againText(loss: SessionLossReport): string {
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

/**
 * The body to replay: undefined for "the original body", 'none' when nothing in it may be sent to
 * a new session (answers to the lost session's requests, its `notifications/initialized`).
 */
function replayableMessages(request: OutgoingRequest): string | undefined | 'none' {
  if (request.method !== 'POST') return undefined;
  const { messages, batch } = request.messages();
  if (messages.length === 0) return undefined;
  const kept = messages.filter((message) => !isResponse(message) && message['method'] !== 'notifications/initialized');
  if (kept.length === 0) return 'none';
  if (kept.length === messages.length) return undefined;
  return JSON.stringify(batch ? kept : kept[0]);
}

function droppedReason(request: OutgoingRequest): 'response-to-lost-session' | 'initialized-notification' {
  return request.messages().messages.some(isResponse) ? 'response-to-lost-session' : 'initialized-notification';
}

/**
 * The requests of a POST, for the SSE watcher. An answer's id is looked for in the body as written
 * (`"id":7`), and the body is parsed only when that fails (other spacing) or at the end.
 */
function answeredRequests(request: OutgoingRequest): AnsweredRequests {
  const text = bodyText(request.body);
  const batch = text === undefined || text.trimStart().startsWith('[');
  return {
    count: batch ? request.messages().requestIds.length : 1,
    isOurs: (id) =>
      (typeof id === 'string' || typeof id === 'number') &&
      (text?.includes(`"id":${JSON.stringify(id)}`) === true || request.messages().requestIds.includes(id)),
    ids: () => request.messages().requestIds,
  };
}

function sseErrorEvent(id: JsonRpcId, message: string): string {
  return `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message } })}\n\n`;
}

function methodNotAllowed(): Response {
  return new Response(null, { status: 405, statusText: 'Method Not Allowed' });
}

function authRefusal(refused: { status: number; headers: Headers }, message: string): Response {
  const headers = new Headers({ 'content-type': 'text/plain; charset=utf-8' });
  const challenge = refused.headers.get('www-authenticate');
  if (challenge !== null) headers.set('www-authenticate', challenge);
  return new Response(message, { status: refused.status, headers });
}

function unknownLoss(): SessionLossReport {
  return { rule: 'unknown', status: 0, serverMessage: '' };
}

function isPost(input: FetchInput, init: RequestInit | undefined): boolean {
  const method = init?.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET');
  return method.toUpperCase() === 'POST';
}

/** The body of a POST, reading a `Request` input's body from a clone (the original goes to `next`). */
async function postBody(input: FetchInput, init: RequestInit | undefined): Promise<RequestBody> {
  if (init?.body !== undefined || typeof input !== 'object' || !('clone' in input)) return init?.body;
  return input.body === null ? undefined : input.clone().text();
}

function urlOf(input: FetchInput): string {
  return typeof input === 'string' ? input : 'href' in input ? input.href : input.url;
}

/**
 * A signal for one request that follows the caller's. SDK transports pass one long-lived signal
 * to every request; undici adds an abort listener to it per request and drops it only when the
 * request is garbage-collected, so hundreds pile up (Node warns past 1500) and undici scans them
 * on each new request. A per-request signal keeps both flat: about 50 µs a call on loopback.
 */
function ownSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
  if (signal === undefined || signal === null || typeof AbortSignal.any !== 'function') return signal ?? undefined;
  return AbortSignal.any([signal]);
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
