import { type Circuit, createCircuit } from './circuit.js';
import type { KeepAlive } from './keep-alive.js';
import type { RecoveryContext } from './recovery-context.js';
import { keepSession, type SessionKeeper } from './session-keeper.js';
import { createSessionTable, endpointOf, type SessionTable } from './session-record.js';
import type { SharedSessionState } from './session-sharing.js';
import { createStreamBackoff } from './stream-backoff.js';

/** What a session is opened from: the client's initialize, or the shared store. */
interface Opening {
  readonly initializeParams: unknown;
  readonly headerSource?: RequestInit['headers'];
  readonly shared?: SharedSessionState;
}

/**
 * The sessions this middleware knows, by the id the client holds (at most `maxSessions`, the
 * oldest forgotten first), the circuit of each endpoint, and the sessions it looks up in the
 * shared store (option `sharing`).
 */
export class SessionDirectory {
  private readonly context: RecoveryContext;
  private readonly startKeepAlive: ((keeper: SessionKeeper, url: string) => KeepAlive) | undefined;
  private readonly sessions: SessionTable<SessionKeeper>;
  private readonly circuits = new Map<string, Circuit>();
  // Look-ups of shared sessions in flight, so that a session's concurrent requests share one.
  private readonly loading = new Map<string, Promise<SessionKeeper | undefined>>();

  constructor(context: RecoveryContext, startKeepAlive: ((keeper: SessionKeeper, url: string) => KeepAlive) | undefined) {
    this.context = context;
    this.startKeepAlive = startKeepAlive;
    this.sessions = createSessionTable<SessionKeeper>(context.config.maxSessions, (keeper) => keeper.ended());
  }

  /** The session the client calls `alias`, if this process knows it. */
  find(alias: string): SessionKeeper | undefined {
    return this.sessions.get(alias);
  }

  /** The client's own initialize opened a session: it is kept from now on. */
  opened(alias: string, url: string, opening: Opening): SessionKeeper {
    const keeper = this.keeper(alias, url, opening);
    if (keeper.serverAnswered()) this.context.events.circuitClosed(url);
    this.sessions.add(keeper);
    return keeper;
  }

  /**
   * A session this process has no record of, looked up in the shared store (another process
   * opened it, or this one forgot it): once per session, however many of its requests arrive
   * together. Without a live server session there, its first request re-initializes.
   */
  load(alias: string, url: string): Promise<SessionKeeper | undefined> {
    const { sharing } = this.context.config;
    if (sharing === undefined) return Promise.resolve(undefined);
    let pending = this.loading.get(alias);
    if (pending === undefined) {
      pending = sharing
        .load(alias, endpointOf(url))
        .then((state) => {
          if (state === undefined) return undefined;
          const known = this.sessions.get(alias);
          if (known !== undefined) return known;
          const keeper = this.keeper(alias, url, { initializeParams: state.initializeParams, shared: state });
          this.sessions.add(keeper);
          return keeper;
        })
        .finally(() => this.loading.delete(alias));
      this.loading.set(alias, pending);
    }
    return pending;
  }

  /** The client ended the session (DELETE): forgotten here and in the shared store. */
  ended(keeper: SessionKeeper): void {
    this.sessions.delete(keeper.alias);
    this.context.config.sharing?.ended(keeper.alias);
  }

  private keeper(alias: string, url: string, opening: Opening): SessionKeeper {
    const endpoint = endpointOf(url);
    const { config } = this.context;
    const { startKeepAlive } = this;
    return keepSession({
      alias,
      endpoint,
      circuit: this.circuitOf(endpoint),
      stream: createStreamBackoff(config.streamBackoff),
      sharing: config.sharing,
      keepAlive: startKeepAlive === undefined ? undefined : (keeper) => startKeepAlive(keeper, url),
      ...opening,
    });
  }

  private circuitOf(endpoint: string): Circuit {
    let circuit = this.circuits.get(endpoint);
    if (circuit === undefined) {
      circuit = createCircuit(this.context.config.circuit);
      this.circuits.set(endpoint, circuit);
    }
    return circuit;
  }
}
