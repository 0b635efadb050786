import type { ServerResponse } from 'node:http';
import type { SessionFallback } from './route-recovery.js';
import type { SessionClaims } from './session-token.js';

/** What this process knows of a client session it served lately. */
interface SessionHere {
  /** What its session id carries: what rebuilds the session when the store lost it. */
  readonly claims: SessionClaims;
  readonly caller: string;
  /** Responses in progress. */
  readonly responses: number;
}

interface SessionState {
  readonly claims: SessionClaims;
  readonly caller: string;
  responses: number;
  /** When this process last restarted the record's idle TTL (0: never). */
  touchedAt: number;
  /** Its GET streams open here, with what stops their upstream exchange: ended with the session. */
  readonly streams: Map<ServerResponse, AbortController>;
}

/** A GET stream open here, and what stops its upstream exchange. */
interface OpenStream {
  readonly res: ServerResponse;
  readonly exchange: AbortController;
}

/** The client sessions one pass-through route served lately on this process; the only writer of their state. */
export interface SessionsHere {
  find(key: string): SessionHere | undefined;
  /** Remembers a session (the oldest is forgotten past `maxRecords`); `touchedAt`: when its record's TTL was last restarted (0: never). */
  remember(key: string, claims: SessionClaims, caller: string, touchedAt: number): SessionHere;
  /** Forgets a session: it was ended elsewhere, and its streams here already were. */
  forget(key: string): void;
  /** Forgets a session ended anywhere, and ends its GET streams here and their upstream exchanges. */
  end(key: string): void;
  /**
   * A response of the session begins: `stream`, for a GET stream it holds open, with what stops
   * its upstream exchange. Returns what ends the response. Also restarts the record's idle TTL
   * (through `touchRecord`) at most every `touchEveryMs`.
   */
  begin(key: string, session: SessionHere, stream: OpenStream | undefined): () => void;
  /** What rebuilds a session the store lost (for the route's recovery): its id's claims, kept here. */
  readonly fallback: SessionFallback;
}

export function createSessionsHere(options: {
  readonly maxRecords: number;
  readonly touchEveryMs: number;
  readonly touchRecord: (key: string) => void;
}): SessionsHere {
  // By key; the oldest first.
  const sessions = new Map<string, SessionState>();

  return {
    find: (key) => sessions.get(key),
    remember(key, claims, caller, touchedAt) {
      const session: SessionState = { claims, caller, responses: 0, touchedAt, streams: new Map() };
      sessions.set(key, session);
      if (sessions.size > options.maxRecords) sessions.delete(sessions.keys().next().value as string);
      return session;
    },
    forget(key) {
      sessions.delete(key);
    },
    end(key) {
      const session = sessions.get(key);
      if (session === undefined) return;
      sessions.delete(key);
      for (const [stream, upstreamExchange] of session.streams) {
        stream.end();
        upstreamExchange.abort();
      }
    },
    begin(key, view, stream) {
      // The view handed out is the state itself (read-only outside): a session forgotten meanwhile is still counted right.
      const session = view as SessionState;
      session.responses += 1;
      if (stream !== undefined) session.streams.set(stream.res, stream.exchange);
      const now = Date.now();
      if (now - session.touchedAt >= options.touchEveryMs) {
        session.touchedAt = now;
        options.touchRecord(key);
      }
      return () => {
        session.responses -= 1;
        if (stream !== undefined) session.streams.delete(stream.res);
      };
    },
    fallback(key) {
      const session = sessions.get(key);
      return session && { caller: session.caller, initializeParams: session.claims.initializeParams, createdAt: session.claims.issuedAt };
    },
  };
}
