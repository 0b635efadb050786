import { parseArgs } from 'node:util';
import { DEFAULT_GATEWAY_OPTIONS, type GatewaySettings, settingsWithDefaults } from '../gateway/gateway-options.js';
import { collectHeaders } from './headers.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger.js';
import { DIRECT, NETWORK_OPTIONS, type NetworkSettings, networkSettingsOf } from './network-args.js';
import { ALLOW_HTTP_FLAG, checkPlainHttp } from './plain-http.js';
import { RESTART_WINDOW_OPTION, restartWindowMs } from './restart-window-arg.js';
import { readServeConfig, type ServeConfig, type ServeUpstreamConfig, upstreamEra, upstreamOAuth } from './serve-config.js';
import { parseArgsMessage } from './suggest.js';
import { TOOL_FILTER_OPTIONS, toolFilterOf } from './tool-filter-args.js';
import { UsageError } from './usage-error.js';
import { parseChoice, parseCount, parseDuration, parsedOr, parseSeconds, parseSize, parseUrl } from './values.js';

/** Bound on each Redis command by default, in ms. */
const DEFAULT_STORE_TIMEOUT_MS = 2000;

export const SERVE_HELP = `mcp-lifeline serve: a recovering MCP gateway for hosts that take a URL.

Usage:
  mcp-lifeline serve <url> [--name NAME] [<url> --name NAME]… [options]
  mcp-lifeline serve --config FILE [options]

Each upstream gets a Streamable HTTP endpoint at /NAME/mcp (a single one also at /mcp). Hosts use
it exactly like the upstream; when the upstream forgets, restarts or is redeployed, the gateway
re-initializes its session and replays the request, and the host never notices.

Upstreams:
  --name NAME                   route name of each <url>, in order (default: the URL's host name)
  --header 'Name: value'        header for every upstream request (repeatable); \${VAR} from the environment
  --header-file PATH            "Name: value" lines (# starts a comment)
  --forward-header NAME         client header passed on to the upstream, e.g. authorization (default: none)
  --protocol auto|2025|2026     the <url> upstreams' protocol era; --transport auto|http|sse their transport.
                                Default: 2025 Streamable HTTP, forwarded with session recovery; any other
                                choice (auto included) is served through the era adapters
  --oauth                       sign in to the <url> upstreams as the gateway, with the sign-in stored by
                                "mcp-lifeline login <url>" (refreshed as needed; never interactive)
  --oauth-client-credentials    sign in with the client credentials flow (MCP_LIFELINE_CLIENT_ID and
                                MCP_LIFELINE_CLIENT_SECRET); no user involved
  --ignore-tool PATTERN         hide the <url> upstreams' tools matching PATTERN from clients (repeatable; *
                                is any run of characters, any case); a call to one is refused, never sent
  --allow-tool PATTERN          show only their tools matching PATTERN (repeatable); --ignore-tool still applies
  --allow-http                  allow plain http:// upstreams on other machines (refused by default: headers
                                and tokens would cross the network unencrypted; localhost needs nothing)
  --proxy env|off|URL           the proxy to reach upstreams and sign-in servers through: env (the default)
                                reads HTTPS_PROXY, HTTP_PROXY, NO_PROXY; off: none; a URL: that one
  --ca-file PATH                trust the CA certificates in PATH (PEM) besides Node's (repeatable)
  --config FILE                 JSON or YAML: several upstreams with their own headers (flags override it)

Listening and security:
  --host ADDRESS                address to listen on (default ${DEFAULT_GATEWAY_OPTIONS.host}); not loopback: needs --token-file
  --port PORT                   port (default ${DEFAULT_GATEWAY_OPTIONS.port}; 0 picks a free one)
  --token-file PATH             client credentials, "TOKEN" or "NAME TOKEN" a line; clients send
                                "Authorization: Bearer TOKEN" (or X-MCP-Lifeline-Token)
  --allowed-host HOST           another Host header to accept, e.g. mcp.internal:8787 (repeatable; * for any)
  --allowed-origin ORIGIN       a browser origin to accept (CORS), e.g. https://app.example.com (repeatable)
  --max-body SIZE               largest request body (default 4m)
  --max-message-size SIZE       largest upstream message passed on: a JSON answer or one SSE event (default 8m)
  --max-streams-per-session N   responses in progress per session and replica (default ${DEFAULT_GATEWAY_OPTIONS.maxStreamsPerSession})
  --max-sessions-per-caller N   live sessions per caller (default ${DEFAULT_GATEWAY_OPTIONS.maxSessionsPerCaller}; without --token-file the
                                least recently used session is ended to make room instead of refusing)
  --max-connections N           connections open at once (default: half of ulimit -n, at most 4096)
  --max-connections-per-address N  from one address (default: all of them on loopback, a quarter otherwise)
  --headers-timeout DURATION    a connection must send a request's headers within this (default 30s)
  --idle-timeout DURATION       an idle keep-alive connection is closed after this (default 5s)
  --body-timeout DURATION       a request body must arrive within this (default 30s)
  --metrics-port PORT           also serve /metrics, /readyz and /healthz (only) on this port, for scrapers
  --metrics-host ADDRESS        address of that listener (default ${DEFAULT_GATEWAY_OPTIONS.metricsHost})

Sessions and replicas:
  --store memory|redis://…      session table: in this process (default) or Redis/Valkey, shared by replicas
  --store-prefix PREFIX         key prefix in Redis (default mcp-lifeline:)
  --key-file PATH               session-id keys, newest first (32 bytes as base64 or hex, one a line);
                                required with Redis; also read from MCP_LIFELINE_SESSION_KEYS
  --session-ttl DURATION        forget a session's record after this long idle (default 24h)
  --session-max-age DURATION    refuse a session id this long after it was issued (default 7d)
  --max-records N               records the memory store holds (default ${DEFAULT_GATEWAY_OPTIONS.maxRecords})
  --store-timeout DURATION      bound on each Redis command; past it the request gets 503 (default 2s)

Operations:
  --timeout SECONDS             bound for requests the gateway sends on its own (default 10)
  --restart-window SECONDS      how long a request an upstream could not take (connection refused: a
                                restart, a redeploy) waits for it to come back; 0: not at all (default 30)
  --drain-timeout SECONDS       how long SIGTERM waits for requests in flight (default 10)
  --log-level LEVEL             error | warn | info | debug (default info), to stderr
  --log-format FORMAT           text | json (default text)
  --log-file PATH               also append the log to PATH (created with mode 0600)
  Endpoints: /healthz, /readyz (store reachable), /metrics (Prometheus).

Values (flags and config file alike):
  a duration is a number with ms, s, m, h or d (500ms, 90s, 10m, 24h, 7d); a bare number is seconds.
  A size is bytes, or a number with k, m or g (counted in 1024s, as KiB, MiB, GiB are) or KB, MB, GB
  (in 1000s): 512k, 4m, 8MiB, 1.5MB

Examples:
  mcp-lifeline serve https://mcp.atlassian.example/mcp --header 'Authorization: Token \${ATLASSIAN_API_TOKEN}'
  mcp-lifeline serve --config gateway.yaml --store redis://redis:6379 --key-file /run/secrets/keys --host 0.0.0.0 --token-file /run/secrets/tokens`;

/** A parsed `serve` command line, merged with its config file. */
export interface ServeCommand extends GatewaySettings {
  readonly kind: 'serve';
  readonly help: boolean;
  readonly upstreams: readonly ServeUpstreamConfig[];
  /** `memory`, or a redis:// or rediss:// URL. */
  readonly store: string;
  readonly storePrefix: string | undefined;
  readonly keyFile: string | undefined;
  readonly tokenFile: string | undefined;
  /** Bound on each command of a Redis store, in ms. */
  readonly storeTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Where the log is also appended (`--log-file`, `logFile`). */
  readonly logFile: string | undefined;
  /** Headers (flags or config file) that carry no credential after expansion: warned about at start. */
  readonly warnings: readonly string[];
  /** `--proxy` and `--ca-file` (the config file's `proxy` and `caFile`): how upstreams are reached. */
  readonly network: NetworkSettings;
}

const OPTIONS = {
  name: { type: 'string', multiple: true },
  header: { type: 'string', multiple: true },
  'header-file': { type: 'string', multiple: true },
  'forward-header': { type: 'string', multiple: true },
  oauth: { type: 'boolean' },
  protocol: { type: 'string' },
  transport: { type: 'string' },
  'oauth-client-credentials': { type: 'boolean' },
  config: { type: 'string' },
  'allow-http': { type: 'boolean' },
  ...NETWORK_OPTIONS,
  ...TOOL_FILTER_OPTIONS,
  host: { type: 'string' },
  port: { type: 'string' },
  'token-file': { type: 'string' },
  'allowed-host': { type: 'string', multiple: true },
  'allowed-origin': { type: 'string', multiple: true },
  'max-body': { type: 'string' },
  'max-streams-per-session': { type: 'string' },
  'max-sessions-per-caller': { type: 'string' },
  'max-message-size': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-address': { type: 'string' },
  'headers-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'body-timeout': { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  'store-timeout': { type: 'string' },
  store: { type: 'string' },
  'store-prefix': { type: 'string' },
  'key-file': { type: 'string' },
  'session-ttl': { type: 'string' },
  'session-max-age': { type: 'string' },
  'max-records': { type: 'string' },
  timeout: { type: 'string' },
  ...RESTART_WINDOW_OPTION,
  'drain-timeout': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'log-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses `serve`'s arguments (after the word `serve`); throws UsageError naming the mistake. */
export function parseServeCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse([...argv]);
  } catch (error) {
    throw new UsageError(`serve: ${parseArgsMessage(error, OPTIONS)}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { ...defaults({}), help: true, upstreams: [], network: DIRECT };
  const config: ServeConfig = values.config === undefined ? {} : readServeConfig(values.config, env);

  const names = values.name ?? [];
  if (names.length > positionals.length) throw new UsageError(`serve: ${names.length} --name for ${positionals.length} URL(s)`);
  const { headers, warnings } = collectHeaders(values.header ?? [], values['header-file'] ?? [], env);
  const forwardHeaders = (values['forward-header'] ?? []).map((header) => header.toLowerCase());
  const oauth =
    values.oauth || values['oauth-client-credentials']
      ? upstreamOAuth(values['oauth-client-credentials'] ? { clientCredentials: true } : true, {
          headers,
          forwardHeaders,
          where: '--oauth',
          env,
        })
      : undefined;
  const era = upstreamEra({ protocol: values.protocol, transport: values.transport });
  const tools = toolFilterOf({ ignore: values['ignore-tool'], allow: values['allow-tool'] });
  const fromFlags = positionals.map((text, index): ServeUpstreamConfig => {
    const url = parseUrl(text);
    return {
      name: names[index] ?? url.hostname,
      url,
      headers,
      forwardHeaders,
      oauth,
      era,
      ignoreTools: tools.ignore ?? [],
      allowTools: tools.allow ?? [],
    };
  });
  const upstreams = [...(config.upstreams ?? []), ...fromFlags].map((upstream) =>
    // Flags apply to every upstream; a config file's own headers win for its upstreams.
    fromFlags.includes(upstream) ? upstream : { ...upstream, headers: { ...headers, ...upstream.headers } },
  );
  if (upstreams.length === 0)
    throw new UsageError('serve: missing <url> (or --config FILE with "upstreams"). Run mcp-lifeline serve --help');
  const allowHttp = values['allow-http'] === true || config.allowHttp === true;
  for (const upstream of upstreams) {
    const configured = !fromFlags.includes(upstream);
    checkPlainHttp(upstream.url, {
      allowed: allowHttp || upstream.allowHttp === true,
      where: `serve: upstream "${upstream.name}"`,
      how: configured ? `set "allowHttp: true" on it in ${values.config} (or pass ${ALLOW_HTTP_FLAG})` : undefined,
    });
  }
  const base = defaults(config);
  return {
    ...base,
    kind: 'serve',
    help: false,
    upstreams: uniqueNames(upstreams),
    network: networkSettingsOf(values, env, {
      proxy: config.proxy,
      caFiles: config.caFiles,
      where: values.config === undefined ? undefined : `--config ${values.config}`,
    }),
    host: values.host ?? base.host,
    port: parsedOr(values.port, base.port, (text) => parseCount('--port', text, { min: 0, max: 65535 })),
    store: values.store ?? base.store,
    storePrefix: values['store-prefix'] ?? base.storePrefix,
    keyFile: values['key-file'] ?? base.keyFile,
    tokenFile: values['token-file'] ?? base.tokenFile,
    allowedHosts: [...base.allowedHosts, ...(values['allowed-host'] ?? [])],
    allowedOrigins: [...base.allowedOrigins, ...(values['allowed-origin'] ?? [])],
    maxBodyBytes: parsedOr(values['max-body'], base.maxBodyBytes, (text) => parseSize('--max-body', text)),
    maxStreamsPerSession: parsedOr(values['max-streams-per-session'], base.maxStreamsPerSession, count('--max-streams-per-session')),
    maxSessionsPerCaller: parsedOr(values['max-sessions-per-caller'], base.maxSessionsPerCaller, count('--max-sessions-per-caller')),
    maxMessageBytes: parsedOr(values['max-message-size'], base.maxMessageBytes, (text) => parseSize('--max-message-size', text)),
    maxConnections: parsedOr(values['max-connections'], base.maxConnections, count('--max-connections')),
    maxConnectionsPerAddress: parsedOr(
      values['max-connections-per-address'],
      base.maxConnectionsPerAddress,
      count('--max-connections-per-address'),
    ),
    headersTimeoutMs: parsedOr(values['headers-timeout'], base.headersTimeoutMs, duration('--headers-timeout')),
    idleTimeoutMs: parsedOr(values['idle-timeout'], base.idleTimeoutMs, duration('--idle-timeout')),
    bodyTimeoutMs: parsedOr(values['body-timeout'], base.bodyTimeoutMs, duration('--body-timeout')),
    metricsPort: parsedOr(values['metrics-port'], base.metricsPort, (text) => parseCount('--metrics-port', text, { min: 0, max: 65535 })),
    metricsHost: values['metrics-host'] ?? base.metricsHost,
    storeTimeoutMs: parsedOr(values['store-timeout'], base.storeTimeoutMs, duration('--store-timeout')),
    // A bare number is seconds, as in the config file's `sessionTtl` (it was read as ms before: issue 17).
    sessionIdleTtlMs: parsedOr(values['session-ttl'], base.sessionIdleTtlMs, duration('--session-ttl')),
    sessionMaxAgeMs: parsedOr(values['session-max-age'], base.sessionMaxAgeMs, duration('--session-max-age')),
    maxRecords: parsedOr(values['max-records'], base.maxRecords, count('--max-records')),
    timeoutMs: parsedOr(values.timeout, base.timeoutMs, (text) => parseSeconds('--timeout', text)),
    restartWindowMs: restartWindowMs('--restart-window', values['restart-window'], base.restartWindowMs),
    drainTimeoutMs: parsedOr(values['drain-timeout'], base.drainTimeoutMs, (text) => parseSeconds('--drain-timeout', text)),
    logLevel: parsedOr(values['log-level'], base.logLevel, (text) => parseChoice('--log-level', text, LOG_LEVELS)),
    logFormat: parsedOr(values['log-format'], base.logFormat, (text) => parseChoice('--log-format', text, LOG_FORMATS)),
    logFile: values['log-file'] ?? base.logFile,
    warnings: [...new Set([...warnings, ...(config.warnings ?? [])])],
  };
}

function parse(args: string[]) {
  return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
}

/** Everything but the upstreams, from the config file or the defaults. */
function defaults(config: ServeConfig): Omit<ServeCommand, 'upstreams' | 'help' | 'network'> {
  return {
    ...settingsWithDefaults(config),
    kind: 'serve',
    store: config.store ?? 'memory',
    storePrefix: config.storePrefix,
    keyFile: config.keyFile,
    tokenFile: config.tokenFile,
    storeTimeoutMs: config.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS,
    logLevel: config.logLevel ?? 'info',
    logFormat: config.logFormat ?? 'text',
    logFile: config.logFile,
    warnings: [],
  };
}

/** Two upstreams on the same host get -2, -3… (explicit names are never changed). */
function uniqueNames(upstreams: readonly ServeUpstreamConfig[]): ServeUpstreamConfig[] {
  const seen = new Map<string, number>();
  return upstreams.map((upstream) => {
    const count = (seen.get(upstream.name) ?? 0) + 1;
    seen.set(upstream.name, count);
    return count === 1 ? upstream : { ...upstream, name: `${upstream.name}-${count}` };
  });
}

/** Parses a count of at least 1. */
function count(flag: string): (text: string) => number {
  return (text) => parseCount(flag, text, { min: 1 });
}

/** Parses a duration; a bare number is seconds, as in the config file. */
function duration(flag: string): (text: string) => number {
  return (text) => parseDuration(flag, text);
}
