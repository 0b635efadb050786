// Replaying: a request whose loss is certain is sent again, at most once, on the session the
// recovery opened, when the server's answer proves it was not executed (issue 8). What belonged
// to the lost session (answers to its requests, its `notifications/initialized`) is dropped.
import { networkErrorText } from '../errors/network-error-text.js';
import { type SessionLossReport, SessionRecoveryError } from '../errors/SessionRecoveryError.js';
import { isAnswer } from '../shared/json-rpc.js';
import { type AnswerJudge, type KnownBy, type Lost, lossReport } from './answer-judge.js';
import type { AnswerWatch } from './answer-watch.js';
import { type Attempt, attemptOn } from './attempt.js';
import type { OutgoingRequest } from './outgoing-request.js';
import type { RecoveryContext } from './recovery-context.js';
import { againText, type RecoveryFlight } from './recovery-flight.js';
import type { HandshakeFailure } from './reinitialize.js';
import type { SessionKeeper } from './session-keeper.js';

/** Recovers from a certain loss, then replays the request (or drops what belonged to the lost session). */
export class Replayer {
  private readonly context: RecoveryContext;
  private readonly judge: AnswerJudge;
  private readonly flight: RecoveryFlight;
  private readonly watch: AnswerWatch;

  constructor(context: RecoveryContext, parts: { judge: AnswerJudge; flight: RecoveryFlight; watch: AnswerWatch }) {
    this.context = context;
    this.judge = parts.judge;
    this.flight = parts.flight;
    this.watch = parts.watch;
  }

  /**
   * A certain loss: recover once for everyone who met it, then replay. A request sent to a session
   * a recovery had just opened, and rejected before that session ever answered, is not recovered
   * again (at most one recovery per call; the circuit counts it).
   */
  async lost(attempt: Attempt, loss: { verdict: Lost; status: number; knownBy: KnownBy }): Promise<Response> {
    const { keeper, request } = attempt;
    const { context } = this;
    const report = lossReport(loss.verdict, loss.status);
    context.events.sessionLost(request, { loss: report, knownBy: loss.knownBy, serverId: attempt.serverId });
    keeper.idledOut(attempt.sentAt, attempt.time);
    if (request.signal?.aborted) throw request.signal.reason;

    if (attempt.fresh && attempt.sentAt === keeper.attempts) {
      this.flight.rejectedAtOnce(attempt, report);
      throw context.fail(keeper, request, { code: 'SESSION_LOST_AGAIN', loss: report, reason: againText(report) });
    }

    const replayBody = replayableMessages(request);
    if (replayBody === 'none') {
      // Answers to the lost session's requests mean nothing to a new session: drop them (202, as
      // the server would have). The next request re-initializes.
      keeper.lostAt(attempt.sentAt, report);
      context.events.messageDropped(request.url, droppedReason(request));
      return new Response(null, { status: 202, statusText: 'Accepted' });
    }

    try {
      await this.flight.recover(keeper, request, { sentAt: attempt.sentAt, loss: report });
    } catch (error) {
      const refused = error instanceof SessionRecoveryError ? (error.cause as HandshakeFailure | undefined)?.response : undefined;
      if (refused !== undefined && (refused.status === 401 || refused.status === 403)) {
        // Hand the client the server's own 401/403 (with WWW-Authenticate) so its OAuth flow can
        // refresh credentials and send again; the body says what happened.
        return authRefusal(refused, (error as Error).message);
      }
      throw error;
    }
    return this.replay(keeper, request, { loss: report, body: replayBody });
  }

  /** Sends the request again on the new session; a loss met again is not retried. */
  private async replay(
    keeper: SessionKeeper,
    request: OutgoingRequest,
    resend: { loss: SessionLossReport; body: string | undefined },
  ): Promise<Response> {
    const { context, judge } = this;
    const { loss } = resend;
    if (!request.replayable) throw context.fail(keeper, request, { code: 'NOT_REPLAYABLE', loss });
    const attempt = attemptOn(keeper, request, true);
    let response: Response;
    try {
      response = await context.send(keeper, request, resend);
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw context.fail(keeper, request, {
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
      this.flight.rejectedAtOnce(attempt, report);
      return context.fail(keeper, request, { code: 'SESSION_LOST_AGAIN', loss, reason: againText(report) });
    };
    if (!response.ok) {
      const classified = await judge.classify(keeper, request, response);
      if (!classified.lost) return this.replayed(keeper, request, context.finish(keeper, request, classified.response));
      if ((await judge.confirmed(attempt, classified)) === undefined) {
        return this.replayed(keeper, request, context.finish(keeper, request, classified.rebuild()));
      }
      await classified.discard();
      throw again(classified.verdict, classified.status);
    }
    const answer = this.watch.watch(attempt, context.finish(keeper, request, response), (verdict) => Promise.reject(again(verdict, 200)));
    return this.replayed(keeper, request, answer);
  }

  private replayed(keeper: SessionKeeper, request: OutgoingRequest, answer: Response): Response {
    this.context.events.replayed(request, { serverId: keeper.serverId, status: answer.status });
    return answer;
  }
}

/**
 * The body to replay: undefined for "the original body", 'none' when nothing in it may be sent to
 * a new session (answers to the lost session's requests, its `notifications/initialized`).
 */
function replayableMessages(request: OutgoingRequest): string | undefined | 'none' {
  if (request.method !== 'POST') return undefined;
  const { messages, batch } = request.messages();
  if (messages.length === 0) return undefined;
  const kept = messages.filter((message) => !isAnswer(message) && message['method'] !== 'notifications/initialized');
  if (kept.length === 0) return 'none';
  if (kept.length === messages.length) return undefined;
  return JSON.stringify(batch ? kept : kept[0]);
}

function droppedReason(request: OutgoingRequest): 'response-to-lost-session' | 'initialized-notification' {
  return request.messages().messages.some(isAnswer) ? 'response-to-lost-session' : 'initialized-notification';
}

function authRefusal(refused: { status: number; headers: Headers }, message: string): Response {
  const headers = new Headers({ 'content-type': 'text/plain; charset=utf-8' });
  const challenge = refused.headers.get('www-authenticate');
  if (challenge !== null) headers.set('www-authenticate', challenge);
  return new Response(message, { status: refused.status, headers });
}
