import type { BridgeLog, BridgeLogFields } from '../bridge/bridge-log.js';
import { noop } from '../shared/noop.js';
import type { LogSink } from './log-file.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Structured fields of a log line; values must already be free of secrets. */
export type LogFields = BridgeLogFields;

/** The CLI's logger: the bridge's log, and what the gateway's `GatewayLog` asks for too. */
export interface Logger extends BridgeLog {
  readonly level: LogLevel;
}

/**
 * Writes log lines to `out` (stderr: stdout belongs to JSON-RPC in the stdio bridge). Text lines
 * are `time level message key=value…`; JSON lines are one object each.
 */
export function createLogger(options: {
  level: LogLevel;
  format: LogFormat;
  /** stderr, or stderr and a `--log-file`: every sink gets the same scrubbed line. */
  out: LogSink;
  /** Removes secrets from every message and field value, whatever the level and format. */
  scrub?: ((text: string) => string) | undefined;
}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const scrub = options.scrub ?? ((text: string) => text);
  const write = (level: LogLevel, raw: string, fields: LogFields = {}) => {
    if (LOG_LEVELS.indexOf(level) > threshold) return;
    const time = new Date().toISOString();
    const message = scrub(raw);
    const defined = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, typeof value === 'string' ? scrub(value) : value] as const);
    const line =
      options.format === 'json'
        ? JSON.stringify({ time, level, msg: message, ...Object.fromEntries(defined) })
        : `${time} ${level.padEnd(5)} ${message}${defined.map(([key, value]) => ` ${key}=${formatValue(value)}`).join('')}`;
    options.out.write(`${line}\n`);
  };
  return {
    level: options.level,
    error: (message, fields) => write('error', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    info: (message, fields) => write('info', message, fields),
    // Off, debug is a no-op: the gateway calls it for every request.
    debug: threshold < LOG_LEVELS.indexOf('debug') ? noop : (message, fields) => write('debug', message, fields),
  };
}

function formatValue(value: string | number | boolean | undefined): string {
  const text = String(value);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}
