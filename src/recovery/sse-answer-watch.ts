// What the SSE watcher (watch-sse-response.ts) of one answer is told: what to look for, and what to
// do when it finds it. Classes, not closures: one is built for every SSE answer, and one object with
// its methods on the prototype costs a fraction of the half-dozen closures it replaces (issue 21:
// the middleware at ≤ 1.02× a plain client).
import type { KnownBy, Lost } from './answer-judge.js';
import type { Attempt } from './attempt.js';
import { bodyText, type OutgoingRequest } from './outgoing-request.js';
import type { SessionKeeper } from './session-keeper.js';
import { sseReplacement } from './sse-replacement.js';
import type { AnsweredRequests, SseWatch, StreamEnding } from './watch-sse-response.js';

/** Produces the answer to deliver instead of one that carried a confirmed loss. */
export type OnLossInside = (verdict: Lost, knownBy: KnownBy) => Promise<Response>;

/** What the watchers ask of the middleware (the `AnswerWatch` that builds them). */
export interface SseWatchOwner {
  readonly peekBytes: number;
  /** A GET stream that lived this long, even without a message, was a working stream. */
  readonly healthyStreamMs: number;
  /** Whether the text may name a session error: any other event passes unparsed. */
  mayNameAnError(text: string): boolean;
  /**
   * The session error `text` reads like, confirmed: the answer to deliver instead; undefined when
   * it is not one (or was not confirmed); a bare undefined when there is nothing to wait for.
   */
  judgeInside(
    attempt: Attempt,
    answer: { contentType: string | null; text: string },
    onLossInside: OnLossInside,
  ): Promise<{ readonly instead: Promise<Response> } | undefined> | undefined;
  /** SSE text that answers the requests a stream ended without (see `SseWatch.onUnanswered`). */
  answerUnanswered(attempt: Attempt, unanswered: { ending: StreamEnding; judged: boolean }): Promise<string>;
  /** The client's GET stream failed. */
  streamFailed(keeper: SessionKeeper, request: OutgoingRequest, reason: string): void;
}

/** What both watchers share: the answer's first event judged, and swapped for the replay's when the loss is confirmed. */
abstract class FirstEventWatch implements SseWatch {
  readonly limit: number;
  protected readonly owner: SseWatchOwner;
  protected readonly attempt: Attempt;
  private readonly contentType: string | null;
  private readonly onLossInside: OnLossInside;

  constructor(owner: SseWatchOwner, attempt: Attempt, answer: { contentType: string | null; onLossInside: OnLossInside }) {
    this.owner = owner;
    this.attempt = attempt;
    this.contentType = answer.contentType;
    this.onLossInside = answer.onLossInside;
    this.limit = owner.peekBytes;
  }

  decide(text: string): Promise<ReadableStream<Uint8Array> | undefined> | undefined {
    if (!this.owner.mayNameAnError(text)) return undefined;
    const judging = this.owner.judgeInside(this.attempt, { contentType: this.contentType, text }, this.onLossInside);
    return judging?.then((judged) => {
      if (judged !== undefined) return sseReplacement(judged.instead, this.attempt.request);
      this.cleared();
      return undefined;
    });
  }

  /** A ping cleared the suspicion the first event raised. */
  protected cleared(): void {}
}

/** The answer to a POST: its first event judged, and its requests answered if it ends without them. */
export class PostAnswerWatch extends FirstEventWatch {
  readonly requests: AnsweredRequests;
  // Once a ping cleared a suspicion in this answer, the rest of it is not asked about again.
  private judged = false;

  constructor(owner: SseWatchOwner, attempt: Attempt, answer: { contentType: string | null; onLossInside: OnLossInside }) {
    super(owner, attempt, answer);
    this.requests = new RequestIds(attempt.request);
  }

  onUnanswered(ending: StreamEnding): Promise<string> {
    return this.owner.answerUnanswered(this.attempt, { ending, judged: this.judged });
  }

  protected override cleared(): void {
    this.judged = true;
  }
}

/** The client's GET stream: its first event judged, and its health noted for the stream's backoff. */
export class GetStreamWatch extends FirstEventWatch {
  private readonly opened = Date.now();
  private delivering = false;

  onMessage(): void {
    this.delivering = true;
    this.attempt.keeper.streamWorked();
  }

  onClose(how: 'ended' | 'broke' | 'cancelled'): void {
    if (how === 'cancelled' || this.delivering) return;
    const { keeper, request } = this.attempt;
    if (Date.now() - this.opened >= this.owner.healthyStreamMs) keeper.streamWorked();
    else this.owner.streamFailed(keeper, request, how === 'broke' ? 'the stream broke at once' : 'the stream closed without a message');
  }
}

/**
 * The requests of a POST, for the SSE watcher. An answer's id is looked for in the body as written
 * (`"id":7`), and the body is parsed only when that fails (other spacing) or at the end.
 */
class RequestIds implements AnsweredRequests {
  readonly count: number;
  private readonly request: OutgoingRequest;
  private readonly text: string | undefined;

  constructor(request: OutgoingRequest) {
    this.request = request;
    const text = bodyText(request.body);
    this.text = text;
    this.count = text === undefined || text.trimStart().startsWith('[') ? request.messages().requestIds.length : 1;
  }

  isOurs(id: unknown): boolean {
    if (typeof id !== 'string' && typeof id !== 'number') return false;
    return this.text?.includes(`"id":${JSON.stringify(id)}`) === true || this.request.messages().requestIds.includes(id);
  }

  ids(): readonly (string | number)[] {
    return this.request.messages().requestIds;
  }
}
