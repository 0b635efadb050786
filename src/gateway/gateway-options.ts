import type { FetchLike } from '../recovery/outgoing-request.js';
import type { CallerCredentials } from './caller-credentials.js';
import type { UpstreamEraChoice } from './message-route.js';
import { isLoopbackAddress } from './origin-policy.js';
import type { SessionStore } from './session-store.js';

/** One remote MCP server behind the gateway. */
export interface GatewayUpstream {
  /** Route name: the endpoint is `/NAME/mcp` (and `/mcp` when it is the only upstream). */
  readonly name: string;
  /** The server's Streamable HTTP endpoint. */
  readonly url: URL;
  /** Sent with every request to this upstream (credentials, API keys); never logged. @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Client request headers passed on to this upstream, lower case (e.g. `authorization` when each
   * user brings their own upstream token). Nothing of the client's is forwarded otherwise. When
   * `authorization` is listed, the gateway's own credential travels in `X-MCP-Lifeline-Token`.
   * @default []
   */
  readonly forwardHeaders?: readonly string[];
  /**
   * The fetch that reaches this upstream, for callers that wrap it (the OAuth seam: a fetch that
   * adds and refreshes the upstream's tokens). `withSessionRecovery` goes on top of it.
   * @default globalThis.fetch
   */
  readonly fetch?: FetchLike;
  /**
   * The upstream's protocol era and transport, when it is not (only) 2025 Streamable HTTP: a
   * 2024-11-05 HTTP+SSE server (`transport: 'sse'`), a 2026-07-28 one (`protocol: '2026'`), or found
   * out at each client's initialize (`auto`). Such upstreams are served at the message level, their
   * sessions held by the replica that opened them.
   * @default undefined: 2025 Streamable HTTP, forwarded at the HTTP level with session recovery
   */
  readonly era?: UpstreamEraChoice | undefined;
}

/** Where the gateway reports what it does; the CLI writes it to stderr. Fields carry no secrets. */
export interface GatewayLog {
  error(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
  warn(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
  info(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
  debug(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
}

/** Bounds on what one client can take. */
export interface GatewayLimits {
  /** Largest request body, in bytes (bodies are held in memory: a request may have to be replayed). @default 4 MiB */
  readonly maxBodyBytes?: number | undefined;
  /** Responses in progress at once per client session on one replica (GET streams and POST answers). @default 32 */
  readonly maxStreamsPerSession?: number | undefined;
  /** Live sessions per caller, across replicas. @default 100 */
  readonly maxSessionsPerCaller?: number | undefined;
}

/** Options of {@linkcode startGateway}. */
export interface GatewayOptions {
  readonly upstreams: readonly GatewayUpstream[];
  /** Address to listen on. A non-loopback address requires `callers`. @default '127.0.0.1' */
  readonly host?: string | undefined;
  /** Port to listen on; 0 picks a free one. @default 8787 */
  readonly port?: number | undefined;
  /** The session table. @default an in-memory store */
  readonly store?: SessionStore | undefined;
  /**
   * Keys for client session ids (32 bytes each), newest first. Replicas must share them; keep them
   * across restarts and clients never notice one.
   * @default one random key per process
   */
  readonly sessionKeys?: readonly Uint8Array[] | undefined;
  /** Client credentials (`--token-file`). @default undefined: none, loopback only */
  readonly callers?: CallerCredentials | undefined;
  /** More `Host` values to accept (a DNS name the gateway is reached by); `*` for any. @default [] */
  readonly allowedHosts?: readonly string[] | undefined;
  /** Browser origins allowed to call the gateway (CORS); `*` for any. @default [] */
  readonly allowedOrigins?: readonly string[] | undefined;
  readonly limits?: GatewayLimits | undefined;
  /** A session's record is forgotten after this long without a request, in ms (sliding). @default 24 h */
  readonly sessionIdleTtlMs?: number | undefined;
  /** A client session id is refused this long after it was issued, in ms (the client re-initializes). @default 7 days */
  readonly sessionMaxAgeMs?: number | undefined;
  /** Records the in-memory store holds at most. @default 10 000 */
  readonly maxRecords?: number | undefined;
  /** Bound, in ms, for requests the gateway sends on its own (re-initializations, DELETE at shutdown). @default 10 000 */
  readonly timeoutMs?: number | undefined;
  /** How long a shutdown waits for requests in flight, in ms. @default 10 000 */
  readonly drainTimeoutMs?: number | undefined;
  /** How long a client may take to send a request body, in ms (then it is cut off). @default 30 000 */
  readonly bodyTimeoutMs?: number | undefined;
  readonly log?: GatewayLog | undefined;
}

/** Defaults of {@linkcode GatewayOptions}. */
export const DEFAULT_GATEWAY_OPTIONS = {
  host: '127.0.0.1',
  port: 8787,
  maxBodyBytes: 4 * 1024 * 1024, // 4 MiB
  maxStreamsPerSession: 32,
  maxSessionsPerCaller: 100,
  sessionIdleTtlMs: 24 * 60 * 60 * 1000, // 24 h
  sessionMaxAgeMs: 7 * 24 * 60 * 60 * 1000, // 7 days
  maxRecords: 10_000,
  timeoutMs: 10_000, // 10 s
  drainTimeoutMs: 10_000, // 10 s
  bodyTimeoutMs: 30_000, // 30 s
} as const;

/** A mistake in the gateway's configuration; the CLI prints it and exits 2. */
export class GatewayConfigError extends Error {
  override name = 'GatewayConfigError';
}

/** The gateway's scalar settings, every default filled in (shared with the CLI's parsed command). */
export interface GatewaySettings {
  readonly host: string;
  readonly port: number;
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly maxBodyBytes: number;
  readonly maxStreamsPerSession: number;
  readonly maxSessionsPerCaller: number;
  readonly sessionIdleTtlMs: number;
  readonly sessionMaxAgeMs: number;
  readonly maxRecords: number;
  readonly timeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly bodyTimeoutMs: number;
}

/** Options with every default filled in (the store and keys are made by the gateway). */
export interface ResolvedGatewayOptions extends GatewaySettings {
  readonly upstreams: readonly GatewayUpstream[];
  readonly callers: CallerCredentials | undefined;
  readonly log: GatewayLog;
}

/** Settings given (undefined: not given), with the defaults filled in. */
export function settingsWithDefaults(given: { readonly [K in keyof GatewaySettings]?: GatewaySettings[K] | undefined }): GatewaySettings {
  const pick = <K extends keyof GatewaySettings>(key: K, fallback: GatewaySettings[K]) => given[key] ?? fallback;
  return {
    host: pick('host', DEFAULT_GATEWAY_OPTIONS.host),
    port: pick('port', DEFAULT_GATEWAY_OPTIONS.port),
    allowedHosts: pick('allowedHosts', []),
    allowedOrigins: pick('allowedOrigins', []),
    maxBodyBytes: pick('maxBodyBytes', DEFAULT_GATEWAY_OPTIONS.maxBodyBytes),
    maxStreamsPerSession: pick('maxStreamsPerSession', DEFAULT_GATEWAY_OPTIONS.maxStreamsPerSession),
    maxSessionsPerCaller: pick('maxSessionsPerCaller', DEFAULT_GATEWAY_OPTIONS.maxSessionsPerCaller),
    sessionIdleTtlMs: pick('sessionIdleTtlMs', DEFAULT_GATEWAY_OPTIONS.sessionIdleTtlMs),
    sessionMaxAgeMs: pick('sessionMaxAgeMs', DEFAULT_GATEWAY_OPTIONS.sessionMaxAgeMs),
    maxRecords: pick('maxRecords', DEFAULT_GATEWAY_OPTIONS.maxRecords),
    timeoutMs: pick('timeoutMs', DEFAULT_GATEWAY_OPTIONS.timeoutMs),
    drainTimeoutMs: pick('drainTimeoutMs', DEFAULT_GATEWAY_OPTIONS.drainTimeoutMs),
    bodyTimeoutMs: pick('bodyTimeoutMs', DEFAULT_GATEWAY_OPTIONS.bodyTimeoutMs),
  };
}

const SILENT: GatewayLog = { error() {}, warn() {}, info() {}, debug() {} };
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Fills in defaults and refuses unsafe or inconsistent configurations with a message naming the fix. */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  const resolved: ResolvedGatewayOptions = {
    ...settingsWithDefaults({ ...options, ...options.limits }),
    upstreams: options.upstreams,
    callers: options.callers,
    log: options.log ?? SILENT,
  };
  if (resolved.upstreams.length === 0) throw new GatewayConfigError('no upstream: give a URL, or a config file with "upstreams"');
  const names = new Set<string>();
  for (const upstream of resolved.upstreams) {
    if (!NAME.test(upstream.name)) {
      throw new GatewayConfigError(`upstream name "${upstream.name}": use letters, digits, ".", "_" or "-" (at most 64)`);
    }
    if (names.has(upstream.name)) throw new GatewayConfigError(`upstream name "${upstream.name}" is used twice`);
    names.add(upstream.name);
  }
  if (!isLoopbackAddress(resolved.host) && resolved.callers === undefined) {
    throw new GatewayConfigError(
      `refusing to listen on ${resolved.host} without a client credential: anyone who can reach it could use ` +
        'your upstream credentials. Give --token-file (clients then send "Authorization: Bearer <token>"), or listen on 127.0.0.1',
    );
  }
  for (const [name, value] of Object.entries({
    port: resolved.port,
    maxBodyBytes: resolved.maxBodyBytes,
    maxStreamsPerSession: resolved.maxStreamsPerSession,
    maxSessionsPerCaller: resolved.maxSessionsPerCaller,
    sessionIdleTtlMs: resolved.sessionIdleTtlMs,
    sessionMaxAgeMs: resolved.sessionMaxAgeMs,
    maxRecords: resolved.maxRecords,
    timeoutMs: resolved.timeoutMs,
    drainTimeoutMs: resolved.drainTimeoutMs,
    bodyTimeoutMs: resolved.bodyTimeoutMs,
  })) {
    const minimum = name === 'port' ? 0 : 1;
    if (!Number.isInteger(value) || value < minimum)
      throw new GatewayConfigError(`${name} must be an integer of at least ${minimum}, got ${value}`);
  }
  return resolved;
}
