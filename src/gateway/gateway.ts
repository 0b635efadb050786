import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkErrorText } from '../errors/network-error-text.js';
import { type CallerCredentials, LOCAL_CALLER } from './caller-credentials.js';
import { createGatewayMetrics, type GatewayMetrics } from './gateway-metrics.js';
import { GatewayConfigError, type GatewayOptions, resolveGatewayOptions } from './gateway-options.js';
import { BodyTimeoutError, BodyTooLargeError, jsonRpcError, readBody, sendJson, sendText } from './http-exchange.js';
import { createMemoryStore } from './memory-store.js';
import { createMessageRoute } from './message-route.js';
import { createOriginPolicy, isLoopbackAddress, type OriginPolicy } from './origin-policy.js';
import type { SessionStore } from './session-store.js';
import { createSessionTokens, type SessionTokens } from './session-token.js';
import { createUpstreamRoute, type UpstreamRoute } from './upstream-route.js';

/** A running gateway. */
export interface Gateway {
  /** `http://host:port`, with the port actually bound. */
  readonly origin: string;
  readonly port: number;
  /** Paths of the MCP endpoints, by upstream name (`/NAME/mcp`; a single upstream also at `/mcp`). */
  readonly endpoints: Readonly<Record<string, readonly string[]>>;
  readonly metrics: GatewayMetrics;
  readonly store: SessionStore;
  /**
   * Graceful shutdown: stops accepting, ends GET streams (clients reconnect, to another replica
   * when there is one), lets other requests in flight finish (up to `drainTimeoutMs`), then ends
   * the upstream sessions this process holds when no other process shares the store, and closes it.
   */
  shutdown(reason: string): Promise<void>;
  /** Resolves once the gateway has shut down. */
  readonly closed: Promise<void>;
  /**
   * Replaces the session keys (rotation: newest first, old ones still open their sessions) and
   * the client credentials, without a restart; sessions and requests in flight carry on. The CLI
   * calls it on SIGHUP with the files re-read.
   */
  reloadCredentials(update: CredentialUpdate): void;
}

/** New credentials for {@linkcode Gateway.reloadCredentials}. */
export interface CredentialUpdate {
  /** New session keys, newest first; undefined keeps the current ones. */
  readonly sessionKeys?: readonly Uint8Array[] | undefined;
  /** The client credentials from now on; undefined: none (refused beyond loopback). */
  readonly callers: CallerCredentials | undefined;
}

const CORS_ALLOWED_HEADERS =
  'content-type, accept, authorization, mcp-session-id, mcp-protocol-version, last-event-id, x-mcp-lifeline-token';
const CORS_EXPOSED_HEADERS = 'mcp-session-id, mcp-protocol-version, www-authenticate';
/** Where the gateway's own credential travels when `Authorization` belongs to the upstream. */
export const GATEWAY_TOKEN_HEADER = 'x-mcp-lifeline-token';

/**
 * Starts `mcp-lifeline serve`: a Streamable HTTP endpoint per upstream that 2025-era hosts use
 * exactly like the upstream itself, with `withSessionRecovery` keeping every client session's
 * upstream session alive underneath. See README, "`mcp-lifeline serve`".
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const config = resolveGatewayOptions(options);
  const { log } = config;
  const store = options.store ?? createMemoryStore({ idleTtlMs: config.sessionIdleTtlMs, maxRecords: config.maxRecords });
  if (store.shared && options.sessionKeys === undefined) {
    throw new GatewayConfigError(
      `a ${store.kind} store is shared by replicas, which must share the session keys too: give --key-file (one key a line, e.g. from "openssl rand -base64 32")`,
    );
  }
  let sealer = createSessionTokens(options.sessionKeys ?? [randomBytes(32)]);
  let callers = config.callers;
  // Routes hold this, so that a reload (new keys) reaches every route at once.
  const tokens: SessionTokens = {
    seal: (claims, binding) => sealer.seal(claims, binding),
    open: (token, binding) => sealer.open(token, binding),
  };
  const metrics = createGatewayMetrics();
  const routes = new Map<string, UpstreamRoute>();
  const endpoints: Record<string, string[]> = {};
  for (const upstream of config.upstreams) {
    const context = { options: config, store, tokens, metrics };
    const route = upstream.era === undefined ? createUpstreamRoute(upstream, context) : createMessageRoute(upstream, upstream.era, context);
    const paths = [`/${upstream.name}/mcp`, ...(config.upstreams.length === 1 ? ['/mcp'] : [])];
    for (const path of paths) routes.set(path, route);
    endpoints[upstream.name] = paths;
  }
  const forwardsAuthorization = new Set(
    config.upstreams
      .filter((upstream) => upstream.forwardHeaders?.some((header) => header.toLowerCase() === 'authorization'))
      .map((u) => u.name),
  );

  const inFlight = new Set<{ readonly method: string; readonly res: ServerResponse }>();
  let draining = false;
  let policy: OriginPolicy | undefined;

  const server = createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!res.headersSent) sendJson(res, 500, jsonRpcError(-32603, 'mcp-lifeline: internal error'));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    if (path === '/healthz') return sendText(res, 200, 'ok\n');
    if (path === '/readyz') return readiness(res);
    if (path === '/metrics') {
      const text = await metrics.render();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return;
    }
    const route = routes.get(path);
    if (route === undefined) {
      const known = Object.values(endpoints).flat().join(', ');
      return sendJson(res, 404, jsonRpcError(-32000, `mcp-lifeline: no MCP endpoint at ${path}; this gateway serves ${known}`));
    }
    if (draining) {
      metrics.refused('draining');
      return sendJson(res, 503, jsonRpcError(-32000, 'mcp-lifeline: this gateway is shutting down; try again'), {
        'retry-after': '1',
        connection: 'close',
      });
    }
    const guard = policy as OriginPolicy;
    if (!guard.hostAllowed(req.headers.host)) {
      metrics.refused('host');
      return sendJson(
        res,
        403,
        jsonRpcError(-32000, 'mcp-lifeline: Host header not allowed (DNS-rebinding protection; see --allowed-host)'),
      );
    }
    const origin = req.headers.origin;
    if (!guard.originAllowed(origin)) {
      metrics.refused('origin');
      return sendJson(res, 403, jsonRpcError(-32000, 'mcp-lifeline: Origin not allowed (see --allowed-origin)'));
    }
    const answerHeaders: Record<string, string> =
      origin === undefined
        ? {}
        : { 'access-control-allow-origin': origin, vary: 'origin', 'access-control-expose-headers': CORS_EXPOSED_HEADERS };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...answerHeaders,
        'access-control-allow-methods': 'GET, POST, DELETE',
        'access-control-allow-headers': CORS_ALLOWED_HEADERS,
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    const caller = identify(req, route.name);
    if (caller === undefined) {
      metrics.refused('credential');
      return sendJson(
        res,
        401,
        jsonRpcError(-32000, 'mcp-lifeline: a valid gateway credential is required (Authorization: Bearer <token>)'),
        {
          ...answerHeaders,
          'www-authenticate': 'Bearer realm="mcp-lifeline"',
        },
      );
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') {
      return sendJson(res, 405, jsonRpcError(-32000, `mcp-lifeline: method ${method} not allowed`), {
        ...answerHeaders,
        allow: 'GET, POST, DELETE',
      });
    }
    let body: Buffer | undefined;
    if (method === 'POST') {
      try {
        body = await readBody(req, config.maxBodyBytes, config.bodyTimeoutMs);
      } catch (error) {
        // The client is gone (timed out or hung up): nobody to answer.
        if (error instanceof BodyTimeoutError || req.destroyed) {
          metrics.refused('body-timeout');
          log.debug('request body not received', { reason: (error as Error).message });
          return;
        }
        if (!(error instanceof BodyTooLargeError)) throw error;
        metrics.refused('body-size');
        res.setHeader('connection', 'close');
        return sendJson(res, 413, jsonRpcError(-32000, `mcp-lifeline: ${error.message}`), answerHeaders);
      }
    }
    const started = performance.now();
    const exchange = { method, res };
    inFlight.add(exchange);
    metrics.openStreams(1);
    try {
      await route.handle({ req, res, caller, body, answerHeaders });
    } finally {
      inFlight.delete(exchange);
      metrics.openStreams(-1);
      const ms = performance.now() - started;
      metrics.request(route.name, method, res.statusCode, ms / 1000);
      log.debug('request', { upstream: route.name, method, status: res.statusCode, ms: Math.round(ms), caller });
    }
  }

  /** The caller's name, or undefined when a credential is required and none (or a wrong one) came. */
  function identify(req: IncomingMessage, upstream: string): string | undefined {
    if (callers === undefined) return LOCAL_CALLER;
    const own = req.headers[GATEWAY_TOKEN_HEADER];
    if (typeof own === 'string') return callers.identify(own.trim());
    // When the client's Authorization goes to the upstream, it is not the gateway's to read.
    if (forwardsAuthorization.has(upstream)) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return match === null ? undefined : callers.identify(match[1] as string);
  }

  async function readiness(res: ServerResponse): Promise<void> {
    if (draining) return sendText(res, 503, 'draining\n');
    try {
      await store.ping();
      sendText(res, 200, `ready (${store.kind} store)\n`);
    } catch (error) {
      sendText(res, 503, `store unreachable: ${networkErrorText(error)}\n`);
    }
  }

  server.listen(config.port, config.host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  const port = (server.address() as AddressInfo).port;
  policy = createOriginPolicy({ bindHost: config.host, port, allowedHosts: config.allowedHosts, allowedOrigins: config.allowedOrigins });
  const origin = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  let closing: Promise<void> | undefined;
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });

  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      log.info('shutting down', { reason, inFlight: inFlight.size });
      draining = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // GET streams never finish on their own: end them, the client re-opens one (elsewhere).
      for (const exchange of inFlight) if (exchange.method === 'GET') exchange.res.end();
      const deadline = Date.now() + config.drainTimeoutMs;
      while (inFlight.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      if (inFlight.size > 0) log.warn('requests still in flight after the drain timeout; closing them', { inFlight: inFlight.size });
      server.closeAllConnections();
      await stopped;
      let ended = 0;
      for (const route of new Set(routes.values())) if (!store.shared || route.localSessions) ended += await route.endSessions();
      if (ended > 0) log.info('upstream sessions ended', { count: ended });
      await store.close().catch((error: unknown) => log.warn(`store: ${networkErrorText(error)}`));
      log.info('stopped');
      markClosed();
    })();
    return closing;
  };

  const reloadCredentials = (update: CredentialUpdate) => {
    if (update.callers === undefined && callers !== undefined && !isLoopbackAddress(config.host)) {
      throw new GatewayConfigError(`refusing to drop the client credentials of a gateway listening on ${config.host}`);
    }
    // Build first: a bad key list leaves the running configuration as it was.
    const next = update.sessionKeys === undefined ? sealer : createSessionTokens(update.sessionKeys);
    sealer = next;
    callers = update.callers;
  };

  return { origin, port, endpoints, metrics, store, shutdown, closed, reloadCredentials };
}
