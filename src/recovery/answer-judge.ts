// Judging an answer: does it read like session loss (classify), and is that certain (proof) or
// only a suspicion that a `ping` on the same session must confirm (issue 8)?
import { classifySessionLoss, type SessionLossVerdict } from '../classifier/classify-session-loss.js';
import { hasSessionLossWording } from '../classifier/wording.js';
import type { SessionLossReport } from '../errors/SessionRecoveryError.js';
import { readPrefix } from '../shared/read-prefix.js';
import { describeUrl } from '../shared/redact.js';
import type { Attempt } from './attempt.js';
import type { OutgoingRequest } from './outgoing-request.js';
import { pingSession, type SessionCheck } from './ping-session.js';
import type { RecoveryContext } from './recovery-context.js';
import type { SessionKeeper } from './session-keeper.js';

/** A verdict of loss. */
export type Lost = SessionLossVerdict & { lost: true };

/** How a loss is known: the answer proves it, or a ping confirmed it. */
export type KnownBy = 'answer' | 'ping';

/** A non-2xx answer, classified; its body is still there to deliver (`rebuild`) or to drop (`discard`). */
export type Classified =
  | { readonly lost: false; readonly response: Response }
  | {
      readonly lost: true;
      readonly verdict: Lost;
      readonly status: number;
      readonly rebuild: () => Response;
      readonly discard: () => Promise<void>;
    };

/** A loss verdict as errors and events report it: the server's words shortened. */
export function lossReport(verdict: { readonly rule: string; readonly serverMessage: string }, status: number): SessionLossReport {
  return { rule: verdict.rule, status, serverMessage: verdict.serverMessage.slice(0, 200) };
}

/** Reads answers for session loss and confirms the suspicions with a ping. */
export class AnswerJudge {
  private readonly context: RecoveryContext;
  private readonly classifyOptions: Pick<RecoveryContext['config'], 'rules' | 'notLossRules'>;
  // Statuses some rule may match: any other error answer passes without being read.
  private readonly candidateStatuses: ReadonlySet<number>;

  constructor(context: RecoveryContext) {
    const { config } = context;
    this.context = context;
    this.classifyOptions = { rules: config.rules, notLossRules: config.notLossRules };
    this.candidateStatuses = new Set(config.rules.flatMap((rule) => rule.status));
  }

  /** Reads just enough of a non-2xx answer to tell whether it reads like session loss. */
  async classify(keeper: SessionKeeper, request: OutgoingRequest, response: Response): Promise<Classified> {
    const { status } = response;
    if (response.ok || !this.candidateStatuses.has(status)) return { lost: false, response };
    const contentType = response.headers.get('content-type');
    const challenge = response.headers.get('www-authenticate');
    const prefix = await readPrefix(response, this.context.config.peekBytes);
    const verdict = this.lossIn(keeper, request, { status, contentType, body: prefix.text, challenge });
    if (verdict === undefined) return { lost: false, response: prefix.rebuild() };
    return { lost: true, verdict, status, rebuild: () => prefix.rebuild(), discard: () => prefix.discard() };
  }

  /** The loss verdict for an answer, or undefined when it is not a loss (or the user said not to recover). */
  lossIn(
    keeper: SessionKeeper,
    request: OutgoingRequest,
    answer: { status: number; contentType: string | null; body: string; challenge?: string | null },
  ): Lost | undefined {
    // Only a 401 asks whether the session had accepted these credentials (it copies the headers).
    const credentialsAccepted = answer.status === 401 && keeper.credentialsAccepted(request.headers());
    const classified = classifySessionLoss(
      { method: request.method, hadSessionId: true, ...answer, credentialsAccepted },
      this.classifyOptions,
    );
    if (!classified.lost) return undefined;
    // Servers quote what they were sent (the id they did not find, a token): none of it reaches an
    // event, a log or an error.
    const scrub = keeper.scrubber(request.headers());
    const verdict = { ...classified, serverMessage: scrub(classified.serverMessage) };
    const wanted = this.context.config.shouldRecover?.(verdict, {
      method: request.method,
      url: describeUrl(request.url),
      rpcMethod: request.messages().rpcMethod,
    });
    return wanted === false ? undefined : verdict;
  }

  /**
   * Whether a loss verdict stands: at once for proof, after a ping for a suspicion. Undefined when
   * the session answered the ping (or could not be asked): the client then gets the answer as sent.
   */
  async confirmed(attempt: Attempt, loss: { verdict: Lost; status: number }): Promise<KnownBy | undefined> {
    const { keeper, request } = attempt;
    const { verdict, status } = loss;
    // A GET answered 404 without naming a session may come from a server that offers no stream.
    const proof = verdict.evidence === 'proof' && !(request.method === 'GET' && !hasSessionLossWording(verdict.serverMessage));
    if (proof) return 'answer';
    const check = await this.ping(keeper, request.headers(), attempt.serverId);
    if (check.state === 'lost') return 'ping';
    this.context.events.lossNotConfirmed(request, {
      loss: lossReport(verdict, status),
      serverId: attempt.serverId,
      outcome: check.state === 'alive' ? 'session-alive' : 'unconfirmed',
      reason: check.state === 'unconfirmed' ? check.reason : undefined,
    });
    if (check.state === 'alive' && request.method === 'GET' && status === 404) keeper.streamUnsupported();
    return undefined;
  }

  /** Pings the session `serverId` with the client's headers; never throws. */
  ping(keeper: SessionKeeper, headers: Headers, serverId: string | undefined): Promise<SessionCheck> {
    const sessionHeaders = new Headers(headers);
    if (serverId === undefined) sessionHeaders.delete('mcp-session-id');
    else sessionHeaders.set('mcp-session-id', serverId);
    if (keeper.protocolVersion !== undefined && sessionHeaders.has('mcp-protocol-version')) {
      sessionHeaders.set('mcp-protocol-version', keeper.protocolVersion);
    }
    const { context } = this;
    return pingSession({
      next: context.next,
      url: keeper.endpoint,
      headers: sessionHeaders,
      id: context.newId('ping'),
      timeout: context.config.timeout,
      classify: (status, contentType, body, challenge) => {
        const credentialsAccepted = status === 401 && keeper.credentialsAccepted(headers);
        const evidence = { method: 'POST', hadSessionId: true, status, contentType, body, challenge, credentialsAccepted };
        const verdict = classifySessionLoss(evidence, this.classifyOptions);
        return verdict.lost ? verdict : undefined;
      },
    });
  }
}
