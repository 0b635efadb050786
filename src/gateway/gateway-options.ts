import type { FetchLike } from '../recovery/outgoing-request.js';
import { isLoopbackHost } from '../shared/loopback.js';
import type { EraChoice } from '../upstream/negotiate.js';
import { createToolFilter } from '../upstream/tool-filter.js';
import type { CallerCredentials } from './caller-credentials.js';
import { defaultMaxConnections } from './connection-guard.js';
import { GatewayConfigError } from './GatewayConfigError.js';
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
   * Removes the secrets `fetch` adds on its own (an OAuth access token) from text the upstream
   * wrote, before a client or a log sees it; the values of `headers` and of the URL's query are
   * removed anyway. @default undefined: only those
   */
  readonly scrub?: ((text: string) => string) | undefined;
  /**
   * The upstream's protocol era and transport, when it is not (only) 2025 Streamable HTTP: a
   * 2024-11-05 HTTP+SSE server (`transport: 'sse'`), a 2026-07-28 one (`protocol: '2026'`), or found
   * out at each client's initialize (`auto`). Such upstreams are served at the message level, their
   * sessions held by the replica that opened them.
   * @default undefined: 2025 Streamable HTTP, forwarded at the HTTP level with session recovery
   */
  readonly era?: EraChoice | undefined;
  /**
   * Tools hidden from clients: each pattern is a whole tool name, `*` standing for any run of
   * characters, letters in either case (as mcp-remote's `--ignore-tool`). A hidden tool is left out
   * of every page of `tools/list`, and a `tools/call` of it is answered with a JSON-RPC error
   * (-32602) and never sent. A convenience, not a sandbox. @default []
   */
  readonly ignoreTools?: readonly string[] | undefined;
  /** When not empty, the only tools clients see and call (same patterns); `ignoreTools` still applies. @default [] */
  readonly allowTools?: readonly string[] | undefined;
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
  /**
   * Live sessions per caller, across replicas. At the limit a named caller (`callers`) is refused
   * with 429; the `local` caller of a gateway without credentials has its least recently used
   * session ended instead, so sessions abandoned by hosts that exited never lock it out.
   * @default 100
   */
  readonly maxSessionsPerCaller?: number | undefined;
  /**
   * Largest message from an upstream, in bytes: a JSON answer, an error page, or one event of an
   * SSE stream (the bridge's `--max-message-size`). An answer over it is not passed on: the client
   * gets a JSON-RPC error naming the limit, the upstream and the method.
   * @default 8 MiB
   */
  readonly maxMessageBytes?: number | undefined;
  /** Connections open at once, over every listener. @default half the open-file limit (`ulimit -n`), at most 4096; 512 where it cannot be read */
  readonly maxConnections?: number | undefined;
  /** Connections open at once from one remote address. @default `maxConnections` on loopback, a quarter of it otherwise */
  readonly maxConnectionsPerAddress?: number | undefined;
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
  /**
   * How long, in ms, a request that could not be delivered to an upstream (connection refused,
   * reset before any byte was written, a DNS name that stopped resolving) waits for the upstream to
   * come back: a redeploy. Nothing that may have reached it is sent again. 0 turns it off.
   * @default 30 000
   */
  readonly restartWindowMs?: number | undefined;
  /** How long a shutdown waits for requests in flight, in ms. @default 10 000 */
  readonly drainTimeoutMs?: number | undefined;
  /** How long a client may take to send a request body, in ms (then it is cut off). @default 30 000 */
  readonly bodyTimeoutMs?: number | undefined;
  /**
   * How long a connection may take to send a request's headers, in ms, counted from when it opened
   * (or from its previous answer): a connection that sends nothing, or trickles its headers, is
   * answered 408 and closed, at most a second past this bound.
   * @default 30 000
   */
  readonly headersTimeoutMs?: number | undefined;
  /** How long a keep-alive connection may wait idle between requests, in ms. @default 5 000 */
  readonly idleTimeoutMs?: number | undefined;
  /**
   * A second listener for `/metrics`, `/readyz` and `/healthz` only (no MCP endpoint), for
   * scrapers on other machines: its port (0 picks a free one). @default undefined: none
   */
  readonly metricsPort?: number | undefined;
  /** The address of the `metricsPort` listener. @default '127.0.0.1' */
  readonly metricsHost?: string | undefined;
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
  restartWindowMs: 30_000, // 30 s: a typical redeploy's gap
  drainTimeoutMs: 10_000, // 10 s
  bodyTimeoutMs: 30_000, // 30 s
  maxMessageBytes: 8 * 1024 * 1024, // 8 MiB, as the bridge's --max-message-size
  headersTimeoutMs: 30_000, // 30 s
  idleTimeoutMs: 5_000, // 5 s
  metricsHost: '127.0.0.1',
} as const;

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
  readonly restartWindowMs: number;
  readonly drainTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly maxMessageBytes: number;
  /** Undefined: resolved by {@linkcode resolveGatewayOptions} from the open-file limit. */
  readonly maxConnections: number | undefined;
  /** Undefined: resolved by {@linkcode resolveGatewayOptions} from `maxConnections` and `host`. */
  readonly maxConnectionsPerAddress: number | undefined;
  readonly headersTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
}

/** Options with every default filled in (the store and keys are made by the gateway). */
export interface ResolvedGatewayOptions extends GatewaySettings {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
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
    restartWindowMs: pick('restartWindowMs', DEFAULT_GATEWAY_OPTIONS.restartWindowMs),
    drainTimeoutMs: pick('drainTimeoutMs', DEFAULT_GATEWAY_OPTIONS.drainTimeoutMs),
    bodyTimeoutMs: pick('bodyTimeoutMs', DEFAULT_GATEWAY_OPTIONS.bodyTimeoutMs),
    maxMessageBytes: pick('maxMessageBytes', DEFAULT_GATEWAY_OPTIONS.maxMessageBytes),
    maxConnections: given.maxConnections,
    maxConnectionsPerAddress: given.maxConnectionsPerAddress,
    headersTimeoutMs: pick('headersTimeoutMs', DEFAULT_GATEWAY_OPTIONS.headersTimeoutMs),
    idleTimeoutMs: pick('idleTimeoutMs', DEFAULT_GATEWAY_OPTIONS.idleTimeoutMs),
    metricsPort: given.metricsPort,
    metricsHost: pick('metricsHost', DEFAULT_GATEWAY_OPTIONS.metricsHost),
  };
}

const SILENT: GatewayLog = { error() {}, warn() {}, info() {}, debug() {} };
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Fills in defaults and refuses unsafe or inconsistent configurations with a message naming the fix. */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  const settings = settingsWithDefaults({ ...options, ...options.limits });
  const maxConnections = settings.maxConnections ?? defaultMaxConnections();
  const resolved: ResolvedGatewayOptions = {
    ...settings,
    maxConnections,
    // Every caller of a loopback gateway comes from the same address.
    maxConnectionsPerAddress:
      settings.maxConnectionsPerAddress ?? (isLoopbackHost(settings.host) ? maxConnections : Math.max(1, Math.floor(maxConnections / 4))),
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
    try {
      createToolFilter({ ignore: upstream.ignoreTools, allow: upstream.allowTools });
    } catch (error) {
      throw new GatewayConfigError(`upstream "${upstream.name}": ${(error as Error).message}`);
    }
  }
  if (!isLoopbackHost(resolved.host) && resolved.callers === undefined) {
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
    maxMessageBytes: resolved.maxMessageBytes,
    maxConnections: resolved.maxConnections,
    maxConnectionsPerAddress: resolved.maxConnectionsPerAddress,
    headersTimeoutMs: resolved.headersTimeoutMs,
    idleTimeoutMs: resolved.idleTimeoutMs,
    metricsPort: resolved.metricsPort ?? 0,
    restartWindowMs: resolved.restartWindowMs,
  })) {
    const minimum = name === 'port' || name === 'metricsPort' || name === 'restartWindowMs' ? 0 : 1;
    if (!Number.isInteger(value) || value < minimum)
      throw new GatewayConfigError(`${name} must be an integer of at least ${minimum}, got ${value}`);
  }
  return resolved;
}
