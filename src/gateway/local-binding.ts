import type { AnyFetch } from '../recovery/outgoing-request.js';
import { reinitialize } from '../recovery/reinitialize.js';
import type { SessionClaims } from './session-token.js';

/** What a request needs to rebuild its session: where, with which headers, and within what bound. */
export interface RebuildContext {
  readonly url: string;
  /** The current request's upstream headers (the freshest credentials). */
  readonly headers: Headers;
  readonly timeoutMs: number;
}

/** How client sessions map to the session ids this process's middleware knows them by. */
export interface SessionBinding {
  /**
   * The id to send the middleware for session `key`, rebuilding the upstream session when nobody
   * here knows it; `rebuilt` is true for the one request that started the rebuild.
   */
  aliasFor(key: string, claims: SessionClaims, context: RebuildContext): Promise<{ alias: string; rebuilt: boolean }>;
  /** The client's own initialize opened `alias` through the middleware. */
  opened(key: string, alias: string): void;
  /** The session ended (DELETE) or was refused. */
  forget(key: string): void;
  /** Every session this process holds, for ending them at shutdown. */
  entries(): [key: string, alias: string][];
}

/**
 * The binding for a middleware that knows only the sessions it saw open: each process keeps its
 * own map from client session to the id under which its middleware registered the upstream
 * session, and a process that meets a session it does not know (another replica opened it, or this
 * one restarted) opens its own upstream session from the client's initialize params, through the
 * middleware so that it is recovered like any other.
 *
 * With the `sharing` hook of `withSessionRecovery` (src/recovery/session-sharing.ts), replicas take
 * over each other's upstream sessions instead, and re-initialize once for all of them.
 */
export function createLocalBinding(recovering: AnyFetch, limit: number): SessionBinding {
  const aliases = new Map<string, string>();
  const rebuilding = new Map<string, Promise<string>>();
  let lastId = 0;

  const remember = (key: string, alias: string) => {
    aliases.delete(key);
    aliases.set(key, alias);
    if (aliases.size > limit) aliases.delete(aliases.keys().next().value as string);
  };

  return {
    async aliasFor(key, claims, context) {
      const known = aliases.get(key);
      if (known !== undefined) return { alias: known, rebuilt: false };
      let pending = rebuilding.get(key);
      const starts = pending === undefined;
      if (pending === undefined) {
        // One rebuild per session at a time: concurrent requests of the session share it.
        pending = reinitialize({
          next: recovering,
          url: context.url,
          headers: context.headers,
          initializeParams: claims.initializeParams,
          timeout: context.timeoutMs,
          newId: (purpose) => `mcp-lifeline-gateway-${purpose}-${++lastId}`,
          restore: undefined,
        })
          .then((result) => {
            if (result.sessionId === undefined) throw new Error('the upstream issued no session id when the session was rebuilt');
            remember(key, result.sessionId);
            return result.sessionId;
          })
          .finally(() => rebuilding.delete(key));
        rebuilding.set(key, pending);
      }
      return { alias: await pending, rebuilt: starts };
    },
    opened: remember,
    forget: (key) => aliases.delete(key),
    entries: () => [...aliases.entries()],
  };
}
