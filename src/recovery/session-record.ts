import type { SessionLossReport } from '../errors/SessionRecoveryError.js';
import type { Circuit } from './circuit.js';
import type { KeepAlive } from './keep-alive.js';
import { bodyLength, bodyText, type OutgoingRequest, type RequestBody, summarizeJsonRpc } from './outgoing-request.js';
import type { SessionSharing, SessionStateChange } from './session-sharing.js';
import type { StreamBackoff } from './stream-backoff.js';

/**
 * One MCP session as the client knows it. The client keeps the id it got at `initialize` (the
 * alias) for the life of the connection; the middleware maps it to the server's current id.
 */
export interface SessionRecord {
  /** The id the client library holds and sends: stable across recoveries. */
  readonly alias: string;
  /** The MCP endpoint (URL without fragment) the session lives on. */
  readonly endpoint: string;
  /** The client's own `initialize` params, replayed to open a new session. */
  readonly initializeParams: unknown;
  /** The server's current id for this session; undefined once the server stopped issuing ids. */
  serverId: string | undefined;
  /** Re-initializations started so far. A request compares it with its value when sent. */
  attempts: number;
  /** The last attempt failed: the next request re-initializes before it is sent. */
  dead: boolean;
  /** Why the last attempt failed, shared with every request that met the same lost session. */
  lastFailure: unknown;
  /** The re-initialization in flight, shared by every request that waits for it. */
  recovering: Promise<void> | undefined;
  /** What the server answered when it lost the session, for errors raised later. */
  lastLoss: SessionLossReport | undefined;
  /** Protocol version negotiated by the latest re-initialization, if it differs from the client's. */
  protocolVersion: string | undefined;
  /** Last `logging/setLevel` level the server accepted. */
  logLevel: string | undefined;
  /** Resource URIs subscribed and not since unsubscribed. */
  readonly subscriptions: Set<string>;
  /** After a recovery, the client's next `Last-Event-ID` names an event of the lost session. */
  staleEventId: boolean;
  /** GET answered 404 while the session was alive: the server has no SSE stream (a 405 in disguise). */
  getUnsupported: boolean;
  /**
   * The current server session has answered successfully at least once. A session a recovery
   * opened that is rejected before it ever answered shows a server that keeps failing (issue 9).
   */
  proven: boolean;
  /** When the session last had a successful exchange (for the keep-alive), milliseconds since the epoch. */
  lastSuccessAt: number;
  /** The headers of the client's latest request (credentials for the middleware's own pings). */
  headerSource: RequestInit['headers'];
  /**
   * The abort signal the client's requests share, when they share one: the SDK transports pass one
   * for the life of the connection and abort it when they close. Undefined while requests come
   * with signals of their own (a per-request bound says nothing about the client).
   */
  clientSignal: AbortSignal | undefined;
  /** The signal of the client's latest request. */
  lastSignal: AbortSignal | undefined;
  /** Pings the session while idle, when `keepAlive` is on. */
  keepAlive: KeepAlive | undefined;
  /** Holds back the client's GET stream while it keeps failing. */
  readonly stream: StreamBackoff;
  /** Stops re-initializing a server that keeps failing; shared by every session on the endpoint. */
  readonly circuit: Circuit;
}

/** What a new record starts from. */
export interface SessionStart {
  readonly alias: string;
  readonly endpoint: string;
  readonly initializeParams: unknown;
  readonly circuit: Circuit;
  readonly stream: StreamBackoff;
}

export function createSessionRecord(start: SessionStart): SessionRecord {
  const { alias, endpoint, initializeParams, circuit, stream } = start;
  return {
    alias,
    endpoint,
    initializeParams,
    serverId: alias,
    attempts: 0,
    dead: false,
    lastFailure: undefined,
    recovering: undefined,
    lastLoss: undefined,
    protocolVersion: undefined,
    logLevel: undefined,
    subscriptions: new Set(),
    staleEventId: false,
    getUnsupported: false,
    proven: true,
    lastSuccessAt: Date.now(),
    headerSource: undefined,
    clientSignal: undefined,
    lastSignal: undefined,
    keepAlive: undefined,
    stream,
    circuit,
  };
}

/** Remembers up to `limit` sessions by alias; the oldest is forgotten first. `onForget` sees each record dropped. */
export function createSessionTable(limit: number, onForget: (record: SessionRecord) => void) {
  const records = new Map<string, SessionRecord>();
  const forget = (alias: string) => {
    const record = records.get(alias);
    if (record === undefined) return;
    records.delete(alias);
    onForget(record);
  };
  return {
    get: (alias: string) => records.get(alias),
    add(record: SessionRecord) {
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

/** Records the session state a message changed once the server accepted it, in the shared store too when there is one. */
export function trackSessionState(record: SessionRecord, request: OutgoingRequest, sharing: SessionSharing | undefined): void {
  if (request.method !== 'POST' || bodyLength(request.body) > STATE_SCAN_LIMIT) return;
  const text = bodyText(request.body);
  if (text === undefined || !STATE_METHOD.test(text)) return;
  for (const message of request.messages().messages) {
    const change = stateChangeOf(message);
    if (change === undefined) continue;
    if (change.kind === 'log-level') record.logLevel = change.level;
    else if (change.kind === 'subscribe') record.subscriptions.add(change.uri);
    else record.subscriptions.delete(change.uri);
    sharing?.changed(record.alias, change);
  }
}

function stateChangeOf(message: Record<string, unknown>): SessionStateChange | undefined {
  const params = message['params'] as Record<string, unknown> | undefined;
  if (message['method'] === 'logging/setLevel' && typeof params?.['level'] === 'string')
    return { kind: 'log-level', level: params['level'] };
  if (typeof params?.['uri'] !== 'string') return undefined;
  if (message['method'] === 'resources/subscribe') return { kind: 'subscribe', uri: params['uri'] };
  if (message['method'] === 'resources/unsubscribe') return { kind: 'unsubscribe', uri: params['uri'] };
  return undefined;
}
