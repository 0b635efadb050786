// JSON-RPC 2.0 as every side of mcp-lifeline reads it: the middleware (request bodies), the
// upstreams (server answers), the bridge (host lines) and the gateway (relayed answers).

/** A JSON-RPC id (JSON-RPC 2.0 §4: a string or a number). */
export type JsonRpcId = string | number;

/** One JSON-RPC 2.0 message, as the host or the server sent it. `id: null` only on errors answering a message whose id could not be read. */
export interface JsonRpcMessage {
  readonly jsonrpc: '2.0';
  readonly id?: JsonRpcId | null;
  readonly method?: string;
  readonly params?: Record<string, unknown> | undefined;
  readonly result?: unknown;
  readonly error?: { readonly code: number; readonly message: string; readonly data?: unknown };
}

/** JSON-RPC 2.0 §5.1: the text is not JSON. */
export const PARSE_ERROR = -32700;
/** JSON-RPC 2.0 §5.1: the JSON is not a valid request. */
export const INVALID_REQUEST = -32600;
/** JSON-RPC 2.0 §5.1: the method does not exist or is not available. */
export const METHOD_NOT_FOUND = -32601;
/** Implementation-defined server error (JSON-RPC 2.0 §5.1): what mcp-lifeline answers with when no answer can come. */
export const LIFELINE_ERROR = -32000;

/** What {@linkcode parseJson} gives for a text that is not JSON, with the parser's reason. */
export class NotJson {
  readonly reason: string;

  constructor(reason: string) {
    this.reason = reason;
  }
}

/** The value of a JSON text, or {@linkcode NotJson}; never throws. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    return new NotJson((error as Error).message);
  }
}

/** The messages a parsed JSON-RPC text holds: a batch's elements, or the one value. */
export function messagesIn(parsed: unknown): readonly unknown[] {
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** A JSON-RPC 2.0 request, notification or answer (JSON-RPC 2.0 §4–5). */
export function isJsonRpcMessage(value: unknown): value is JsonRpcMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const message = value as Record<string, unknown>;
  if (message['jsonrpc'] !== '2.0') return false;
  const id = message['id'];
  const validId = typeof id === 'string' || typeof id === 'number';
  if (typeof message['method'] === 'string') return id === undefined || validId;
  if (!validId && id !== null) return false;
  return 'result' in message || (typeof message['error'] === 'object' && message['error'] !== null);
}

type MessageLike = { readonly method?: unknown; readonly id?: unknown };

/** A message that wants exactly one answer: it has a method and an id. */
export function isRequest<M extends MessageLike>(message: M): message is M & { readonly method: string; readonly id: JsonRpcId } {
  return typeof message.method === 'string' && (typeof message.id === 'string' || typeof message.id === 'number');
}

/** An answer (a result or an error) rather than a request or notification. */
export function isAnswer(message: MessageLike): boolean {
  return message.method === undefined && ('result' in message || 'error' in message);
}

/** The top-level id of a value that may be a message; null when there is none a JSON-RPC error could name. */
export function idOf(value: unknown): JsonRpcId | null {
  if (typeof value !== 'object' || value === null) return null;
  const id = (value as Record<string, unknown>)['id'];
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** A map key for an id that keeps `1` and `"1"` apart (JSON-RPC 2.0 §4: they are different requests). */
export function idKey(id: JsonRpcId | null | undefined): string {
  return `${typeof id}:${String(id)}`;
}

/** A JSON-RPC error answer. */
export function errorReply(id: JsonRpcId | null, code: number, message: string): JsonRpcMessage {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

/** The JSON-RPC content of a POST body, read leniently (any object counts; nothing is validated). */
export interface JsonRpcSummary {
  /** Parsed messages; empty when the body is not JSON-RPC. */
  readonly messages: readonly Record<string, unknown>[];
  /** Whether the body was a JSON array (a 2025-03-26 batch). */
  readonly batch: boolean;
  /** Method of the first request or notification. */
  readonly rpcMethod: string | undefined;
  /** Ids of the requests (messages that expect an answer). */
  readonly requestIds: readonly JsonRpcId[];
}

const EMPTY_SUMMARY: JsonRpcSummary = { messages: [], batch: false, rpcMethod: undefined, requestIds: [] };

/** Summarizes a body as JSON-RPC; never throws. */
export function summarizeJsonRpc(text: string | undefined): JsonRpcSummary {
  if (text === undefined || text === '') return EMPTY_SUMMARY;
  const parsed = parseJson(text);
  if (parsed instanceof NotJson) return EMPTY_SUMMARY;
  const messages = messagesIn(parsed).filter(
    (message): message is Record<string, unknown> => typeof message === 'object' && message !== null,
  );
  const withMethod = messages.find((message) => typeof message['method'] === 'string');
  return {
    messages,
    batch: Array.isArray(parsed),
    rpcMethod: withMethod?.['method'] as string | undefined,
    requestIds: messages.filter(isRequest).map((message) => message.id),
  };
}
