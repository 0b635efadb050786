import {
  errorReply,
  INVALID_REQUEST,
  idOf,
  isJsonRpcMessage,
  type JsonRpcMessage,
  NotJson,
  PARSE_ERROR,
  parseJson,
} from '../shared/json-rpc.js';
import { type MessageEnds, readMessageEnds } from '../upstream/message-ends.js';
import type { OversizedLine } from './line-reader.js';

/** A line from the host: a message to pass on, or the error to answer it with. */
export type HostLine = { readonly message: JsonRpcMessage } | { readonly reply: JsonRpcMessage };

/** Reads one stdio line as a JSON-RPC message; a line that is not one gets the error JSON-RPC prescribes. */
export function parseHostLine(line: string): HostLine {
  const parsed = parseJson(line);
  if (parsed instanceof NotJson) return { reply: errorReply(null, PARSE_ERROR, `Parse error: the line is not JSON (${parsed.reason})`) };
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
