import type { JsonRpcMessage } from '../shared/json-rpc.js';

/**
 * What the host established that a new session (or every stateless request) must carry again:
 * its own `initialize` params, the log level it set, the resources it subscribed to.
 */
export interface HostState {
  /** The host's `initialize` params: replayed to open a new session, or mapped into each envelope. */
  initializeParams: Record<string, unknown> | undefined;
  /** The last `logging/setLevel` level the server accepted. */
  logLevel: string | undefined;
  /** Resource URIs subscribed and not since unsubscribed. */
  readonly subscriptions: Set<string>;
}

export function createHostState(): HostState {
  return { initializeParams: undefined, logLevel: undefined, subscriptions: new Set() };
}

/** Records the state a host request changed, once the server accepted it (as the middleware does). */
export function recordAcceptedState(state: HostState, request: Pick<JsonRpcMessage, 'method' | 'params'>): void {
  const params = request.params;
  if (request.method === 'logging/setLevel' && typeof params?.['level'] === 'string') state.logLevel = params['level'];
  else if (request.method === 'resources/subscribe' && typeof params?.['uri'] === 'string') state.subscriptions.add(params['uri']);
  else if (request.method === 'resources/unsubscribe' && typeof params?.['uri'] === 'string') state.subscriptions.delete(params['uri']);
}

/** The host's declared capabilities (from its `initialize`), or `{}` before it. */
export function hostCapabilities(state: HostState): Record<string, unknown> {
  const capabilities = state.initializeParams?.['capabilities'];
  return typeof capabilities === 'object' && capabilities !== null ? (capabilities as Record<string, unknown>) : {};
}

/** The protocol version the host asked for in its `initialize`. */
export function hostProtocolVersion(state: HostState): string | undefined {
  const version = state.initializeParams?.['protocolVersion'];
  return typeof version === 'string' ? version : undefined;
}
