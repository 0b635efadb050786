// The contract between the gateway and its routes: what a route is given (the shared context, each
// admitted request) and what it offers (handle, terminate, end its sessions). Each route imports it;
// gateway.ts builds the context and dispatches to the routes through it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EndedSessions } from './ended-sessions.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { ResolvedGatewayOptions } from './gateway-options.js';
import type { SessionAdmission } from './session-admission.js';
import type { SessionStore } from './session-store.js';
import type { SessionTokens } from './session-token.js';

/** One client request for an upstream, already admitted by the gateway (host, origin, credential). */
export interface RouteRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The caller's identity (token file name, or `local`). */
  readonly caller: string;
  /** The POST body, read in full (it may have to be replayed). */
  readonly body: Buffer | undefined;
  /** Headers every answer carries (CORS). */
  readonly answerHeaders: Record<string, string>;
}

/**
 * An upstream behind the gateway: its endpoint, its middleware, its client sessions on this process.
 * `createUpstreamRoute` (upstream-route.ts) is the HTTP-level pass-through for 2025 Streamable HTTP
 * upstreams; `createMessageRoute` (message-route.ts) serves the other eras at the message level, on
 * the `Upstream` contract.
 */
export interface UpstreamRoute {
  readonly name: string;
  /** Whether its upstream sessions live in this process only (then shutdown ends them even with a shared store). */
  readonly localSessions: boolean;
  handle(request: RouteRequest): Promise<void>;
  /** Ends session `key` as its client's DELETE would: refused everywhere from now on, its upstream session ended. */
  terminate(key: string): Promise<void>;
  /** Ends the upstream sessions this process holds (DELETE, bounded). */
  endSessions(): Promise<number>;
}

/** What every route of a gateway shares. */
export interface RouteContext {
  readonly options: ResolvedGatewayOptions;
  /** The session table, its failures typed ({@linkcode StoreUnreachableError}). */
  readonly store: SessionStore;
  readonly tokens: SessionTokens;
  readonly metrics: GatewayMetrics;
  readonly ended: EndedSessions;
  readonly admission: SessionAdmission;
}
