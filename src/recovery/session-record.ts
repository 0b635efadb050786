// What is kept about sessions besides their keepers (session-keeper.ts): the table of sessions by
// the id the client holds, and what a request's body says about a session (its initialize, the
// state changes a recovery must restore).
import { summarizeJsonRpc } from '../shared/json-rpc.js';
import { type SessionStateChange, stateChangeOf } from '../shared/session-state.js';
import { bodyLength, bodyText, type OutgoingRequest, type RequestBody } from './outgoing-request.js';

/** Sessions by the id the client holds. */
export interface SessionTable<T> {
  get(alias: string): T | undefined;
  /** Adds (or replaces) a session; past the limit, the oldest is forgotten. */
  add(record: T): void;
  /** Forgets a session. */
  delete(alias: string): void;
  readonly size: number;
}

/** Remembers up to `limit` sessions by alias; the oldest is forgotten first. `onForget` sees each record dropped. */
export function createSessionTable<T extends { readonly alias: string }>(limit: number, onForget: (record: T) => void): SessionTable<T> {
  const records = new Map<string, T>();
  const forget = (alias: string) => {
    const record = records.get(alias);
    if (record === undefined) return;
    records.delete(alias);
    onForget(record);
  };
  return {
    get: (alias: string) => records.get(alias),
    add(record: T) {
      forget(record.alias);
      records.set(record.alias, record);
      if (records.size > limit) forget(records.keys().next().value as string);
    },
    delete: forget,
    get size() {
      return records.size;
    },
  };
}

/** The endpoint a URL names: the URL without its fragment. */
export function endpointOf(url: string): string {
  const hash = url.indexOf('#');
  return hash === -1 ? url : url.slice(0, hash);
}

// Small bodies only: state-changing messages are tiny, and this keeps big tool calls free of scans.
const STATE_SCAN_LIMIT = 64 * 1024;
const STATE_METHOD = /"(?:logging\/setLevel|resources\/(?:un)?subscribe)"/;
const INITIALIZE_METHOD = /"initialize"/;

/** The params of the `initialize` request in a POST body, or undefined when it has none. */
export function initializeParamsOf(body: RequestBody): { params: unknown } | undefined {
  if (bodyLength(body) > STATE_SCAN_LIMIT) return undefined;
  const text = bodyText(body);
  if (text === undefined || !INITIALIZE_METHOD.test(text)) return undefined;
  const initialize = summarizeJsonRpc(text).messages.find((message) => message['method'] === 'initialize');
  return initialize === undefined ? undefined : { params: initialize['params'] ?? {} };
}

/**
 * The changes of session state (log level, subscriptions) a request makes once the server accepts
 * it; undefined, without parsing, for the requests that make none.
 */
export function stateChangesOf(request: OutgoingRequest): SessionStateChange[] | undefined {
  if (request.method !== 'POST' || bodyLength(request.body) > STATE_SCAN_LIMIT) return undefined;
  const text = bodyText(request.body);
  if (text === undefined || !STATE_METHOD.test(text)) return undefined;
  const changes: SessionStateChange[] = [];
  for (const message of request.messages().messages) {
    const change = stateChangeOf(message);
    if (change !== undefined) changes.push(change);
  }
  return changes;
}
