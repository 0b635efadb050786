import type { JsonRpcId } from '../shared/json-rpc.js';

/** What the two ends of a serialized JSON-RPC message say about it, without parsing the middle. */
export interface MessageEnds {
  readonly kind: 'request' | 'notification' | 'answer' | 'unknown';
  /** The top-level id; null when there is none or it cannot be read. */
  readonly id: JsonRpcId | null;
  /** The method, when the opening names one. */
  readonly method: string | undefined;
}

const VALUE = String.raw`("(?:[^"\\]|\\.)*"|-?\d+)`;
// Anchored at the end: an id nested in params or a result cannot match.
const LAST_ID = new RegExp(String.raw`"id"\s*:\s*${VALUE}\s*\}\s*$`);
// Anchored at the start, after an optional "jsonrpc" member.
const FIRST_ID = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${VALUE}`);
const METHOD = /"method"\s*:\s*"((?:[^"\\]|\\.)*)"/;

/**
 * Reads the kind, id and method of a message too large to parse cheaply from its first and last
 * few KiB. Writers put `id` first or last (the official SDKs: `{"result":…,"jsonrpc":"2.0","id":7}`
 * and `{"method":…,"params":…,"jsonrpc":"2.0","id":7}`); the keys that open the message say whether
 * it is a request or an answer.
 */
export function readMessageEnds(head: string, tail: string): MessageEnds {
  const last = LAST_ID.exec(tail);
  const first = FIRST_ID.exec(head);
  const raw = last?.[1] ?? first?.[1];
  const id = raw === undefined ? null : (JSON.parse(raw) as JsonRpcId);
  const opening = head.slice(0, 512);
  const method = METHOD.exec(opening)?.[1];
  if (method !== undefined) {
    const hasId = raw !== undefined || /"id"\s*:/.test(opening) || /"id"\s*:[^:]*$/.test(tail);
    return { kind: hasId ? 'request' : 'notification', id, method: JSON.parse(`"${method}"`) as string };
  }
  return { kind: /"(?:result|error)"\s*:/.test(opening) ? 'answer' : 'unknown', id, method: undefined };
}
