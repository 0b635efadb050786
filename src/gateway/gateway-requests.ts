import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayCredentials } from './gateway-credentials.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { ResolvedGatewayOptions } from './gateway-options.js';
import { BodyTimeoutError, BodyTooLargeError, jsonRpcError, readBody, sendJson, sendStoreDown } from './http-exchange.js';
import type { InFlight } from './in-flight.js';
import { answerOps, isOpsPath } from './ops-endpoints.js';
import type { OriginPolicy } from './origin-policy.js';
import type { UpstreamRoute } from './route.js';
import type { SessionStore } from './session-store.js';
import { STORE_RETRY_AFTER_SECONDS, storeFailure } from './store-outage.js';

const CORS_ALLOWED_HEADERS =
  'content-type, accept, authorization, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id, x-mcp-lifeline-token';
const CORS_EXPOSED_HEADERS = 'mcp-session-id, mcp-protocol-version, www-authenticate';

/** What the ops endpoints (`/healthz`, `/readyz`, `/metrics`) read. */
export interface OpsContext {
  readonly metrics: GatewayMetrics;
  readonly store: SessionStore;
  readonly draining: () => boolean;
}

/** What the gateway's front door needs to admit a request and hand it to its route. */
export interface FrontDoor {
  readonly config: ResolvedGatewayOptions;
  /** Routes by path (`/NAME/mcp`, and `/mcp` for a single upstream). */
  readonly routes: ReadonlyMap<string, UpstreamRoute>;
  /** The paths of each upstream, for the 404 of an unknown path. */
  readonly endpoints: Readonly<Record<string, readonly string[]>>;
  readonly credentials: GatewayCredentials;
  readonly metrics: GatewayMetrics;
  readonly ops: OpsContext;
  readonly inFlight: InFlight;
}

/** Applies a listener's Host and Origin rules; false when the request was refused (and answered). */
export function admitted(req: IncomingMessage, res: ServerResponse, rules: OriginPolicy, metrics: GatewayMetrics): boolean {
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

/**
 * Serves one request of the main listener: Host and Origin rules, the ops endpoints, the route
 * for its path, CORS, the caller's credential, the method, the body (bounded in size and time),
 * then the route, with a store outage answered 503. `policy` is the listener's Host and Origin rules.
 */
export async function serveRequest(door: FrontDoor, req: IncomingMessage, res: ServerResponse, policy: OriginPolicy): Promise<void> {
  const { config, metrics } = door;
  const path = (req.url ?? '/').split('?', 1)[0] as string;
  // Every path, /metrics and /readyz included: a DNS-rebinding page must not read them either.
  if (!admitted(req, res, policy, metrics)) return;
  if (isOpsPath(path)) return answerOps(path, res, door.ops);
  const route = door.routes.get(path);
  if (route === undefined) {
    // Upstream names are for callers: listed only where every local caller may use the gateway.
    const known = door.credentials.required ? '' : `; this gateway serves ${Object.values(door.endpoints).flat().join(', ')}`;
    return sendJson(res, 404, jsonRpcError(-32000, `mcp-lifeline: no MCP endpoint at ${path}${known}`));
  }
  if (door.ops.draining()) {
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
  const caller = door.credentials.identify(req, route.name);
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
  const body = method === 'POST' ? await readRequestBody(door, req, res, answerHeaders) : undefined;
  if (body === null) return;
  const started = performance.now();
  const done = door.inFlight.track(method, res);
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
    done();
    metrics.openStreams(-1);
    const ms = performance.now() - started;
    metrics.request(route.name, method, res.statusCode, ms / 1000);
    config.log.debug('request', { upstream: route.name, method, status: res.statusCode, ms: Math.round(ms), caller });
  }
}

/** A POST's body, read in full within the size and time bounds; null when the client was answered (or left) instead. */
async function readRequestBody(
  door: FrontDoor,
  req: IncomingMessage,
  res: ServerResponse,
  answerHeaders: Record<string, string>,
): Promise<Buffer | null> {
  const { config, metrics } = door;
  try {
    return await readBody(req, config.maxBodyBytes, config.bodyTimeoutMs);
  } catch (error) {
    // The client is gone (timed out or hung up): nobody to answer.
    if (error instanceof BodyTimeoutError || req.destroyed) {
      metrics.refused('body-timeout');
      config.log.debug('request body not received', { reason: (error as Error).message });
      return null;
    }
    if (!(error instanceof BodyTooLargeError)) throw error;
    metrics.refused('body-size');
    res.setHeader('connection', 'close');
    sendJson(res, 413, jsonRpcError(-32000, `mcp-lifeline: ${error.message}`), answerHeaders);
    return null;
  }
}
