import type { ServerMessage } from './server-message.js';
import { challengeError, namesSignIn } from './sign-in-words.js';
import { hasSessionLossWording } from './wording.js';

/**
 * How much an answer says about the request it rejected. `proof`: only a session check produces
 * it, before the request is dispatched, so the request did not run (404 to a request that carried
 * a session id, the exact 400 texts of the SDKs' session checks, a 401 with such a text and no
 * challenge). `suspicion`: the error merely reads like session loss (a 200 in any shape, another
 * 4xx, an unknown wording); a tool that ran and failed can say the same, so the session is asked
 * (a `ping`) before anything is re-sent.
 */
export type LossEvidence = 'proof' | 'suspicion';

/** One way a server family says "I no longer know your session". */
export interface SessionLossRule {
  /** Stable name, reported in events, logs and `probe` output. */
  readonly name: string;
  /** The servers this answer comes from. */
  readonly family: string;
  /**
   * Whether a match proves the request was not processed, or only suggests it.
   * @default 'suspicion'
   */
  readonly evidence?: LossEvidence;
  /** HTTP statuses the rule applies to. */
  readonly status: readonly number[];
  /** Apply only when the request carried an `Mcp-Session-Id` (a stateless request cannot lose a session). */
  readonly needsSessionId: boolean;
  /** Apply only to this body kind. */
  readonly kind?: ServerMessage['kind'];
  /**
   * What the body must be: anything (the status says it all), a JSON-RPC error, a plain JSON
   * object that is no JSON-RPC message (`{"error": "…"}`, `{"detail": …}`, `{"message": …}`), or
   * any message that is not a JSON-RPC result, request or notification (text included).
   */
  readonly body: 'anything' | 'jsonrpc-error' | 'object' | 'message';
  /** Apply only to these JSON-RPC error codes. */
  readonly codes?: readonly number[];
  /**
   * What the message must say.
   * @default hasSessionLossWording
   */
  readonly says?: (text: string) => boolean;
  /**
   * Whether the answer must carry a `WWW-Authenticate` challenge: `absent` (the server's session
   * check refused the request, not its sign-in) or `present`.
   * @default either
   */
  readonly challenge?: 'absent' | 'present';
  /**
   * Apply only when the session had accepted the credentials the request carried (its last
   * successful answer came with the same ones): refused now, they show the session is gone.
   * @default false
   */
  readonly needsAcceptedCredentials?: boolean;
}

/** An answer that is never session loss, whatever its wording. Checked before the loss rules. */
export interface NotSessionLossRule {
  readonly name: string;
  /** Why this is not session loss, in words a user can act on. */
  readonly reason: string;
  readonly status?: readonly number[];
  readonly codes?: readonly number[];
  /** Apply only when the request carried (true) or did not carry (false) a session id. */
  readonly hadSessionId?: boolean;
  /** Apply only when the `WWW-Authenticate` challenge's `error` is one of these (`invalid_token`). */
  readonly challengeErrors?: readonly string[];
  /** Apply only when the server's text says this. */
  readonly says?: (text: string) => boolean;
  /**
   * Checked after the loss rules instead of before them: it rules out only what no loss rule
   * claimed (a 401 is authentication's answer unless a 401 rule reads a lost session in it).
   * @default false
   */
  readonly afterLossRules?: boolean;
}

const saysServerNotInitialized = (text: string) => /\bserver\s+(?:is\s+)?not\s+(?:yet\s+)?initiali[sz]ed\b/i.test(text);
const saysMissingSessionId = (text: string) => /\bmissing\s+(?:mcp[-_ ]?)?session[-_ ]?id\b/i.test(text);
const SERVER_ERRORS = Array.from({ length: 100 }, (_, index) => 500 + index);

/**
 * The exact messages SDK transports answer with when their session check fails, before the
 * request reaches a handler: seeing one of them in a 400 (or a 401 without a challenge) proves
 * the request did not run. Matched whole (case-insensitive), with or without a `Bad Request:`,
 * `Unauthorized:` or `Not Found:` prefix and a final period.
 */
export const SESSION_CHECK_MESSAGES: readonly string[] = [
  // Python SDK session manager (Atlassian MCP, FastMCP); TypeScript SDK README pattern; server-everything
  'No valid session ID provided',
  // TypeScript SDK transport (validateSession)
  'Mcp-Session-Id header is required',
  'Session not found',
  // TypeScript SDK examples (GET and DELETE handlers)
  'Invalid or missing session ID',
  // mcp-go (mark3labs) StreamableHTTPServer
  'Invalid session ID',
  'Session terminated',
  // OAuth-protected servers whose session check answers 401 without a challenge (openai/codex#46158);
  // rmcp's answers "Unauthorized: Session not found" (modelcontextprotocol/rust-sdk#689)
  'Unknown session',
  'Unknown session ID',
  'Invalid session',
];

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SESSION_CHECK_ALTERNATIVES = SESSION_CHECK_MESSAGES.map((text) => escapeRegExp(text).replace(/ /g, String.raw`\s+`)).join('|');
const SESSION_CHECK = new RegExp(
  String.raw`^\s*(?:(?:bad\s+request|unauthori[sz]ed|not\s+found)\s*:\s*)?(?:${SESSION_CHECK_ALTERNATIVES})\s*\.?\s*$`,
  'i',
);

/** True when `text` is, word for word, one of the {@linkcode SESSION_CHECK_MESSAGES}. */
export function isSessionCheckMessage(text: string): boolean {
  return SESSION_CHECK.test(text);
}

/**
 * The dialects mcp-lifeline recognises, most specific first. The first rule that matches names the
 * verdict. The spec (2025-03-26 … 2025-11-25, transports §Session Management) asks for 404; the
 * rest is what servers in the wild answer instead. Rules with `evidence: 'proof'` come from
 * session checks that run before dispatch; the others are confirmed with a `ping` on the same
 * session before anything is re-sent (issue 8: a tool's own error may mention a session).
 */
export const SESSION_LOSS_RULES: readonly SessionLossRule[] = [
  {
    name: 'spec-404',
    family: 'MCP spec; TypeScript SDK transport (-32001 "Session not found"), Go, Java, C# SDKs',
    evidence: 'proof',
    status: [404],
    needsSessionId: true,
    body: 'anything',
  },
  {
    name: 'gone-410',
    family: 'servers that answer 410 Gone for an ended session',
    evidence: 'suspicion',
    status: [410],
    needsSessionId: true,
    body: 'anything',
  },
  {
    name: 'missing-session-id-400',
    family: 'Python SDK handshake check (-32600 "Bad Request: Missing session ID")',
    evidence: 'proof',
    status: [400],
    needsSessionId: false,
    kind: 'json',
    body: 'jsonrpc-error',
    codes: [-32600],
    says: saysMissingSessionId,
  },
  {
    name: 'server-not-initialized-400',
    family: 'TypeScript SDK single-transport server after a restart (-32000 "Bad Request: Server not initialized")',
    evidence: 'proof',
    status: [400],
    needsSessionId: false,
    body: 'message',
    says: saysServerNotInitialized,
  },
  {
    name: 'jsonrpc-400',
    family: 'server-everything, TypeScript SDK transport and README pattern (-32000 "Bad Request: No valid session ID provided")',
    evidence: 'proof',
    status: [400],
    needsSessionId: false,
    kind: 'json',
    body: 'jsonrpc-error',
    says: isSessionCheckMessage,
  },
  {
    name: 'text-400',
    family:
      'Python SDK session manager under Starlette/uvicorn, e.g. Atlassian MCP (text "Bad Request: No valid session ID provided"); mcp-go ("Invalid session ID")',
    evidence: 'proof',
    status: [400],
    needsSessionId: false,
    kind: 'text',
    body: 'message',
    says: isSessionCheckMessage,
  },
  {
    name: 'json-400',
    family: 'servers answering plain JSON ({"error":"Session not found"}, {"detail":…})',
    evidence: 'suspicion',
    status: [400],
    needsSessionId: false,
    kind: 'json',
    body: 'object',
  },
  {
    name: 'worded-400',
    family: 'other 400 answers (JSON-RPC error or text) whose message names the lost session in other words',
    evidence: 'suspicion',
    status: [400],
    needsSessionId: false,
    body: 'message',
  },
  {
    name: 'worded-4xx',
    family: 'other 4xx answers that name the lost session (409, 412, 422)',
    evidence: 'suspicion',
    status: [409, 412, 422],
    needsSessionId: true,
    body: 'message',
  },
  {
    name: 'session-401',
    family:
      'servers whose session check answers 401 without a challenge: text "unknown session" (openai/codex#46158), rmcp "Unauthorized: Session not found"',
    evidence: 'proof',
    status: [401],
    needsSessionId: true,
    challenge: 'absent',
    body: 'message',
    says: isSessionCheckMessage,
  },
  {
    name: 'worded-401',
    family:
      'other 401 answers (text, JSON, JSON-RPC) that name the lost session, not a sign-in ("session expired", {"error":"invalid_session"})',
    evidence: 'suspicion',
    status: [401],
    needsSessionId: true,
    body: 'message',
  },
  {
    name: 'challenged-401',
    family: 'servers whose sign-in layer challenges a session it no longer knows, though it accepted the same credentials on that session',
    evidence: 'suspicion',
    status: [401],
    needsSessionId: true,
    challenge: 'present',
    needsAcceptedCredentials: true,
    body: 'anything',
  },
  {
    name: 'jsonrpc-200',
    family: 'gateways and proxies that wrap the session error in 200 application/json',
    evidence: 'suspicion',
    status: [200],
    needsSessionId: true,
    kind: 'json',
    body: 'jsonrpc-error',
  },
  {
    name: 'json-200',
    family: 'gateways that answer 200 with a plain JSON error ({"error":…}, {"detail":…}, {"message":…})',
    evidence: 'suspicion',
    status: [200],
    needsSessionId: true,
    kind: 'json',
    body: 'object',
  },
  {
    name: 'sse-200',
    family: 'servers whose 200 text/event-stream opens with the session error',
    evidence: 'suspicion',
    status: [200],
    needsSessionId: true,
    kind: 'sse',
    body: 'jsonrpc-error',
  },
  {
    name: 'sse-json-200',
    family: 'servers and gateways whose 200 text/event-stream opens with a plain JSON error event ({"error":…}, {"detail":…})',
    evidence: 'suspicion',
    status: [200],
    needsSessionId: true,
    kind: 'sse',
    body: 'object',
  },
];

/** Answers that must never trigger a re-initialization. */
export const NOT_SESSION_LOSS_RULES: readonly NotSessionLossRule[] = [
  {
    name: 'invalid-token',
    reason: 'the server refused the access token (error="invalid_token", RFC 6750): a sign-in problem, not session loss',
    status: [401],
    challengeErrors: ['invalid_token'],
  },
  {
    name: 'sign-in-401',
    reason: 'the server asks for a new sign-in (its answer names a login, a token or credentials): not session loss',
    status: [401],
    says: namesSignIn,
  },
  {
    name: 'auth',
    reason: 'authentication or authorization failure, not session loss: check the credentials (headers) you send',
    status: [401, 403],
    afterLossRules: true,
  },
  {
    name: 'server-error',
    reason: 'server error (5xx): the session may still be alive, and the request may have run',
    status: SERVER_ERRORS,
  },
  {
    name: 'rejected-message',
    reason: 'the server read the message and rejected the message itself (parse error, unknown method, invalid params)',
    // Not 404 or 410: those statuses mean the session is gone, whatever the body says.
    status: [200, 400, 409, 412, 422],
    codes: [-32700, -32601, -32602],
  },
  {
    name: 'not-found-without-session',
    reason: '404 to a request that carried no session id: wrong URL, not a lost session',
    status: [404],
    hadSessionId: false,
  },
];

/** What a rule looks at besides the body: the status and what the request and the answer carried. */
export interface AnswerFacts {
  readonly status: number;
  readonly hadSessionId: boolean;
  /** The answer's `WWW-Authenticate` header (null: none). */
  readonly challenge: string | null;
  /** The session had accepted the credentials the request carried. */
  readonly credentialsAccepted: boolean;
}

/** Whether `rule` matches; pure, so the table reads as data. */
export function ruleMatches(rule: SessionLossRule, facts: AnswerFacts, message: () => ServerMessage): boolean {
  if (!rule.status.includes(facts.status)) return false;
  if (rule.needsSessionId && !facts.hadSessionId) return false;
  if (rule.challenge !== undefined && (rule.challenge === 'present') !== (facts.challenge !== null)) return false;
  if (rule.needsAcceptedCredentials && !facts.credentialsAccepted) return false;
  if (rule.body === 'anything' && rule.kind === undefined) return true;
  const body = message();
  if (rule.kind !== undefined && body.kind !== rule.kind) return false;
  if (rule.body === 'anything') return true;
  if (rule.body === 'jsonrpc-error' && !body.isJsonRpcError) return false;
  if (rule.body === 'object' && !body.isPlainObject) return false;
  // A result, request or notification is the server working normally: a tool's own output that
  // quotes a session error ("isError" content included) is never session loss.
  if (rule.body === 'message' && (body.isJsonRpcResult || body.isJsonRpcRequest)) return false;
  if (rule.codes !== undefined && (body.code === undefined || !rule.codes.includes(body.code))) return false;
  return (rule.says ?? hasSessionLossWording)(body.text);
}

/** Whether the never-loss `rule` applies; pure, like {@linkcode ruleMatches}. */
export function notLossRuleMatches(rule: NotSessionLossRule, facts: AnswerFacts, message: () => ServerMessage): boolean {
  if (rule.status !== undefined && !rule.status.includes(facts.status)) return false;
  if (rule.hadSessionId !== undefined && rule.hadSessionId !== facts.hadSessionId) return false;
  if (rule.challengeErrors !== undefined) {
    const error = challengeError(facts.challenge);
    if (error === undefined || !rule.challengeErrors.includes(error)) return false;
  }
  if (rule.codes !== undefined) {
    const { code } = message();
    if (code === undefined || !rule.codes.includes(code)) return false;
  }
  return rule.says === undefined || rule.says(message().text);
}
