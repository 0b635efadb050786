import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkErrorText } from '../errors/network-error-text.js';
import { isLoopbackHost } from '../shared/loopback.js';
import { type CallerCredentials, LOCAL_CALLER } from './caller-credentials.js';
import { type ConnectionVerdict, createConnectionGuard } from './connection-guard.js';
import { createEndedSessions } from './ended-sessions.js';
import { GatewayConfigError } from './GatewayConfigError.js';
import { createGatewayMetrics, type GatewayMetrics } from './gateway-metrics.js';
import { type GatewayOptions, type ResolvedGatewayOptions, resolveGatewayOptions } from './gateway-options.js';
import { BodyTimeoutError, BodyTooLargeError, jsonRpcError, readBody, sendJson, sendStoreDown } from './http-exchange.js';
import { createMemoryStore } from './memory-store.js';
import { createMessageRoute } from './message-route.js';
import { answerOps, isOpsPath } from './ops-endpoints.js';
import { createOriginPolicy, type OriginPolicy } from './origin-policy.js';
import { createSessionAdmission } from './session-admission.js';
import type { SessionStore } from './session-store.js';
import { createSessionTokens, type SessionTokens } from './session-token.js';
import { createStoreOutage, guardStore, STORE_RETRY_AFTER_SECONDS, storeFailure } from './store-outage.js';
import { createUpstreamRoute, type RouteContext, type UpstreamRoute } from './upstream-route.js';

/** A running gateway. */
export interface Gateway {
  /** `http://host:port`, with the port actually bound. */
  readonly origin: string;
  readonly port: number;
  /** `http://host:port` of the metrics listener (`metricsPort`), when there is one. */
  readonly metricsOrigin: string | undefined;
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
  'content-type, accept, authorization, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id, x-mcp-lifeline-token';
const CORS_EXPOSED_HEADERS = 'mcp-session-id, mcp-protocol-version, www-authenticate';
/** Where the gateway's own credential travels when `Authorization` belongs to the upstream. */
export const GATEWAY_TOKEN_HEADER = 'x-mcp-lifeline-token';
// At most one log line a minute about connections closed or refused at the caps.
const CONNECTION_LOG_EVERY_MS = 60_000;

/**
 * Starts `mcp-lifeline serve`: a Streamable HTTP endpoint per upstream that 2025-era hosts use
 * exactly like the upstream itself, with `withSessionRecovery` keeping every client session's
 * upstream session alive underneath. See README, "`mcp-lifeline serve`".
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const config = resolveGatewayOptions(options);
  const { log } = config;
  const rawStore = options.store ?? createMemoryStore({ idleTtlMs: config.sessionIdleTtlMs, maxRecords: config.maxRecords });
  if (rawStore.shared && options.sessionKeys === undefined) {
    throw new GatewayConfigError(
      `a ${rawStore.kind} store is shared by replicas, which must share the session keys too: give --key-file (one key a line, e.g. from "openssl rand -base64 32")`,
    );
  }
  const outage = createStoreOutage(rawStore, log);
  const store = guardStore(rawStore, outage);
  const ended = createEndedSessions(store, {
    tombstoneMs: config.sessionMaxAgeMs,
    maxEntries: config.maxRecords,
    onListening: (up, error) => (up ? outage.answered() : error !== undefined && outage.failed(error)),
  });
  let sealer = createSessionTokens(options.sessionKeys ?? [randomBytes(32)]);
  let callers = config.callers;
  // Routes hold this, so that a reload (new keys) reaches every route at once.
  const tokens: SessionTokens = {
    seal: (claims, binding) => sealer.seal(claims, binding),
    open: (token, binding) => sealer.open(token, binding),
  };
  const metrics = createGatewayMetrics();
  const routes = new Map<string, UpstreamRoute>();
  const byName = new Map<string, UpstreamRoute>();
  const endpoints: Record<string, string[]> = {};
  const admission = createSessionAdmission({
    store,
    limit: config.maxSessionsPerCaller,
    log,
    // Without credentials every caller is the one local user: its oldest session makes room.
    evictsAtLimit: (caller) => callers === undefined && caller === LOCAL_CALLER,
    terminate: async (key) => byName.get(key.slice(0, key.indexOf('/')))?.terminate(key),
  });
  const context: RouteContext = { options: config, store, tokens, metrics, ended, admission };
  for (const upstream of config.upstreams) {
    const route = upstream.era === undefined ? createUpstreamRoute(upstream, context) : createMessageRoute(upstream, upstream.era, context);
    const paths = [`/${upstream.name}/mcp`, ...(config.upstreams.length === 1 ? ['/mcp'] : [])];
    for (const path of paths) routes.set(path, route);
    byName.set(upstream.name, route);
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
  const guard = createConnectionGuard(config, connectionVerdicts(config, metrics));
  metrics.countConnections(() => guard.open);
  const opsContext = { metrics, store, draining: () => draining };

  const server = listener(config, (req, res) => handle(req, res));
  guard.watch(server);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    // Every path, /metrics and /readyz included: a DNS-rebinding page must not read them either.
    if (!admitted(req, res, policy as OriginPolicy)) return;
    if (isOpsPath(path)) return answerOps(path, res, opsContext);
    const route = routes.get(path);
    if (route === undefined) {
      // Upstream names are for callers: listed only where every local caller may use the gateway.
      const known = callers === undefined ? `; this gateway serves ${Object.values(endpoints).flat().join(', ')}` : '';
      return sendJson(res, 404, jsonRpcError(-32000, `mcp-lifeline: no MCP endpoint at ${path}${known}`));
    }
    if (draining) {
      metrics.refused('draining');
      return sendJson(res, 503, jsonRpcError(-32000, 'mcp-lifeline: this gateway is shutting down; try again'), {
        'retry-after': '1',
        connection: 'close',
      });
    }
    const origin = req.headers.origin;
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
    } catch (error) {
      const down = storeFailure(error);
      if (down === undefined) throw error;
      // The store did not answer: 503 with Retry-After, never `500 internal error` (logged once per outage).
      metrics.refused('store-unreachable');
      if (res.headersSent) res.destroy();
      else sendStoreDown(res, body, down.message, { retryAfterSeconds: STORE_RETRY_AFTER_SECONDS, headers: answerHeaders });
    } finally {
      inFlight.delete(exchange);
      metrics.openStreams(-1);
      const ms = performance.now() - started;
      metrics.request(route.name, method, res.statusCode, ms / 1000);
      log.debug('request', { upstream: route.name, method, status: res.statusCode, ms: Math.round(ms), caller });
    }
  }

  /** Applies a listener's Host and Origin rules; false when the request was refused (and answered). */
  function admitted(req: IncomingMessage, res: ServerResponse, rules: OriginPolicy): boolean {
    if (!rules.hostAllowed(req.headers.host)) {
      metrics.refused('host');
      sendJson(res, 403, jsonRpcError(-32000, 'mcp-lifeline: Host header not allowed (DNS-rebinding protection; see --allowed-host)'));
      return false;
    }
    if (!rules.originAllowed(req.headers.origin)) {
      metrics.refused('origin');
      sendJson(res, 403, jsonRpcError(-32000, 'mcp-lifeline: Origin not allowed (see --allowed-origin)'));
      return false;
    }
    return true;
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

  const port = await listen(server, config.port, config.host, log);
  policy = createOriginPolicy({ bindHost: config.host, port, allowedHosts: config.allowedHosts, allowedOrigins: config.allowedOrigins });
  const origin = originOf(config.host, port);

  // The metrics listener: /metrics, /readyz and /healthz only, for scrapers on other machines.
  let opsServer: Server | undefined;
  let metricsOrigin: string | undefined;
  if (config.metricsPort !== undefined) {
    let opsPolicy: OriginPolicy | undefined;
    const ops = listener(config, async (req, res) => {
      const path = (req.url ?? '/').split('?', 1)[0] as string;
      if (!admitted(req, res, opsPolicy as OriginPolicy)) return;
      if (isOpsPath(path)) return answerOps(path, res, opsContext);
      sendJson(
        res,
        404,
        jsonRpcError(-32000, `mcp-lifeline: the metrics listener serves ${['/metrics', '/readyz', '/healthz'].join(', ')}`),
      );
    });
    guard.watch(ops);
    try {
      const opsPort = await listen(ops, config.metricsPort, config.metricsHost, log);
      // On loopback, the same DNS-rebinding rules as the main listener; elsewhere any Host (it serves no MCP).
      const loopback = isLoopbackHost(config.metricsHost);
      opsPolicy = createOriginPolicy({
        bindHost: config.metricsHost,
        port: opsPort,
        allowedHosts: loopback ? config.allowedHosts : ['*'],
        allowedOrigins: config.allowedOrigins,
      });
      opsServer = ops;
      metricsOrigin = originOf(config.metricsHost, opsPort);
    } catch (error) {
      server.close();
      server.closeAllConnections();
      throw error;
    }
  }

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
      if (opsServer !== undefined) {
        const opsStopped = new Promise<void>((resolve) => opsServer?.close(() => resolve()));
        opsServer.closeAllConnections();
        await opsStopped;
      }
      let count = 0;
      for (const route of new Set(routes.values()))
        if (!store.shared || route.localSessions) count += await route.endSessions().catch(() => 0);
      if (count > 0) log.info('upstream sessions ended', { count });
      ended.close();
      await rawStore.close().catch((error: unknown) => log.warn(`store: ${networkErrorText(error)}`));
      log.info('stopped');
      markClosed();
    })();
    return closing;
  };

  const reloadCredentials = (update: CredentialUpdate) => {
    if (update.callers === undefined && callers !== undefined && !isLoopbackHost(config.host)) {
      throw new GatewayConfigError(`refusing to drop the client credentials of a gateway listening on ${config.host}`);
    }
    // Build first: a bad key list leaves the running configuration as it was.
    const next = update.sessionKeys === undefined ? sealer : createSessionTokens(update.sessionKeys);
    sealer = next;
    callers = update.callers;
  };

  return { origin, port, metricsOrigin, endpoints, metrics, store: rawStore, shutdown, closed, reloadCredentials };
}

/**
 * An HTTP server with the gateway's connection bounds: headers within `headersTimeoutMs` (checked
 * often enough that a connection is closed at most a second past it; Node checks every 30 s by
 * default), idle keep-alive connections closed after `idleTimeoutMs`. Request bodies have their
 * own bound (`bodyTimeoutMs`); answers have none (a tool may run for minutes, a GET stream for hours).
 */
function listener(config: ResolvedGatewayOptions, serve: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Server {
  const server = createServer(
    {
      requestTimeout: 0,
      headersTimeout: config.headersTimeoutMs,
      keepAliveTimeout: config.idleTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(config.headersTimeoutMs / 10))),
    },
    (req, res) => {
      serve(req, res).catch((error: unknown) => {
        config.log.error(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        if (!res.headersSent) sendJson(res, 500, jsonRpcError(-32603, 'mcp-lifeline: internal error'));
        else res.destroy();
      });
    },
  );
  return server;
}

async function listen(server: Server, port: number, host: string, log: ResolvedGatewayOptions['log']): Promise<number> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  // From now on an error is a failed accept (EMFILE: out of file descriptors): the server goes on.
  server.on('error', (error) => log.warn(`accepting a connection failed: ${networkErrorText(error)}`));
  return (server.address() as AddressInfo).port;
}

function originOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Counts what the connection caps did, and says so in the log at most once a minute. */
function connectionVerdicts(config: ResolvedGatewayOptions, metrics: GatewayMetrics): (verdict: ConnectionVerdict) => void {
  const state = { loggedAt: 0, evicted: 0, refused: 0 };
  return (verdict) => {
    if (verdict === 'evicted-idle') {
      metrics.connectionEvicted();
      state.evicted += 1;
    } else {
      metrics.refused(verdict === 'refused-total' ? 'connections' : 'connections-per-address');
      state.refused += 1;
    }
    if (Date.now() - state.loggedAt < CONNECTION_LOG_EVERY_MS) return;
    state.loggedAt = Date.now();
    config.log.warn('connection limit reached: idle connections closed to make room, or new ones refused when none was idle', {
      maxConnections: config.maxConnections,
      maxConnectionsPerAddress: config.maxConnectionsPerAddress,
      evicted: state.evicted,
      refused: state.refused,
    });
    state.evicted = 0;
    state.refused = 0;
  };
}
