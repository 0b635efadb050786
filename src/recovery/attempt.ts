import type { OutgoingRequest } from './outgoing-request.js';
import type { SessionKeeper } from './session-keeper.js';

/** One sending of a request on a session: what it was sent on, so its answer is judged against that session. */
export interface Attempt {
  readonly keeper: SessionKeeper;
  readonly request: OutgoingRequest;
  /** The keeper's attempt count when sent: a recovery started since then is shared, not repeated. */
  readonly sentAt: number;
  /** The server session id it went to. */
  readonly serverId: string | undefined;
  /**
   * Recoveries the call went through before this sending (0: sent as the client sent it). Bounded
   * by option `maxRecoveries`.
   */
  readonly recoveries: number;
  /** It went to a session a recovery opened that had not answered yet. */
  readonly unproven: boolean;
  /** When it was sent, in milliseconds since the epoch (0 when no keep-alive needs it). */
  readonly time: number;
}

/** The sending of `request` on the session as it stands now. */
export function attemptOn(keeper: SessionKeeper, request: OutgoingRequest, recoveries: number): Attempt {
  const { phase } = keeper;
  return {
    keeper,
    request,
    sentAt: keeper.attempts,
    serverId: keeper.serverId,
    recoveries,
    unproven: phase.kind === 'live' && !phase.proven,
    time: keeper.keepsAlive ? Date.now() : 0,
  };
}
