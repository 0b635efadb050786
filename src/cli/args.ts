import { parseArgs } from 'node:util';
import type { EraChoice } from '../upstream/negotiate.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../upstream/streamable-http.js';
import type { ToolFilterOptions } from '../upstream/tool-filter.js';
import { type AuthCommand, isAuthCommand, type OAuthFlags, parseAuthCommand, parseOAuthFlags } from './auth-args.js';
import { ERA_OPTIONS, parseEraArgs } from './era-args.js';
import { collectHeaders } from './headers.js';
import { COMMAND_LINES, HELP_TOPICS, type HelpTopic } from './help-topics.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger.js';
import { NETWORK_OPTIONS, type NetworkSettings, networkSettingsOf } from './network-args.js';
import { DEFAULT_SIGN_IN_REQUEST_WAIT_MS, OAUTH_OPTIONS } from './oauth-options.js';
import { checkPlainHttp } from './plain-http.js';
import { RESTART_WINDOW_OPTION, restartWindowMs } from './restart-window-arg.js';
import { nearest, parseArgsMessage } from './suggest.js';
import { TOOL_FILTER_OPTIONS, toolFilterOf } from './tool-filter-args.js';
import { UsageError } from './usage-error.js';
import { parseChoice, parseCount, parseDuration, parsedOr, parseSeconds, parseSize, parseUrl } from './values.js';

interface Connection {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly timeoutMs: number;
  /** Sign-in for servers that answer 401; undefined when off (--no-oauth, or an Authorization header). */
  readonly oauth: OAuthFlags | undefined;
  /** Headers that carry no credential after expansion (an unset variable, say): warned about, never fatal. */
  readonly headerWarnings: readonly string[];
  /** `--proxy` and `--ca-file`: how requests reach the server. */
  readonly network: NetworkSettings;
}

export type Command =
  | { readonly kind: 'help'; readonly topic: HelpTopic }
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
        /** `--oauth-request-wait`: how long a host request waits for a sign-in before it is answered with what to do. */
        readonly signInRequestWaitMs: number;
        readonly logLevel: LogLevel;
        readonly logFormat: LogFormat;
        /** Where the log is also appended (`--log-file`). */
        readonly logFile: string | undefined;
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
  /** `serve` and its arguments, which serve-args.ts parses when serve runs: a bridge never loads serve's parser. */
  | { readonly kind: 'serve'; readonly argv: readonly string[] };

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
  'log-file': { type: 'string' },
  'oauth-request-wait': { type: 'string' },
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

/** The words that name a command; anything else in their place is the bridge's <url>. */
const COMMANDS = ['probe', 'demo', 'serve', 'login', 'status', 'logout', 'help', 'version'] as const;

/** Parses argv (without node and the script) into a command; throws UsageError on mistakes. */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Command {
  const word = argv[0] ?? '';
  if (word === 'help') return helpCommand(argv.slice(1));
  if (word === 'version') {
    if (argv.slice(1).some((arg) => arg === '--help' || arg === '-h')) return { kind: 'help', topic: 'version' };
    expectNoMore(argv.slice(1));
    return { kind: 'version' };
  }
  if (isAuthCommand(word)) return parseAuthCommand(word, argv.slice(1), env);
  if (word === 'serve') return { kind: 'serve', argv: argv.slice(1) };
  // `--idle` takes an optional value, which parseArgs cannot express: give the bare flag its default.
  const args = argv.map((arg) => (arg === '--idle' ? `--idle=${DEFAULT_IDLE_MAX_MINUTES}` : arg));
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new UsageError(parseArgsMessage(error, OPTIONS));
  }
  const { values, positionals } = parsed;
  const [first, ...rest] = positionals;
  if (values.help)
    return { kind: 'help', topic: first === undefined ? 'general' : first === 'probe' || first === 'demo' ? first : 'bridge' };
  if (values.version) return { kind: 'version' };

  if (first === undefined) throw new UsageError(`missing <url> or a command:\n${COMMAND_LINES}\nRun mcp-lifeline --help for every option`);
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
  if (!probing) refuseUnknownCommand(first);
  const [urlText, ...extra] = probing ? rest : positionals;
  if (urlText === undefined) throw new UsageError('probe: missing <url>');
  expectNoMore(extra);
  const url = parseUrl(urlText);
  checkPlainHttp(url, { allowed: values['allow-http'] ?? false, where: probing ? 'probe' : '<url>' });
  const { headers, warnings } = collectHeaders(values.header ?? [], values['header-file'] ?? [], env);
  const connection: Connection = {
    url,
    headers,
    timeoutMs: parsedOr(values.timeout, 10_000, (text) => parseSeconds('--timeout', text)),
    oauth: parseOAuthFlags(values, headers, env),
    headerWarnings: warnings,
    network: networkSettingsOf(values, env),
  };
  if (probing) {
    if (values['idle-steps'] !== undefined && values.idle === undefined)
      throw new UsageError('probe: --idle-steps is used only with --idle: add --idle (or --idle=MAX) to measure the idle timeout');
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
    signInRequestWaitMs: parsedOr(values['oauth-request-wait'], DEFAULT_SIGN_IN_REQUEST_WAIT_MS, (text) =>
      parseSeconds('--oauth-request-wait', text),
    ),
    logLevel: parsedOr(values['log-level'], 'info', (text) => parseChoice('--log-level', text, LOG_LEVELS)),
    logFormat: parsedOr(values['log-format'], 'text', (text) => parseChoice('--log-format', text, LOG_FORMATS)),
    logFile: values['log-file'],
    ...parseEraArgs(values),
    tools: toolFilterOf({ ignore: values['ignore-tool'], allow: values['allow-tool'] }),
  };
}

/** `help [command]`: the general usage, or one command's. */
function helpCommand(argv: readonly string[]): Command {
  const [topic, ...extra] = argv;
  expectNoMore(extra);
  if (topic === undefined || topic === '--help' || topic === '-h') return { kind: 'help', topic: 'general' };
  const known = HELP_TOPICS.find((name) => name === topic);
  if (known !== undefined) return { kind: 'help', topic: known };
  const guess = nearest(topic, HELP_TOPICS);
  throw new UsageError(
    `help: no command "${topic}"${guess === undefined ? '' : `: did you mean \`${guess}\`?`} (commands: ${HELP_TOPICS.join(', ')})`,
  );
}

/**
 * The bridge's <url> is any word that is not a command. A bare word (no dot, colon or slash) is
 * no URL: it is a mistyped command, or a host name without its scheme.
 */
function refuseUnknownCommand(word: string): void {
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(word) || word.toLowerCase() === 'localhost') return;
  const guess = nearest(word, COMMANDS);
  if (guess !== undefined) throw new UsageError(`unknown command "${word}": did you mean \`${guess}\`?`);
  throw new UsageError(
    `unknown command "${word}": the commands are ${COMMANDS.join(', ')}; for the bridge, give an http(s) URL such as https://${word}/mcp`,
  );
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
