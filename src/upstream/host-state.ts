import type { JsonRpcMessage } from '../shared/json-rpc.js';
import { applyStateChange, type SessionState, stateChangeOf } from '../shared/session-state.js';

/**
 * What the host established that a new session (or every stateless request) must carry again:
 * its own `initialize` params, and the session state (log level, subscriptions) the middleware
 * restores too.
 */
export interface HostState extends SessionState {
  /** The host's `initialize` params: replayed to open a new session, or mapped into each envelope. */
  initializeParams: Record<string, unknown> | undefined;
}

export function createHostState(): HostState {
  return { initializeParams: undefined, logLevel: undefined, subscriptions: new Set() };
}

/** Records the state a host request changed, once the server accepted it (as the middleware does). */
export function recordAcceptedState(state: HostState, request: Pick<JsonRpcMessage, 'method' | 'params'>): void {
  const change = stateChangeOf(request);
  if (change !== undefined) applyStateChange(state, change);
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
