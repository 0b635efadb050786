// Replaying: a request whose loss is certain is sent again on the session the recovery opened,
// when the server's answer proves it was not executed (issue 8); a replay that meets a certain
// loss again is recovered again, up to `maxRecoveries` (issue 18). What belonged to the lost
// session (answers to its requests, its `notifications/initialized`) is dropped.
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
   * A certain loss: recover once for everyone who met it, then replay. A replay the server rejects
   * again with a certain loss never ran either: it is recovered and replayed again, up to
   * `maxRecoveries` recoveries for the call (a redeploy whose first new session landed on the
   * instance going away). A new session rejected before it ever answered is ended and counted by
   * the circuit, which still stops a server that rejects every session.
   */
  async lost(attempt: Attempt, loss: { verdict: Lost; status: number; knownBy: KnownBy }): Promise<Response> {
    const { keeper, request } = attempt;
    const { context } = this;
    const report = lossReport(loss.verdict, loss.status);
    context.events.sessionLost(request, { loss: report, knownBy: loss.knownBy, serverId: attempt.serverId });
    keeper.idledOut(attempt.sentAt, attempt.time);
    if (request.signal?.aborted) throw request.signal.reason;

    if (attempt.recoveries > 0) {
      if (attempt.sentAt === keeper.attempts) this.flight.rejectedAtOnce(attempt, report);
      if (attempt.recoveries >= context.config.maxRecoveries) {
        throw context.fail(keeper, request, {
          code: 'SESSION_LOST_AGAIN',
          loss: report,
          reason: `${recoveriesText(attempt.recoveries)} before answering it, the last: ${againText(report)}; it never ran`,
        });
      }
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
    return this.replay(keeper, request, { loss: report, body: replayBody, recoveries: attempt.recoveries + 1 });
  }

  /** Sends the request again on the new session; a certain loss met again goes back to {@linkcode lost}. */
  private async replay(
    keeper: SessionKeeper,
    request: OutgoingRequest,
    resend: { loss: SessionLossReport; body: string | undefined; recoveries: number },
  ): Promise<Response> {
    const { context, judge } = this;
    const { loss } = resend;
    if (!request.replayable) throw context.fail(keeper, request, { code: 'NOT_REPLAYABLE', loss });
    const attempt = attemptOn(keeper, request, resend.recoveries);
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
    if (!response.ok) {
      const classified = await judge.classify(keeper, request, response);
      if (!classified.lost) return this.replayed(keeper, request, context.finish(keeper, request, classified.response));
      const knownBy = await judge.confirmed(attempt, classified);
      if (knownBy === undefined) return this.replayed(keeper, request, context.finish(keeper, request, classified.rebuild()));
      await classified.discard();
      return this.lost(attempt, { verdict: classified.verdict, status: classified.status, knownBy });
    }
    const answer = this.watch.watch(attempt, context.finish(keeper, request, response), (verdict, knownBy) =>
      this.lost(attempt, { verdict, status: 200, knownBy }),
    );
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

function recoveriesText(recoveries: number): string {
  return recoveries === 1 ? 'the new session rejected it' : `${recoveries} new sessions in a row rejected it`;
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
