// A request on a session the middleware knows, from sending to the answer the client gets: the
// way undici's RetryHandler takes the work its thin interceptor hands it.
import { networkErrorText } from '../errors/network-error-text.js';
import { SessionRecoveryError } from '../errors/SessionRecoveryError.js';
import { noop } from '../shared/noop.js';
import type { AnswerJudge, Classified } from './answer-judge.js';
import type { AnswerWatch } from './answer-watch.js';
import { type Attempt, attemptOn } from './attempt.js';
import type { OutgoingRequest } from './outgoing-request.js';
import type { RecoveryContext } from './recovery-context.js';
import type { RecoveryFlight } from './recovery-flight.js';
import type { Replayer } from './replayer.js';
import type { SessionDirectory } from './session-directory.js';
import type { SessionKeeper } from './session-keeper.js';

/** The parts an exchange hands its work to. */
export interface ExchangeParts {
  readonly judge: AnswerJudge;
  readonly flight: RecoveryFlight;
  readonly watch: AnswerWatch;
  readonly replayer: Replayer;
  readonly directory: SessionDirectory;
}

/** Sends the client's requests on their sessions: POST, the GET stream, and DELETE. */
export class SessionExchange {
  private readonly context: RecoveryContext;
  private readonly parts: ExchangeParts;

  constructor(context: RecoveryContext, parts: ExchangeParts) {
    this.context = context;
    this.parts = parts;
  }

  /** A request on a known session: sent, judged, recovered and replayed when the loss is certain. */
  async exchange(keeper: SessionKeeper, request: OutgoingRequest): Promise<Response> {
    const { context, parts } = this;
    keeper.clientSent(request);
    const fresh = keeper.phase.kind !== 'live';
    if (fresh) await parts.flight.beforeSending(keeper, request);
    const attempt = attemptOn(keeper, request, fresh ? 1 : 0);
    const response = await context.send(keeper, request);
    // Successes skip classify (no await): they are watched as the client reads them.
    if (response.ok) return this.delivered(attempt, response);
    const classified = await parts.judge.classify(keeper, request, response);
    if (!classified.lost) return context.finish(keeper, request, classified.response);
    return this.judged(attempt, classified);
  }

  /**
   * The GET stream: like {@linkcode exchange}, and held back while it keeps failing (issue 8: the
   * SDK transports re-open it about once a second, forever).
   */
  async openStream(keeper: SessionKeeper, request: OutgoingRequest): Promise<Response> {
    const { watch } = this.parts;
    if (keeper.getUnsupported) return methodNotAllowed();
    await keeper.streamHeld(request.signal);
    try {
      const response = await this.exchange(keeper, request);
      if (!response.ok && response.status !== 405) watch.streamFailed(keeper, request, `HTTP ${response.status}`);
      return response;
    } catch (error) {
      if (!request.signal?.aborted)
        watch.streamFailed(keeper, request, error instanceof SessionRecoveryError ? error.code : networkErrorText(error));
      throw error;
    }
  }

  /** DELETE: on a session the server already lost, there is nothing left to terminate. */
  async terminate(keeper: SessionKeeper, request: OutgoingRequest): Promise<Response> {
    const { context, parts } = this;
    keeper.ended();
    const { phase } = keeper;
    await (phase.kind === 'recovering' ? phase.flight.catch(noop) : undefined);
    if (keeper.phase.kind !== 'dead') {
      const classified = await parts.judge.classify(keeper, request, await context.send(keeper, request));
      if (!classified.lost) {
        if (classified.response.ok || classified.response.status === 405) parts.directory.ended(keeper);
        return context.present(keeper, classified.response);
      }
      await classified.discard();
    }
    parts.directory.ended(keeper);
    context.events.messageDropped(request.url, 'delete-of-lost-session');
    return new Response(null, { status: 200 });
  }

  /** A 2xx answer: delivered as it comes, watched for a session error inside it. */
  private delivered(attempt: Attempt, response: Response): Response {
    const { context, parts } = this;
    const { keeper, request } = attempt;
    context.noteAnswer(keeper, request, response);
    // The answer is shown with the client's session id by the watched answer itself: one wrapper, not two.
    return parts.watch.watch(
      attempt,
      response,
      (verdict, knownBy) => parts.replayer.lost(attempt, { verdict, status: 200, knownBy }),
      context.presentedSessionId(keeper, response),
    );
  }

  /** A non-2xx answer that reads like session loss: confirmed, then recovered; or delivered as it is. */
  private async judged(attempt: Attempt, classified: Classified & { lost: true }): Promise<Response> {
    const { context, parts } = this;
    const { keeper, request } = attempt;
    const { verdict, status } = classified;
    const knownBy = await parts.judge.confirmed(attempt, { verdict, status });
    if (knownBy === undefined) {
      if (keeper.getUnsupported && request.method === 'GET') {
        await classified.discard();
        return methodNotAllowed();
      }
      return context.finish(keeper, request, classified.rebuild());
    }
    await classified.discard();
    return parts.replayer.lost(attempt, { verdict, status, knownBy });
  }
}

function methodNotAllowed(): Response {
  return new Response(null, { status: 405, statusText: 'Method Not Allowed' });
}
