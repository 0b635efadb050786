import { isJsonRpcMessage } from '../upstream/message-delivery.js';
import { type MessageEnds, readMessageEnds } from '../upstream/message-ends.js';
import type { JsonRpcId, JsonRpcMessage } from '../upstream/upstream.js';
import type { OversizedLine } from './line-reader.js';

/** A line from the host: a message to pass on, or the error to answer it with. */
export type HostLine = { readonly message: JsonRpcMessage } | { readonly reply: JsonRpcMessage };

/** JSON-RPC 2.0 §5.1 codes. */
const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;

/** Reads one stdio line as a JSON-RPC message; a line that is not one gets the error JSON-RPC prescribes. */
export function parseHostLine(line: string): HostLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    return { reply: errorReply(null, PARSE_ERROR, `Parse error: the line is not JSON (${(error as Error).message})`) };
  }
  if (Array.isArray(parsed)) {
    return {
      reply: errorReply(null, INVALID_REQUEST, 'Invalid Request: JSON-RPC batches are not supported (MCP removed them in 2025-06-18)'),
    };
  }
  if (!isJsonRpcMessage(parsed)) {
    const id = idOf(parsed);
    return {
      reply: errorReply(
        id,
        INVALID_REQUEST,
        'Invalid Request: not a JSON-RPC 2.0 message (it needs "jsonrpc": "2.0" and a method, or an id with a result or error)',
      ),
    };
  }
  return { message: parsed };
}

/** The kind and id of a host line too long to parse, read from its two ends. */
export function readOversized(line: OversizedLine): MessageEnds {
  return readMessageEnds(line.head, line.tail);
}

/** Why an oversized message was not passed on, for the error that answers it. */
export function oversizedText(bytes: number, limit: number, who: string): string {
  return `mcp-lifeline: ${who} is ${bytes} bytes, over the ${limit}-byte limit (--max-message-size); it was not passed on`;
}

export function errorReply(id: JsonRpcId | null, code: number, message: string): JsonRpcMessage {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

function idOf(value: unknown): JsonRpcId | null {
  if (typeof value !== 'object' || value === null) return null;
  const id = (value as Record<string, unknown>)['id'];
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
