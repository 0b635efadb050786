import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from '../shared/loopback.js';
import { type CallerCredentials, LOCAL_CALLER } from './caller-credentials.js';
import { GatewayConfigError } from './GatewayConfigError.js';
import type { ResolvedGatewayOptions } from './gateway-options.js';
import { createSessionTokens, type SessionTokens } from './session-token.js';

/** Where the gateway's own credential travels when `Authorization` belongs to the upstream. */
export const GATEWAY_TOKEN_HEADER = 'x-mcp-lifeline-token';

/** New credentials for `Gateway.reloadCredentials`. */
export interface CredentialUpdate {
  /** New session keys, newest first; undefined keeps the current ones. */
  readonly sessionKeys?: readonly Uint8Array[] | undefined;
  /** The client credentials from now on; undefined: none (refused beyond loopback). */
  readonly callers: CallerCredentials | undefined;
}

/** The gateway's credentials: the session keys that seal session ids, and the callers' tokens. */
export interface GatewayCredentials {
  /** Seals and opens session ids with the current keys: routes hold this, so a reload reaches them all at once. */
  readonly tokens: SessionTokens;
  /** Whether callers must bring a credential (a token file was given). */
  readonly required: boolean;
  /** The caller's name, or undefined when a credential is required and none (or a wrong one) came. */
  identify(req: IncomingMessage, upstream: string): string | undefined;
  /** Replaces the keys and the callers' tokens; a bad key list leaves everything as it was. */
  reload(update: CredentialUpdate): void;
}

export function createGatewayCredentials(config: ResolvedGatewayOptions, sessionKeys: readonly Uint8Array[]): GatewayCredentials {
  const state = { sessionIds: createSessionTokens(sessionKeys), callers: config.callers };
  // When the client's Authorization goes to the upstream, it is not the gateway's to read.
  const forwardsAuthorization = new Set(
    config.upstreams
      .filter((upstream) => upstream.forwardHeaders?.some((header) => header.toLowerCase() === 'authorization'))
      .map((upstream) => upstream.name),
  );
  return {
    tokens: {
      seal: (claims, binding) => state.sessionIds.seal(claims, binding),
      sealer: (claims, binding) => state.sessionIds.sealer(claims, binding),
      open: (token, binding) => state.sessionIds.open(token, binding),
    },
    get required() {
      return state.callers !== undefined;
    },
    identify(req, upstream) {
      const { callers } = state;
      if (callers === undefined) return LOCAL_CALLER;
      const own = req.headers[GATEWAY_TOKEN_HEADER];
      if (typeof own === 'string') return callers.identify(own.trim());
      if (forwardsAuthorization.has(upstream)) return undefined;
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      return match === null ? undefined : callers.identify(match[1] as string);
    },
    reload(update) {
      if (update.callers === undefined && state.callers !== undefined && !isLoopbackHost(config.host)) {
        throw new GatewayConfigError(`refusing to drop the client credentials of a gateway listening on ${config.host}`);
      }
      // Build first: a bad key list leaves the running configuration as it was.
      const sessionIds = update.sessionKeys === undefined ? state.sessionIds : createSessionTokens(update.sessionKeys);
      state.sessionIds = sessionIds;
      state.callers = update.callers;
    },
  };
}
