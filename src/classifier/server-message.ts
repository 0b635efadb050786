import { NotJson, parseJson } from '../shared/json-rpc.js';
import { mediaType } from '../shared/media-type.js';
import { firstSseData } from '../shared/sse/read-event-stream.js';

/** What a response body says, reduced to what the rules look at. */
export interface ServerMessage {
  /** `json`, `sse` or `text`, from the content type (and the body, when the type is missing). */
  readonly kind: 'json' | 'sse' | 'text';
  /** The body is (or its first SSE event carries) a JSON-RPC error object. */
  readonly isJsonRpcError: boolean;
  /** The body is (or its first SSE event carries) a JSON-RPC result: a success, never a loss. */
  readonly isJsonRpcResult: boolean;
  /** The body is (or its first SSE event carries) a JSON-RPC request or notification: never a loss. */
  readonly isJsonRpcRequest: boolean;
  /** The body is (or its first SSE event carries) a plain JSON object that is no JSON-RPC message: `{"error": "…"}`, `{"detail": …}`. */
  readonly isPlainObject: boolean;
  /** The JSON-RPC error code, when there is one. */
  readonly code: number | undefined;
  /** The human-readable text the server sent: error message and data, `detail`, or the raw body. */
  readonly text: string;
}

/** Interprets a (bounded) body so the rules can be written as data. */
export function readServerMessage(contentType: string | null | undefined, body: string): ServerMessage {
  const type = mediaType(contentType);
  const trimmed = body.trimStart();
  const kind: ServerMessage['kind'] =
    type === 'text/event-stream'
      ? 'sse'
      : type === 'application/json' || type.endsWith('+json') || (type === '' && /^[[{]/.test(trimmed))
        ? 'json'
        : 'text';
  const payload = kind === 'sse' ? (firstSseData(body) ?? '') : body;
  const parsed = kind === 'text' ? undefined : parseJson(payload);
  if (parsed === undefined || parsed instanceof NotJson) return plainText(kind, payload);
  // A batch answer: the first element speaks for it.
  const message = Array.isArray(parsed) ? parsed[0] : parsed;
  return describeJson(kind, message, payload);
}

function describeJson(kind: ServerMessage['kind'], message: unknown, raw: string): ServerMessage {
  if (typeof message !== 'object' || message === null) return plainText(kind, raw);
  const record = message as Record<string, unknown>;
  const error = record['error'];
  const isJsonRpc = record['jsonrpc'] === '2.0';
  // A result, with or without "jsonrpc": the server answered; whatever it quotes is its content.
  const isJsonRpcResult = 'result' in record && !('error' in record);
  const isJsonRpcRequest = typeof record['method'] === 'string';
  if (typeof error === 'object' && error !== null) {
    const { code, message: errorMessage, data } = error as Record<string, unknown>;
    return {
      kind,
      isJsonRpcError: isJsonRpc || typeof code === 'number',
      isJsonRpcResult: false,
      isJsonRpcRequest: false,
      // {"error": {"message": …}} without "jsonrpc" or a numeric code is a plain error object.
      isPlainObject: !isJsonRpc && typeof code !== 'number',
      code: typeof code === 'number' ? code : undefined,
      text: [errorMessage, dataText(data)].filter((part) => typeof part === 'string').join(' — '),
    };
  }
  // Non-JSON-RPC shapes: {"error":"Session not found"}, FastAPI's {"detail":…}, {"message":…}.
  const text = ['error', 'message', 'detail', 'error_description', 'description', 'reason']
    .map((key) => record[key])
    .map((value) => (typeof value === 'string' ? value : dataText(value)))
    .filter((part): part is string => typeof part === 'string' && part !== '')
    .join(' — ');
  return {
    kind,
    isJsonRpcError: false,
    isJsonRpcResult,
    isJsonRpcRequest,
    isPlainObject: !isJsonRpcResult && !isJsonRpcRequest && !isJsonRpc,
    code: undefined,
    text,
  };
}

function plainText(kind: ServerMessage['kind'], text: string): ServerMessage {
  return {
    kind,
    isJsonRpcError: false,
    isJsonRpcResult: false,
    isJsonRpcRequest: false,
    isPlainObject: false,
    code: undefined,
    text: text.slice(0, 2048),
  };
}

function dataText(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (typeof data === 'object' && data !== null) {
    const nested = (data as Record<string, unknown>)['message'] ?? (data as Record<string, unknown>)['detail'];
    if (typeof nested === 'string') return nested;
  }
  return undefined;
}
