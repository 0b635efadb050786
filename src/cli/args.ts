import { parseArgs } from 'node:util';
import type { EraChoice } from '../upstream/negotiate.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../upstream/streamable-http.js';
import type { ToolFilterOptions } from '../upstream/tool-filter.js';
import { AUTH_COMMANDS, type AuthCommand, type OAuthFlags, parseAuthCommand, parseOAuthFlags } from './auth-args.js';
import { ERA_HELP, ERA_OPTIONS, parseEraArgs } from './era-args.js';
import { collectHeaders } from './headers.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger.js';
import { NETWORK_HELP, NETWORK_OPTIONS, type NetworkSettings, networkSettingsOf } from './network-args.js';
import { OAUTH_HELP, OAUTH_OPTIONS } from './oauth-options.js';
import { checkPlainHttp } from './plain-http.js';
import { RESTART_WINDOW_OPTION, restartWindowMs } from './restart-window-arg.js';
import { parseServeCommand, type ServeCommand } from './serve-args.js';
import { TOOL_FILTER_HELP, TOOL_FILTER_OPTIONS, toolFilterOf } from './tool-filter-args.js';
import { UsageError } from './usage-error.js';
import { parseChoice, parseCount, parseDuration, parsedOr, parseSeconds, parseSize, parseUrl } from './values.js';

export const HELP = `mcp-lifeline: keeps MCP clients working when a remote server forgets their session.

Usage:
  mcp-lifeline <url> [options]          stdio bridge: MCP over stdio to the host, Streamable HTTP to <url>
  mcp-lifeline probe <url> [options]    tell how <url> signals a lost session
  mcp-lifeline demo [options]           watch recovery live on an embedded server
  mcp-lifeline serve <url>… [options]   recovering gateway for hosts that take a URL (serve --help)

Connection options (bridge and probe):
  --header 'Name: value'     add a header to every request (repeatable); \${VAR} is read from the environment
  --header-file PATH         read "Name: value" lines from PATH (# starts a comment)
  --timeout SECONDS          bound for requests mcp-lifeline sends on its own (default 10)
  --allow-http               allow a plain http:// <url> on another machine (refused by default: headers
                             and tokens would cross the network unencrypted; localhost needs nothing)
${NETWORK_HELP}

Bridge options:
  --keepalive SECONDS|auto[:BOUND]
                             ping after SECONDS without traffic; auto: learn the server's idle
                             timeout from the sessions it drops (or start from BOUND, e.g. auto:15m
                             from probe --idle) and ping just before it (default: off)
  --request-timeout SECONDS  bound for each host request; progress resets it (default 300)
  --restart-window SECONDS   how long a request the server could not take (connection refused: a
                             restart, a redeploy) waits for it to come back; 0: not at all (default 30)
  --max-message-size SIZE    largest message either way, e.g. 8MiB, 512KB (default 8MiB)
  --max-in-flight N          host requests sent to the server at once; the rest wait (default 32)
  --exit-grace SECONDS       after stdin closes, time for requests in flight to finish (default 30)
  --log-level LEVEL          error | warn | info | debug (default info), written to stderr
  --log-format FORMAT        text | json (default text)
${TOOL_FILTER_HELP}
${ERA_HELP}

Probe options:
  --json                     print the report as JSON
  --idle[=MAX]               also measure the idle timeout, up to MAX minutes (default 60)
  --idle-steps LIST          idle intervals to try, e.g. 1s,2s,4s (default 1m,2m,4m,8m,…)
  --no-color                 no colour, even on a terminal

Demo options:
  --duration SECONDS         how long the client calls tools (default 15)
  --interval MS              pause between calls (default 250)
  --drop-every N             the server drops every session after N calls (default 3)
  --without-lifeline         the same client without mcp-lifeline, for contrast

${OAUTH_HELP}

Other:
  -h, --help                 this text
  -v, --version              the version

Values:
  a duration is a number with ms, s, m, h or d (500ms, 90s, 10m); a bare number is seconds (minutes
  for --idle, milliseconds for --interval). A size is bytes, or a number with k, m or g (counted in
  1024s, as KiB, MiB, GiB are) or KB, MB, GB (in 1000s): 512k, 8MiB, 1.5MB

Examples:
  mcp-lifeline https://mcp.example.com/mcp --header 'Authorization: Bearer \${API_TOKEN}'
  mcp-lifeline https://mcp.atlassian.example/mcp --header-file ~/.config/atlassian.headers --keepalive 300
  mcp-lifeline probe https://mcp.example.com/mcp --json
  mcp-lifeline demo --without-lifeline

Exit codes: 0 ok, 1 problem found (probe: not recognised; demo: a call failed or ran twice),
2 usage or connection error, 3 internal error.`;

interface Connection {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly timeoutMs: number;
  /** Sign-in for servers that answer 401; undefined when off (--no-oauth, or an Authorization header). */
  readonly oauth: OAuthFlags | undefined;
  /** `--proxy` and `--ca-file`: how requests reach the server. */
  readonly network: NetworkSettings;
}

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | AuthCommand
  | (Connection &
      EraChoice & {
        readonly kind: 'bridge';
        readonly keepAlive: KeepAliveChoice | undefined;
        readonly requestTimeoutMs: number;
        readonly restartWindowMs: number;
        readonly maxMessageBytes: number;
        readonly maxInFlight: number;
        readonly exitGraceMs: number;
        readonly logLevel: LogLevel;
        readonly logFormat: LogFormat;
        /** `--ignore-tool` and `--allow-tool`: tools the host does not see or call. */
        readonly tools: ToolFilterOptions;
      })
  | (Connection & {
      readonly kind: 'probe';
      readonly json: boolean;
      readonly color: boolean | undefined;
      readonly idle: { readonly maxMs: number; readonly stepsMs: readonly number[] } | undefined;
    })
  | {
      readonly kind: 'demo';
      readonly durationMs: number;
      readonly intervalMs: number;
      readonly dropEvery: number;
      readonly withoutLifeline: boolean;
      readonly color: boolean | undefined;
    }
  | ServeCommand;

const OPTIONS = {
  header: { type: 'string', multiple: true },
  'header-file': { type: 'string', multiple: true },
  timeout: { type: 'string' },
  keepalive: { type: 'string' },
  'request-timeout': { type: 'string' },
  ...RESTART_WINDOW_OPTION,
  'max-message-size': { type: 'string' },
  'max-in-flight': { type: 'string' },
  'exit-grace': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  json: { type: 'boolean' },
  idle: { type: 'string' },
  'idle-steps': { type: 'string' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  duration: { type: 'string' },
  interval: { type: 'string' },
  'drop-every': { type: 'string' },
  'without-lifeline': { type: 'boolean' },
  ...ERA_OPTIONS,
  'allow-http': { type: 'boolean' },
  ...NETWORK_OPTIONS,
  ...TOOL_FILTER_OPTIONS,
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  ...OAUTH_OPTIONS,
} as const;

const DEFAULT_IDLE_MAX_MINUTES = 60;

/** Parses argv (without node and the script) into a command; throws UsageError on mistakes. */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Command {
  if (AUTH_COMMANDS.has(argv[0] ?? '')) return parseAuthCommand(argv[0] ?? '', argv.slice(1), env);
  if (argv[0] === 'serve') return parseServeCommand(argv.slice(1), env);
  // `--idle` takes an optional value, which parseArgs cannot express: give the bare flag its default.
  const args = argv.map((arg) => (arg === '--idle' ? `--idle=${DEFAULT_IDLE_MAX_MINUTES}` : arg));
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const [first, ...rest] = positionals;
  if (first === undefined) throw new UsageError('missing <url> (or a command: probe, demo). Run mcp-lifeline --help');
  const color = values['no-color'] ? false : values.color ? true : undefined;

  if (first === 'demo') {
    expectNoMore(rest);
    return {
      kind: 'demo',
      durationMs: parsedOr(values.duration, 15_000, (text) => parseSeconds('--duration', text)),
      intervalMs: parsedOr(values.interval, 250, (text) => parseDuration('--interval', text, { bare: 'ms', zero: true })),
      dropEvery: parsedOr(values['drop-every'], 3, (text) => parseCount('--drop-every', text, { min: 1 })),
      withoutLifeline: values['without-lifeline'] ?? false,
      color,
    };
  }

  const probing = first === 'probe';
  const [urlText, ...extra] = probing ? rest : positionals;
  if (urlText === undefined) throw new UsageError('probe: missing <url>');
  expectNoMore(extra);
  const url = parseUrl(urlText);
  checkPlainHttp(url, { allowed: values['allow-http'] ?? false, where: probing ? 'probe' : '<url>' });
  const headers = collectHeaders(values.header ?? [], values['header-file'] ?? [], env);
  const connection: Connection = {
    url,
    headers,
    timeoutMs: parsedOr(values.timeout, 10_000, (text) => parseSeconds('--timeout', text)),
    oauth: parseOAuthFlags(values, headers, env),
    network: networkSettingsOf(values, env),
  };
  if (probing) {
    return {
      kind: 'probe',
      ...connection,
      json: values.json ?? false,
      color,
      idle:
        values.idle === undefined
          ? undefined
          : { maxMs: parseDuration('--idle', values.idle, { bare: 'm' }), stepsMs: steps(values['idle-steps']) },
    };
  }
  return {
    kind: 'bridge',
    ...connection,
    keepAlive: values.keepalive === undefined ? undefined : keepAlive(values.keepalive),
    requestTimeoutMs: parsedOr(values['request-timeout'], 300_000, (text) => parseSeconds('--request-timeout', text)),
    restartWindowMs: restartWindowMs('--restart-window', values['restart-window']),
    maxMessageBytes: parsedOr(values['max-message-size'], DEFAULT_MAX_MESSAGE_BYTES, (text) =>
      parseSize('--max-message-size', text, { min: 1024 }),
    ),
    maxInFlight: parsedOr(values['max-in-flight'], 32, (text) => parseCount('--max-in-flight', text, { min: 1 })),
    exitGraceMs: parsedOr(values['exit-grace'], 30_000, (text) => parseSeconds('--exit-grace', text)),
    logLevel: parsedOr(values['log-level'], 'info', (text) => parseChoice('--log-level', text, LOG_LEVELS)),
    logFormat: parsedOr(values['log-format'], 'text', (text) => parseChoice('--log-format', text, LOG_FORMATS)),
    ...parseEraArgs(values),
    tools: toolFilterOf({ ignore: values['ignore-tool'], allow: values['allow-tool'] }),
  };
}

function parse(args: string[]) {
  return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
}

function expectNoMore(extra: readonly string[]): void {
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
}

/** `--keepalive`: a fixed interval, or `auto` (learn the idle timeout), optionally from a known bound. */
type KeepAliveChoice = number | 'auto' | { readonly auto: true; readonly initialBoundMs: number };

/** "300" (seconds), "auto", "auto:15m" (a bound from `probe --idle`). */
function keepAlive(value: string): KeepAliveChoice {
  if (value === 'auto') return 'auto';
  if (value.startsWith('auto:')) return { auto: true, initialBoundMs: parseDuration('--keepalive auto:', value.slice(5)) };
  return parseSeconds('--keepalive', value);
}

function steps(value: string | undefined): readonly number[] {
  if (value === undefined) return [];
  const list = value.split(',').map((step) => parseDuration('--idle-steps', step));
  if (list.length === 0) throw new UsageError('--idle-steps must list at least one duration');
  return list;
}
