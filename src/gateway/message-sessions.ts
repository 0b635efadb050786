import { redactSessionId } from '../shared/redact.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { createMessageSession, type MessageSession, type MessageSessionContext } from './message-session.js';
import type { SessionClaims } from './session-token.js';

/** The message route's sessions on this process, by key: the only writer of that table. */
export interface MessageSessions {
  /** A session opened here by its client's initialize. */
  add(key: string, session: MessageSession): void;
  /**
   * The session for `key`: the one held here, or one rebuilt from what its session id carries
   * (the client's initialize params) when another replica or an earlier process opened it. One
   * rebuild however many requests ask at once; rejects when the upstream refuses it.
   */
  rebuilt(key: string, claims: SessionClaims): Promise<MessageSession>;
  /** Lets go of a session (ended anywhere); returns it, for its upstream session to be ended. */
  take(key: string): MessageSession | undefined;
  /** Lets go of every session (shutdown). */
  takeAll(): MessageSession[];
}

export function createMessageSessions(
  context: MessageSessionContext,
  route: { readonly where: string; readonly metrics: GatewayMetrics },
): MessageSessions {
  const { upstream, log, timeoutMs } = context;
  const state = {
    held: new Map<string, MessageSession>(),
    rebuilding: new Map<string, Promise<MessageSession>>(),
    /** Rebuilds so far: each one's initialize gets an id of its own. */
    rebuilds: 0,
  };

  async function rebuild(key: string, claims: SessionClaims): Promise<MessageSession> {
    const session = createMessageSession(context);
    const id = `mcp-lifeline-gateway-initialize-${++state.rebuilds}`;
    const signal = AbortSignal.timeout(timeoutMs * 2);
    const [answer] = await session.exchange(
      [{ jsonrpc: '2.0', id, method: 'initialize', params: claims.initializeParams as Record<string, unknown> }],
      signal,
    );
    if (answer === undefined || !/"result"\s*:/.test(answer)) {
      await session.upstream.close();
      throw new Error(`${route.where} refused to open the session again: ${(answer ?? 'no answer').slice(0, 200)}`);
    }
    await session.upstream.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    state.held.set(key, session);
    route.metrics.session(upstream.name, 'rebuilt');
    log.info('session rebuilt from its session id', {
      upstream: upstream.name,
      era: session.upstream.era,
      session: redactSessionId(claims.sid),
    });
    return session;
  }

  return {
    add(key, session) {
      state.held.set(key, session);
    },
    rebuilt(key, claims) {
      const known = state.held.get(key);
      if (known !== undefined) return Promise.resolve(known);
      let pending = state.rebuilding.get(key);
      if (pending === undefined) {
        pending = rebuild(key, claims).finally(() => state.rebuilding.delete(key));
        state.rebuilding.set(key, pending);
      }
      return pending;
    },
    take(key) {
      const session = state.held.get(key);
      state.held.delete(key);
      return session;
    },
    takeAll() {
      const all = [...state.held.values()];
      state.held.clear();
      return all;
    },
  };
}
