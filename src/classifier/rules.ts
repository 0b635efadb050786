import type { ServerMessage } from './server-message.js';
import { hasSessionLossWording } from './wording.js';

/** One way a server family says "I no longer know your session". */
export interface SessionLossRule {
  /** Stable name, reported in events, logs and `probe` output. */
  readonly name: string;
  /** The servers this answer comes from. */
  readonly family: string;
  /** HTTP statuses the rule applies to. */
  readonly status: readonly number[];
  /** Apply only when the request carried an `Mcp-Session-Id` (a stateless request cannot lose a session). */
  readonly needsSessionId: boolean;
  /** Apply only to this body kind. */
  readonly kind?: ServerMessage['kind'];
  /** What the body must be: anything (the status proves it), a JSON-RPC error, or any message. */
  readonly body: 'anything' | 'jsonrpc-error' | 'message';
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
 * The dialects mcp-lifeline recognises, most specific first. The first rule that matches names the
 * verdict. The spec (2025-03-26 … 2025-11-25, transports §Session Management) asks for 404; the
 * rest is what servers in the wild answer instead.
 */
export const SESSION_LOSS_RULES: readonly SessionLossRule[] = [
  {
    name: 'spec-404',
    family: 'MCP spec; TypeScript SDK transport (-32001 "Session not found"), Go, Java, C# SDKs',
    status: [404],
    needsSessionId: true,
    body: 'anything',
  },
  {
    name: 'gone-410',
    family: 'servers that answer 410 Gone for an ended session',
    status: [410],
    needsSessionId: true,
    body: 'anything',
  },
  {
    name: 'missing-session-id-400',
    family: 'Python SDK handshake check (-32600 "Bad Request: Missing session ID")',
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
    status: [400],
    needsSessionId: false,
    body: 'message',
    says: saysServerNotInitialized,
  },
  {
    name: 'jsonrpc-400',
    family: 'server-everything, TypeScript SDK README pattern (-32000 "Bad Request: No valid session ID provided")',
    status: [400],
    needsSessionId: false,
    kind: 'json',
    body: 'jsonrpc-error',
  },
  {
    name: 'text-400',
    family: 'Python SDK session manager under Starlette/uvicorn, e.g. Atlassian MCP (text "Bad Request: No valid session ID provided")',
    status: [400],
    needsSessionId: false,
    kind: 'text',
    body: 'message',
  },
  {
    name: 'json-400',
    family: 'servers answering plain JSON ({"error":"Session not found"}, {"detail":…})',
    status: [400],
    needsSessionId: false,
    kind: 'json',
    body: 'message',
  },
  {
    name: 'worded-4xx',
    family: 'other 4xx answers that name the lost session (409, 412, 422)',
    status: [409, 412, 422],
    needsSessionId: true,
    body: 'message',
  },
  {
    name: 'jsonrpc-200',
    family: 'gateways and proxies that wrap the session error in 200 application/json',
    status: [200],
    needsSessionId: true,
    kind: 'json',
    body: 'jsonrpc-error',
  },
  {
    name: 'sse-200',
    family: 'servers whose 200 text/event-stream opens with the session error',
    status: [200],
    needsSessionId: true,
    kind: 'sse',
    body: 'jsonrpc-error',
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
  if (rule.body === 'message' && body.isJsonRpcResult) return false;
  if (rule.codes !== undefined && (body.code === undefined || !rule.codes.includes(body.code))) return false;
  return (rule.says ?? hasSessionLossWording)(body.text);
}
