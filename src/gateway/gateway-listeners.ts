import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkErrorText } from '../errors/network-error-text.js';
import { isLoopbackHost } from '../shared/loopback.js';
import type { ConnectionGuard, ConnectionVerdict } from './connection-guard.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { ResolvedGatewayOptions } from './gateway-options.js';
import { admitted, type OpsContext } from './gateway-requests.js';
import { jsonRpcError, sendJson } from './http-exchange.js';
import { answerOps, isOpsPath } from './ops-endpoints.js';
import { createOriginPolicy, type OriginPolicy } from './origin-policy.js';

// At most one log line a minute about connections closed or refused at the caps.
const CONNECTION_LOG_EVERY_MS = 60_000;

/**
 * An HTTP server with the gateway's connection bounds: headers within `headersTimeoutMs` (checked
 * often enough that a connection is closed at most a second past it; Node checks every 30 s by
 * default), idle keep-alive connections closed after `idleTimeoutMs`. Request bodies have their
 * own bound (`bodyTimeoutMs`); answers have none (a tool may run for minutes, a GET stream for hours).
 */
export function listener(config: ResolvedGatewayOptions, serve: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Server {
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

export async function listen(server: Server, port: number, host: string, log: ResolvedGatewayOptions['log']): Promise<number> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  // From now on an error is a failed accept (EMFILE: out of file descriptors): the server goes on.
  server.on('error', (error) => log.warn(`accepting a connection failed: ${networkErrorText(error)}`));
  return (server.address() as AddressInfo).port;
}

export function originOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Counts what the connection caps did, and says so in the log at most once a minute. */
export function connectionVerdicts(config: ResolvedGatewayOptions, metrics: GatewayMetrics): (verdict: ConnectionVerdict) => void {
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

/** Stops a listener: no new connections, the open ones closed; resolves once it is closed. */
export async function closeListener(server: Server): Promise<void> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await stopped;
}

/**
 * The metrics listener (`metricsPort`): `/metrics`, `/readyz` and `/healthz` only, for scrapers
 * on other machines. On loopback it keeps the main listener's DNS-rebinding rules; elsewhere any
 * Host is accepted (it serves no MCP).
 */
export async function startOpsListener(
  config: ResolvedGatewayOptions & { readonly metricsPort: number },
  guard: ConnectionGuard,
  ops: OpsContext,
): Promise<{ readonly server: Server; readonly origin: string }> {
  const rules: { policy?: OriginPolicy } = {};
  const server = listener(config, async (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    if (!admitted(req, res, rules.policy as OriginPolicy, ops.metrics)) return;
    if (isOpsPath(path)) return answerOps(path, res, ops);
    sendJson(res, 404, jsonRpcError(-32000, `mcp-lifeline: the metrics listener serves ${['/metrics', '/readyz', '/healthz'].join(', ')}`));
  });
  guard.watch(server);
  const port = await listen(server, config.metricsPort, config.metricsHost, config.log);
  const loopback = isLoopbackHost(config.metricsHost);
  rules.policy = createOriginPolicy({
    bindHost: config.metricsHost,
    port,
    allowedHosts: loopback ? config.allowedHosts : ['*'],
    allowedOrigins: config.allowedOrigins,
  });
  return { server, origin: originOf(config.metricsHost, port) };
}
