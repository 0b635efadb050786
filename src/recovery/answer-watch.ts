// Watching a successful answer for a session error inside it (the `jsonrpc-200` and `sse-200`
// dialects), without delaying or copying it: an SSE body is checked on its first event (and
// answered if it ends without its answer), a small JSON body when the client reads it.

import { networkErrorText } from '../errors/network-error-text.js';
import type { JsonRpcId } from '../shared/json-rpc.js';
import { mediaType } from '../shared/media-type.js';
import type { AnswerJudge } from './answer-judge.js';
import { lossReport } from './answer-judge.js';
import type { Attempt } from './attempt.js';
import { checkJsonOnRead } from './check-json-on-read.js';
import type { OutgoingRequest } from './outgoing-request.js';
import type { RecoveryContext } from './recovery-context.js';
import type { SessionKeeper } from './session-keeper.js';
import { GetStreamWatch, type OnLossInside, PostAnswerWatch, type SseWatchOwner } from './sse-answer-watch.js';
import { type StreamEnding, watchSseChunks } from './watch-sse-response.js';
import { readAllText, WatchedResponse } from './watched-response.js';
import { watchSseBodyInPlace } from './watched-sse-body.js';

// A session error has "error", "detail" or "message" in it: any other answer passes unparsed.
const MAY_NAME_AN_ERROR = /"(?:error|detail|message)"/;
// A GET stream that lived this long, even without a message, was a working stream.
const HEALTHY_STREAM_MS = 5_000;

/** Watches successful answers, and the health of the client's GET stream. */
export class AnswerWatch implements SseWatchOwner {
  readonly peekBytes: number;
  readonly healthyStreamMs: number;
  private readonly context: RecoveryContext;
  private readonly judge: AnswerJudge;

  constructor(context: RecoveryContext, judge: AnswerJudge) {
    this.context = context;
    this.judge = judge;
    this.peekBytes = context.config.peekBytes;
    this.healthyStreamMs = Math.min(HEALTHY_STREAM_MS, context.config.streamBackoff.maxDelayMs);
  }

  /**
   * A successful answer, watched for a session error inside it as the client reads it.
   * `onLossInside` produces the answer to deliver instead of a confirmed loss; `sessionId` is shown
   * in place of the server's (the client's session id).
   */
  watch(attempt: Attempt, response: Response, onLossInside: OnLossInside, sessionId?: string): Response {
    const { config } = this.context;
    if (!config.checkSuccessfulAnswers || !response.ok) return WatchedResponse.showing(response, sessionId);
    const contentType = response.headers.get('content-type');
    const type = mediaType(contentType);
    if (type === 'text/event-stream') {
      const answer = { contentType, onLossInside };
      const watch =
        attempt.request.method === 'POST' ? new PostAnswerWatch(this, attempt, answer) : new GetStreamWatch(this, attempt, answer);
      // A fetch answer: its own body is watched in place, and the answer goes to the client as it came.
      if (!(response instanceof WatchedResponse) && watchSseBodyInPlace(response, watch))
        return WatchedResponse.showing(response, sessionId);
      return WatchedResponse.rewatch(
        response,
        (inner) => {
          // Read straight from the HTTP client (no web stream), or from the body's own reader.
          let open = inner.reader;
          if (open === undefined) {
            const body = inner.stream();
            if (body === null) return inner;
            open = () => body.getReader();
          }
          const opened = open;
          let chunks: ReturnType<typeof watchSseChunks> | undefined;
          const watched = () => {
            chunks ??= watchSseChunks(opened, watch);
            return chunks;
          };
          return { stream: () => watched().asStream(), reader: watched, text: () => readAllText(watched()) };
        },
        sessionId,
      );
    }
    if (type === 'application/json' && !(Number(response.headers.get('content-length')) > config.peekBytes)) {
      return checkJsonOnRead(
        response,
        (text) => {
          // A session error is a small error object; anything else passes unparsed.
          if (text.length > config.peekBytes || !MAY_NAME_AN_ERROR.test(text)) return undefined;
          return this.judgeInside(attempt, { contentType, text }, onLossInside)?.then((judged) => judged?.instead);
        },
        config.peekBytes,
        sessionId,
      );
    }
    return WatchedResponse.showing(response, sessionId);
  }

  /** The client's GET stream failed: it is held back, and that is reported once per run of failures. */
  streamFailed(keeper: SessionKeeper, request: OutgoingRequest, reason: string): void {
    const { failures, delayMs, report } = keeper.streamFailed(Date.now());
    if (report) this.context.events.streamBackoff(request.url, { serverId: keeper.serverId, failures, delayMs, reason });
  }

  /** Whether `text` may name a session error: a session error has "error", "detail" or "message" in it. */
  mayNameAnError(text: string): boolean {
    return MAY_NAME_AN_ERROR.test(text);
  }

  /**
   * A session error inside a 200 answer is only a suspicion (a tool's own error can read the same):
   * once a ping confirms it, the answer to deliver instead; undefined to deliver it as it is.
   */
  judgeInside(
    attempt: Attempt,
    answer: { contentType: string | null; text: string },
    onLossInside: OnLossInside,
  ): Promise<{ readonly instead: Promise<Response> } | undefined> | undefined {
    const verdict = this.judge.lossIn(attempt.keeper, attempt.request, { status: 200, contentType: answer.contentType, body: answer.text });
    if (verdict === undefined) return undefined;
    return this.judge
      .confirmed(attempt, { verdict, status: 200 })
      .then((knownBy) => (knownBy === undefined ? undefined : { instead: onLossInside(verdict, knownBy) }));
  }

  /**
   * A request's SSE answer ended, or broke, before its answer arrived and cannot be resumed (no
   * event ids): the server has made the wait certain, so the client is answered at once (issue 8).
   * Not replayed: the request may have run. A session error the stream carried instead is judged
   * like any other (a confirmed loss marks the session dead, so the next request re-initializes).
   */
  async answerUnanswered(attempt: Attempt, unanswered: { ending: StreamEnding; judged: boolean }): Promise<string> {
    const { keeper, request } = attempt;
    const { ending } = unanswered;
    const method = request.messages().rpcMethod ?? 'the request';
    let instead = '';
    if (ending.stray !== undefined) {
      const verdict = this.judge.lossIn(keeper, request, { status: 200, contentType: 'application/json', body: ending.stray });
      const said = verdict?.serverMessage ?? keeper.scrubber(request.headers(), attempt.serverId)(ending.stray).slice(0, 200);
      instead = `; it sent "${said.slice(0, 200)}" instead`;
      if (verdict !== undefined && !unanswered.judged) {
        const knownBy = await this.judge.confirmed(attempt, { verdict, status: 200 });
        if (knownBy !== undefined) {
          const report = lossReport(verdict, 200);
          keeper.lostAt(attempt.sentAt, report);
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
    this.context.events.streamBroken(request, { how, error: `${what.join('; ')}${instead}` });
    const message = `mcp-lifeline: ${what.join('; ')}${instead}; it may or may not have run, so it was not sent again`;
    return ending.missing.map((id) => sseErrorEvent(id, message)).join('');
  }
}

function sseErrorEvent(id: JsonRpcId, message: string): string {
  return `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message } })}\n\n`;
}
