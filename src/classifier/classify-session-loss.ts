import {
  type AnswerFacts,
  type LossEvidence,
  NOT_SESSION_LOSS_RULES,
  type NotSessionLossRule,
  notLossRuleMatches,
  ruleMatches,
  SESSION_LOSS_RULES,
  type SessionLossRule,
} from './rules.js';
import { readServerMessage, type ServerMessage } from './server-message.js';

/** What a request carried and what came back: everything the classifier looks at. */
export interface SessionLossEvidence {
  /** The request's HTTP method: `POST`, `GET` or `DELETE`. */
  readonly method: string;
  /** Whether the request carried an `Mcp-Session-Id` header. */
  readonly hadSessionId: boolean;
  /** The response's HTTP status. */
  readonly status: number;
  /** The response's `Content-Type`, if any. */
  readonly contentType?: string | null | undefined;
  /**
   * The start of the response body as text (for `text/event-stream`, the raw stream text: the
   * first event that carries data is read from it). A bounded prefix is enough; never pass a whole
   * stream.
   * @default ''
   */
  readonly body?: string | undefined;
  /**
   * The response's `WWW-Authenticate` header: a 401 whose challenge says `error="invalid_token"`
   * is about the token, one without a challenge about the server's session check.
   * @default null (none)
   */
  readonly challenge?: string | null | undefined;
  /**
   * Whether the session had accepted the credentials the request carried (its last successful
   * answer came with the same `Authorization`): a 401 challenge to them then means the session,
   * not the token, is gone.
   * @default false
   */
  readonly credentialsAccepted?: boolean | undefined;
}

/** The classifier's answer. */
export type SessionLossVerdict =
  | {
      readonly lost: true;
      /** Name of the rule that matched, e.g. `spec-404`, `text-400`. */
      readonly rule: string;
      /** The server family that answers this way. */
      readonly family: string;
      /**
       * `proof`: the answer shows the request was not processed (replay it). `suspicion`: the
       * error only reads like session loss; confirm it (e.g. with a `ping`) before re-sending.
       */
      readonly evidence: LossEvidence;
      /** What the server said (error message or body excerpt). */
      readonly serverMessage: string;
    }
  | {
      readonly lost: false;
      /** Name of the negative rule that ruled it out, if one did. */
      readonly rule?: string;
      /** Why this is not session loss. */
      readonly reason: string;
      readonly serverMessage: string;
    };

/** Options for {@linkcode classifySessionLoss}. */
export interface ClassifyOptions {
  /**
   * The loss rules to apply, in order.
   * @default SESSION_LOSS_RULES
   */
  readonly rules?: readonly SessionLossRule[];
  /**
   * Answers that are never session loss, checked first.
   * @default NOT_SESSION_LOSS_RULES
   */
  readonly notLossRules?: readonly NotSessionLossRule[];
}

/**
 * Says whether a response means "the server no longer knows this session", and by which rule.
 * Pure: no I/O, no state. Works for POST, GET and DELETE.
 *
 * @example
 * classifySessionLoss({ method: 'POST', hadSessionId: true, status: 400,
 *   contentType: 'text/plain', body: 'Bad Request: No valid session ID provided' });
 * // → { lost: true, rule: 'text-400', … }
 */
export function classifySessionLoss(evidence: SessionLossEvidence, options: ClassifyOptions = {}): SessionLossVerdict {
  const { rules = SESSION_LOSS_RULES, notLossRules = NOT_SESSION_LOSS_RULES } = options;
  let parsed: ServerMessage | undefined;
  const message = () => {
    parsed ??= readServerMessage(evidence.contentType, evidence.body ?? '');
    return parsed;
  };

  const facts: AnswerFacts = {
    status: evidence.status,
    hadSessionId: evidence.hadSessionId,
    challenge: evidence.challenge === undefined || evidence.challenge === '' ? null : evidence.challenge,
    credentialsAccepted: evidence.credentialsAccepted === true,
  };
  const notLoss = (rule: NotSessionLossRule) => ({
    lost: false as const,
    rule: rule.name,
    reason: rule.reason,
    serverMessage: message().text,
  });

  for (const rule of notLossRules) {
    if (rule.afterLossRules !== true && notLossRuleMatches(rule, facts, message)) return notLoss(rule);
  }

  for (const rule of rules) {
    if (ruleMatches(rule, facts, message)) {
      return { lost: true, rule: rule.name, family: rule.family, evidence: rule.evidence ?? 'suspicion', serverMessage: message().text };
    }
  }

  for (const rule of notLossRules) {
    if (rule.afterLossRules === true && notLossRuleMatches(rule, facts, message)) return notLoss(rule);
  }

  return { lost: false, reason: describeMiss(evidence, message()), serverMessage: message().text };
}

function describeMiss(evidence: SessionLossEvidence, body: ServerMessage): string {
  if (evidence.status >= 200 && evidence.status < 300 && !body.isJsonRpcError) return 'a successful answer';
  if (!evidence.hadSessionId && evidence.status === 200) return 'the request carried no session id';
  return `no rule matches HTTP ${evidence.status}${body.text === '' ? '' : ` "${body.text.slice(0, 120)}"`}`;
}
