/** Structured fields of a log line; values must already be free of secrets. */
export type BridgeLogFields = Record<string, string | number | boolean | undefined>;

/**
 * Where the bridge reports what it does. The CLI's logger implements it and writes to stderr:
 * stdout carries JSON-RPC only.
 */
export interface BridgeLog {
  error(message: string, fields?: BridgeLogFields): void;
  warn(message: string, fields?: BridgeLogFields): void;
  info(message: string, fields?: BridgeLogFields): void;
  debug(message: string, fields?: BridgeLogFields): void;
}
