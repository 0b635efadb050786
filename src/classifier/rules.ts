import type { ServerMessage } from './server-message.js';
import { hasSessionLossWording } from './wording.js';

/**
 * How much an answer says about the request it rejected. `proof`: only a session check produces
 * it, before the request is dispatched, so the request did not run (404 to a request that carried
 * a session id, the exact 400 texts of the SDKs' session checks). `suspicion`: the error merely
 * reads like session loss (a 200 in any shape, another 4xx, an unknown wording); a tool that ran
 * and failed can say the same, so the session is asked (a `ping`) before anything is re-sent.
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
}

const saysServerNotInitialized = (text: string) => /\bserver\s+(?:is\s+)?not\s+(?:yet\s+)?initiali[sz]ed\b/i.test(text);
const saysMissingSessionId = (text: string) => /\bmissing\s+(?:mcp[-_ ]?)?session[-_ ]?id\b/i.test(text);
const SERVER_ERRORS = Array.from({ length: 100 }, (_, index) => 500 + index);

/**
 * The exact messages SDK transports answer with when their session check fails, before the
 * request reaches a handler: seeing one of them in a 400 proves the request did not run. Matched
 * whole (case-insensitive), with or without a `Bad Request:` prefix and a final period.
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
];

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SESSION_CHECK_ALTERNATIVES = SESSION_CHECK_MESSAGES.map((text) => escapeRegExp(text).replace(/ /g, String.raw`\s+`)).join('|');
const SESSION_CHECK = new RegExp(String.raw`^\s*(?:bad\s+request\s*:\s*)?(?:${SESSION_CHECK_ALTERNATIVES})\s*\.?\s*$`, 'i');

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
    name: 'auth',
    reason: 'authentication or authorization failure, not session loss: check the credentials (headers) you send',
    status: [401, 403],
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

/** Whether `rule` matches; pure, so the table reads as data. */
export function ruleMatches(rule: SessionLossRule, status: number, hadSessionId: boolean, message: () => ServerMessage): boolean {
  if (!rule.status.includes(status)) return false;
  if (rule.needsSessionId && !hadSessionId) return false;
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
