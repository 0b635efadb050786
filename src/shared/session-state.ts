// The session state a server keeps for a client and forgets with the session: the middleware and
// the gateway restore it after a recovery, the bridge's upstreams carry it into a new session (or
// into every stateless request). One reading of which messages change it, and how.

/** A change of session state the server accepted, which later recoveries must restore. */
export type SessionStateChange =
  | { readonly kind: 'log-level'; readonly level: string }
  | { readonly kind: 'subscribe'; readonly uri: string }
  | { readonly kind: 'unsubscribe'; readonly uri: string };

/** The state a recovery restores: the last log level the server accepted, the resources subscribed. */
export interface SessionState {
  logLevel: string | undefined;
  readonly subscriptions: Set<string>;
}

/** The change `message` makes once the server accepts it (`logging/setLevel`, `resources/(un)subscribe`); undefined for any other. */
export function stateChangeOf(message: { readonly method?: unknown; readonly params?: unknown }): SessionStateChange | undefined {
  const params = message.params as Record<string, unknown> | undefined;
  if (message.method === 'logging/setLevel' && typeof params?.['level'] === 'string') return { kind: 'log-level', level: params['level'] };
  if (typeof params?.['uri'] !== 'string') return undefined;
  if (message.method === 'resources/subscribe') return { kind: 'subscribe', uri: params['uri'] };
  if (message.method === 'resources/unsubscribe') return { kind: 'unsubscribe', uri: params['uri'] };
  return undefined;
}

/** Records an accepted change in `state`. */
export function applyStateChange(state: SessionState, change: SessionStateChange): void {
  if (change.kind === 'log-level') state.logLevel = change.level;
  else if (change.kind === 'subscribe') state.subscriptions.add(change.uri);
  else state.subscriptions.delete(change.uri);
}
