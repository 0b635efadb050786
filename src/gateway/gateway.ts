import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { networkErrorText } from '../errors/network-error-text.js';
import { noop } from '../shared/noop.js';
import { LOCAL_CALLER } from './caller-credentials.js';
import { createConnectionGuard } from './connection-guard.js';
import { createEndedSessions } from './ended-sessions.js';
import { sharedStoreWithoutKeys } from './GatewayConfigError.js';
import { type CredentialUpdate, createGatewayCredentials } from './gateway-credentials.js';
import { closeListener, connectionVerdicts, listen, listener, originOf, startOpsListener } from './gateway-listeners.js';
import { createGatewayMetrics, type GatewayMetrics } from './gateway-metrics.js';
import { type GatewayOptions, resolveGatewayOptions } from './gateway-options.js';
import { type FrontDoor, serveRequest } from './gateway-requests.js';
import { createInFlight } from './in-flight.js';
import { createMemoryStore } from './memory-store.js';
import { createMessageRoute } from './message-route.js';
import { createOriginPolicy, type OriginPolicy } from './origin-policy.js';
import type { RouteContext, UpstreamRoute } from './route.js';
import { createSessionAdmission } from './session-admission.js';
import type { SessionStore } from './session-store.js';
import { createStoreOutage, guardStore } from './store-outage.js';
import { createUpstreamRoute } from './upstream-route.js';

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

/**
 * Starts `mcp-lifeline serve`: a Streamable HTTP endpoint per upstream that 2025-era hosts use
 * exactly like the upstream itself, with `withSessionRecovery` keeping every client session's
 * upstream session alive underneath. See README, "`mcp-lifeline serve`".
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const config = resolveGatewayOptions(options);
  const { log } = config;
  const rawStore = options.store ?? createMemoryStore({ idleTtlMs: config.sessionIdleTtlMs, maxRecords: config.maxRecords });
  if (rawStore.shared && options.sessionKeys === undefined) throw sharedStoreWithoutKeys(rawStore.kind);
  const outage = createStoreOutage(rawStore, log);
  const store = guardStore(rawStore, outage);
  const ended = createEndedSessions(store, {
    tombstoneMs: config.sessionMaxAgeMs,
    maxEntries: config.maxRecords,
    // The watch has a connection of its own: that it is back says nothing of the store's command
    // connection, so the outage ends when a command answers (this ping, or the next request).
    onListening: (up, error) => {
      if (up) store.ping().catch(noop);
      else if (error !== undefined) outage.failed(error);
    },
  });
  const credentials = createGatewayCredentials(config, options.sessionKeys ?? [randomBytes(32)]);
  const metrics = createGatewayMetrics();
  const routes = new Map<string, UpstreamRoute>();
  const byName = new Map<string, UpstreamRoute>();
  const endpoints: Record<string, string[]> = {};
  const admission = createSessionAdmission({
    store,
    limit: config.maxSessionsPerCaller,
    log,
    // Without credentials every caller is the one local user: its oldest session makes room.
    evictsAtLimit: (caller) => !credentials.required && caller === LOCAL_CALLER,
    terminate: async (key) => byName.get(key.slice(0, key.indexOf('/')))?.terminate(key),
  });
  const context: RouteContext = { options: config, store, tokens: credentials.tokens, metrics, ended, admission };
  for (const upstream of config.upstreams) {
    const route = upstream.era === undefined ? createUpstreamRoute(upstream, context) : createMessageRoute(upstream, upstream.era, context);
    const paths = [`/${upstream.name}/mcp`, ...(config.upstreams.length === 1 ? ['/mcp'] : [])];
    for (const path of paths) routes.set(path, route);
    byName.set(upstream.name, route);
    endpoints[upstream.name] = paths;
  }

  // Serving until shutdown begins; then draining (new requests get 503) until stopped.
  const lifecycle: { phase: 'serving' | 'draining'; closing: Promise<void> | undefined } = { phase: 'serving', closing: undefined };
  const inFlight = createInFlight();
  const guard = createConnectionGuard(config, connectionVerdicts(config, metrics));
  metrics.countConnections(() => guard.open);
  const ops = { metrics, store, draining: () => lifecycle.phase === 'draining' };
  const door: FrontDoor = { config, routes, endpoints, credentials, metrics, ops, inFlight };
  // The Host rules need the port bound (port 0 picks one): set once listening, before any request is read.
  const main: { policy?: OriginPolicy } = {};
  const server = listener(config, (req, res) => serveRequest(door, req, res, main.policy as OriginPolicy));
  guard.watch(server);
  const port = await listen(server, config.port, config.host, log);
  main.policy = createOriginPolicy({
    bindHost: config.host,
    port,
    allowedHosts: config.allowedHosts,
    allowedOrigins: config.allowedOrigins,
  });
  const origin = originOf(config.host, port);

  let opsListener: { readonly server: Server; readonly origin: string } | undefined;
  if (config.metricsPort !== undefined) {
    try {
      opsListener = await startOpsListener({ ...config, metricsPort: config.metricsPort }, guard, ops);
    } catch (error) {
      server.close();
      server.closeAllConnections();
      throw error;
    }
  }

  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });

  async function stop(reason: string): Promise<void> {
    log.info('shutting down', { reason, inFlight: inFlight.size });
    lifecycle.phase = 'draining';
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // GET streams never finish on their own: end them, the client re-opens one (elsewhere).
    inFlight.endStreams();
    await inFlight.settled(Date.now() + config.drainTimeoutMs);
    if (inFlight.size > 0) log.warn('requests still in flight after the drain timeout; closing them', { inFlight: inFlight.size });
    server.closeAllConnections();
    await stopped;
    if (opsListener !== undefined) await closeListener(opsListener.server);
    let count = 0;
    for (const route of new Set(routes.values()))
      if (!store.shared || route.localSessions) count += await route.endSessions().catch(() => 0);
    if (count > 0) log.info('upstream sessions ended', { count });
    ended.close();
    await rawStore.close().catch((error: unknown) => log.warn(`store: ${networkErrorText(error)}`));
    log.info('stopped');
    markClosed();
  }

  return {
    origin,
    port,
    metricsOrigin: opsListener?.origin,
    endpoints,
    metrics,
    store: rawStore,
    shutdown: (reason) => {
      lifecycle.closing ??= stop(reason);
      return lifecycle.closing;
    },
    closed,
    reloadCredentials: (update: CredentialUpdate) => credentials.reload(update),
  };
}
