import { parseArgs } from 'node:util';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../upstream/streamable-http.js';
import { AUTH_COMMANDS, type AuthCommand, type OAuthFlags, parseAuthCommand, parseOAuthFlags } from './auth-args.js';
import { ERA_HELP, ERA_OPTIONS, type EraChoice, parseEraArgs } from './era-args.js';
import { collectHeaders } from './headers.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger.js';
import { OAUTH_HELP, OAUTH_OPTIONS } from './oauth-options.js';
import { RESTART_WINDOW_OPTION, restartWindowMs } from './restart-window-arg.js';
import { parseServeCommand, type ServeCommand } from './serve-args.js';
import { UsageError } from './usage-error.js';

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
      durationMs: seconds('--duration', values.duration, 15),
      intervalMs: integer('--interval', values.interval, 250, 0),
      dropEvery: integer('--drop-every', values['drop-every'], 3, 1),
      withoutLifeline: values['without-lifeline'] ?? false,
      color,
    };
  }

  const probing = first === 'probe';
  const [urlText, ...extra] = probing ? rest : positionals;
  if (urlText === undefined) throw new UsageError('probe: missing <url>');
  expectNoMore(extra);
  const headers = collectHeaders(values.header ?? [], values['header-file'] ?? [], env);
  const connection: Connection = {
    url: parseUrl(urlText),
    headers,
    timeoutMs: seconds('--timeout', values.timeout, 10),
    oauth: parseOAuthFlags(values, headers, env),
  };
  if (probing) {
    return {
      kind: 'probe',
      ...connection,
      json: values.json ?? false,
      color,
      idle: values.idle === undefined ? undefined : { maxMs: duration('--idle', values.idle, 'm'), stepsMs: steps(values['idle-steps']) },
    };
  }
  return {
    kind: 'bridge',
    ...connection,
    keepAlive: values.keepalive === undefined ? undefined : keepAlive(values.keepalive),
    requestTimeoutMs: seconds('--request-timeout', values['request-timeout'], 300),
    restartWindowMs: restartWindowMs('--restart-window', values['restart-window']),
    maxMessageBytes: size('--max-message-size', values['max-message-size'], DEFAULT_MAX_MESSAGE_BYTES),
    maxInFlight: integer('--max-in-flight', values['max-in-flight'], 32, 1),
    exitGraceMs: seconds('--exit-grace', values['exit-grace'], 30),
    logLevel: choice('--log-level', values['log-level'], LOG_LEVELS, 'info'),
    logFormat: choice('--log-format', values['log-format'], LOG_FORMATS, 'text'),
    ...parseEraArgs(values),
  };
}

function parse(args: string[]) {
  return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
}

function expectNoMore(extra: readonly string[]): void {
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
}

/**
 * An http(s) URL, or a UsageError that says what is wrong with it. The URL itself is never
 * echoed: it may carry a token in its query. A user name or password in it is refused, since every
 * error would otherwise carry them: credentials belong in --header.
 */
export function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('<url> is not a valid URL (expected e.g. https://mcp.example.com/mcp)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`<url>: only http and https URLs are supported, not ${url.protocol.replace(':', '')}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(
      "<url> carries a user name or password; pass credentials with --header 'Authorization: Basic ${CREDENTIALS}' instead, " +
        'so they never appear in logs or errors',
    );
  }
  return url;
}

function seconds(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback * 1000;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`${flag} must be a positive number of seconds, got "${value}"`);
  return Math.round(number * 1000);
}

function integer(flag: string, value: string | undefined, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < minimum)
    throw new UsageError(`${flag} must be an integer of at least ${minimum}, got "${value}"`);
  return number;
}

function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
}

/** `--keepalive`: a fixed interval, or `auto` (learn the idle timeout), optionally from a known bound. */
export type KeepAliveChoice = number | 'auto' | { readonly auto: true; readonly initialBoundMs: number };

/** "300" (seconds), "auto", "auto:15m" (a bound from `probe --idle`). */
function keepAlive(value: string): KeepAliveChoice {
  if (value === 'auto') return 'auto';
  if (value.startsWith('auto:')) return { auto: true, initialBoundMs: duration('--keepalive auto:', value.slice(5), 's') };
  return seconds('--keepalive', value, 0);
}

const UNIT_BYTES: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** "8MiB", "512KB", "1048576": a size in bytes, at least 1 KiB. */
function size(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = UNIT_BYTES[match?.[2]?.toLowerCase() ?? 'x'];
  const bytes = match === null || unit === undefined ? Number.NaN : Math.round(Number(match[1]) * unit);
  if (!(bytes >= 1024)) throw new UsageError(`${flag} must be a size of at least 1KiB such as 8MiB or 512KB, got "${value}"`);
  return bytes;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** "90s", "2m", "1.5h", or a bare number in `unit`. */
function duration(flag: string, value: string, unit: keyof typeof UNIT_MS): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (match === null || Number(match[1]) <= 0) {
    throw new UsageError(`${flag} must be a duration such as 30, 90s, 2m or 1h, got "${value}"`);
  }
  return Math.round(Number(match[1]) * UNIT_MS[(match[2] as keyof typeof UNIT_MS | undefined) ?? unit]);
}

function steps(value: string | undefined): readonly number[] {
  if (value === undefined) return [];
  const list = value.split(',').map((step) => duration('--idle-steps', step, 's'));
  if (list.length === 0) throw new UsageError('--idle-steps must list at least one duration');
  return list;
}
