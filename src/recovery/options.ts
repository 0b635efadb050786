import type { SessionLossVerdict } from '../classifier/classify-session-loss.js';
import { NOT_SESSION_LOSS_RULES, type NotSessionLossRule, SESSION_LOSS_RULES, type SessionLossRule } from '../classifier/rules.js';
import type { BackoffOptions } from '../shared/backoff.js';
import type { LifelineEvent } from './events.js';
import type { SessionSharing } from './session-sharing.js';

/** The request that met a lost session, as shown to {@linkcode SessionRecoveryOptions.shouldRecover}. */
export interface LostRequest {
  readonly method: string;
  /** The MCP endpoint, without query string. */
  readonly url: string;
  /** JSON-RPC method of the message, when it has one. */
  readonly rpcMethod: string | undefined;
}

/** Options of {@linkcode withSessionRecovery}. Every option is optional. */
export interface SessionRecoveryOptions {
  /**
   * Receives every event: session lost, re-initialized, state restored, replayed, message dropped,
   * recovery failed. Called synchronously; an exception it throws is ignored.
   * @default undefined
   */
  readonly onEvent?: ((event: LifelineEvent) => void) | undefined;
  /**
   * Upper bound, in milliseconds, for each request the middleware sends on its own (initialize,
   * `notifications/initialized`, state restore). Replays carry the client's own signal instead:
   * a tool call may legitimately run for minutes.
   * @default 10_000
   */
  readonly timeout?: number | undefined;
  /**
   * Bytes of a response body read to classify it. Bodies are never buffered beyond this.
   * @default 4096
   */
  readonly peekBytes?: number | undefined;
  /**
   * Look inside successful answers for a session error (a 200 JSON body, checked when the client
   * reads it; the first event of an SSE body) and answer requests whose SSE answer breaks
   * mid-stream instead of leaving them to time out. An SSE body is watched as the client reads
   * it, with no extra stream of its own; with this off, the 200 dialects (`jsonrpc-200`,
   * `json-200`, `sse-200`, `sse-json-200`) go unrecognised.
   * @default true
   */
  readonly checkSuccessfulAnswers?: boolean | undefined;
  /**
   * Restore the lost session's state on the new one: the last `logging/setLevel` and every
   * `resources/subscribe` not since unsubscribed.
   * @default true
   */
  readonly restoreState?: boolean | undefined;
  /**
   * Decide whether to recover from a given loss. Return `undefined` for the default (`true`).
   * @default undefined
   */
  readonly shouldRecover?: ((verdict: SessionLossVerdict & { lost: true }, request: LostRequest) => boolean | undefined) | undefined;
  /**
   * The session-loss rules, in order. Add a rule for a server this package does not know yet.
   * @default SESSION_LOSS_RULES
   */
  readonly rules?: readonly SessionLossRule[] | undefined;
  /**
   * Answers that are never session loss, checked before `rules` (those marked `afterLossRules`:
   * after them, for what no loss rule claimed).
   * @default NOT_SESSION_LOSS_RULES
   */
  readonly notLossRules?: readonly NotSessionLossRule[] | undefined;
  /**
   * Sessions remembered at once (one per `initialize` seen); the oldest is forgotten first.
   * @default 256
   */
  readonly maxSessions?: number | undefined;
  /**
   * Keep idle sessions alive with `ping`, so the server's idle timeout never ends them (and what
   * the server held for them: an open browser page, a shell, a cursor):
   * - a number: ping once the session has been idle this many milliseconds;
   * - `'auto'`: learn the server's idle timeout. Each loss bounds it from above (the time the
   *   session had been idle when the server said it was gone); pings go out once the session has
   *   been idle for `fraction` of the smallest bound, never more often than `minIntervalMs`, and
   *   never before a loss was seen;
   * - `{ auto: true, initialBoundMs }`: the same, starting from a bound known in advance (e.g.
   *   `mcp-lifeline probe --idle`), so pings start before any loss.
   * @default undefined (off)
   */
  readonly keepAlive?: number | 'auto' | KeepAliveAuto | undefined;
  /**
   * How long the client's GET stream is held back when it keeps failing (a 4xx or 5xx, a session
   * error right after a recovery, a stream that closes at once): the delay doubles from
   * `initialDelayMs` up to `maxDelayMs`, and is cleared once a stream delivers a message or stays
   * open. The SDK transports re-open it about once a second otherwise.
   * @default { initialDelayMs: 1_000, maxDelayMs: 60_000 }
   */
  readonly streamBackoff?: BackoffOptions | undefined;
  /**
   * When to stop re-initializing a server that keeps failing: after `failures` recoveries in a row
   * that failed (or whose new session was rejected at once), requests on lost sessions fail at
   * once with `CIRCUIT_OPEN` for `initialDelayMs`, doubling up to `maxDelayMs`; then one request
   * tries again. Any successful answer from the server closes it.
   * @default { failures: 3, initialDelayMs: 1_000, maxDelayMs: 60_000 }
   */
  readonly circuit?: CircuitOptions | undefined;
  /**
   * Recoveries one request may go through. A replay the server rejects again with a certain loss
   * (the new session never answered it, so it did not run) is recovered and replayed again, up to
   * this many recoveries in all, within the request's own signal: a redeploy may hand the first
   * new session to the instance that is going away. New sessions rejected before they ever
   * answered still count towards `circuit`. Then the request fails with `SESSION_LOST_AGAIN`.
   * @default 3
   */
  readonly maxRecoveries?: number | undefined;
  /**
   * How long, in milliseconds, a request that could not be delivered waits for the server to come
   * back (a restart or a redeploy), bounded by the request's own signal: a refused connection, a
   * connection reset before any byte of the request was written, or a DNS failure for a host that
   * answered before. Nothing that may have reached the server is sent again. One request at a
   * time tries the server again, with backoff and jitter (250 ms doubling to 1 s); the others
   * wait for it and go as soon as it gets through. A server this middleware never reached fails
   * at once (a wrong URL says so at once). Each outage is reported once (`server-unreachable`,
   * then `server-reachable`); a request that waited in vain fails with `SERVER_UNREACHABLE`.
   * `0` turns it off.
   * @default 30_000
   */
  readonly restartWindow?: number | undefined;
  /**
   * Sessions shared by several processes through a store (the `serve` gateway's replicas). A
   * request naming a session this process has no record of is looked up there (`load`), a lost
   * session is re-initialized once across the processes (`recover`), and accepted changes of
   * session state and the client's DELETE are reported (`changed`, `ended`). The store's owner
   * writes the sessions it opens itself: the middleware never registers one. Without it, sessions
   * live in this process only.
   * @default undefined
   */
  readonly sharing?: SessionSharing | undefined;
}

/** `keepAlive: { auto: true, … }`: learn the idle timeout, optionally from a known bound. */
export interface KeepAliveAuto {
  readonly auto: true;
  /**
   * An upper bound of the server's idle timeout, in milliseconds, known in advance: pings start at
   * once instead of after the first loss.
   * @default undefined
   */
  readonly initialBoundMs?: number | undefined;
  /**
   * Never ping a session more often than this, in milliseconds.
   * @default 30_000
   */
  readonly minIntervalMs?: number | undefined;
  /**
   * Ping once the session has been idle for this fraction of the smallest bound (0 < fraction < 1).
   * @default 0.5
   */
  readonly fraction?: number | undefined;
}

/** The circuit that stops re-initializing a server that keeps failing. */
export interface CircuitOptions extends BackoffOptions {
  /**
   * Failed recoveries in a row that open the circuit.
   * @default 3
   */
  readonly failures?: number | undefined;
}

/** `keepAlive`, resolved. */
export type KeepAlivePolicy =
  | { readonly mode: 'off' }
  | { readonly mode: 'fixed'; readonly intervalMs: number }
  | { readonly mode: 'auto'; readonly initialBoundMs: number | undefined; readonly minIntervalMs: number; readonly fraction: number };

/** Defaults of `keepAlive: 'auto'`. */
export const DEFAULT_KEEP_ALIVE_AUTO = {
  minIntervalMs: 30_000, // 30 s: mcp-remote's fixed interval, as a floor
  fraction: 0.5,
} as const;

/** Defaults of {@linkcode SessionRecoveryOptions}. */
export const DEFAULT_SESSION_RECOVERY_OPTIONS = {
  timeout: 10_000, // 10 s
  peekBytes: 4096, // 4 KiB
  checkSuccessfulAnswers: true,
  restoreState: true,
  rules: SESSION_LOSS_RULES,
  notLossRules: NOT_SESSION_LOSS_RULES,
  maxSessions: 256,
  keepAlive: undefined,
  streamBackoff: { initialDelayMs: 1_000, maxDelayMs: 60_000 }, // 1 s doubling to 1 min: 7 GETs in the first minute, then 1
  circuit: { failures: 3, initialDelayMs: 1_000, maxDelayMs: 60_000 },
  maxRecoveries: 3,
  restartWindow: 30_000, // 30 s: a typical redeploy's gap
  sharing: undefined,
} as const;

/** Options with every default filled in. */
export interface ResolvedOptions {
  readonly onEvent: ((event: LifelineEvent) => void) | undefined;
  readonly timeout: number;
  readonly peekBytes: number;
  readonly checkSuccessfulAnswers: boolean;
  readonly restoreState: boolean;
  readonly shouldRecover: SessionRecoveryOptions['shouldRecover'];
  readonly rules: readonly SessionLossRule[];
  readonly notLossRules: readonly NotSessionLossRule[];
  readonly maxSessions: number;
  readonly keepAlive: KeepAlivePolicy;
  readonly streamBackoff: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  readonly circuit: { readonly failures: number; readonly initialDelayMs: number; readonly maxDelayMs: number };
  readonly maxRecoveries: number;
  readonly restartWindow: number;
  readonly sharing: SessionSharing | undefined;
}

/** Fills in defaults once, in the factory, and rejects bad options with a TypeError naming them. */
export function resolveOptions(options: SessionRecoveryOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`withSessionRecovery(options): options must be an object, got ${typeof options}`);
  }
  const resolved: ResolvedOptions = {
    onEvent: options.onEvent,
    timeout: options.timeout ?? DEFAULT_SESSION_RECOVERY_OPTIONS.timeout,
    peekBytes: options.peekBytes ?? DEFAULT_SESSION_RECOVERY_OPTIONS.peekBytes,
    checkSuccessfulAnswers: options.checkSuccessfulAnswers ?? DEFAULT_SESSION_RECOVERY_OPTIONS.checkSuccessfulAnswers,
    restoreState: options.restoreState ?? DEFAULT_SESSION_RECOVERY_OPTIONS.restoreState,
    shouldRecover: options.shouldRecover,
    rules: options.rules ?? DEFAULT_SESSION_RECOVERY_OPTIONS.rules,
    notLossRules: options.notLossRules ?? DEFAULT_SESSION_RECOVERY_OPTIONS.notLossRules,
    maxSessions: options.maxSessions ?? DEFAULT_SESSION_RECOVERY_OPTIONS.maxSessions,
    keepAlive: resolveKeepAlive(options.keepAlive),
    streamBackoff: resolveBackoff('streamBackoff', options.streamBackoff, DEFAULT_SESSION_RECOVERY_OPTIONS.streamBackoff),
    circuit: {
      ...resolveBackoff('circuit', options.circuit, DEFAULT_SESSION_RECOVERY_OPTIONS.circuit),
      failures: options.circuit?.failures ?? DEFAULT_SESSION_RECOVERY_OPTIONS.circuit.failures,
    },
    maxRecoveries: options.maxRecoveries ?? DEFAULT_SESSION_RECOVERY_OPTIONS.maxRecoveries,
    restartWindow: options.restartWindow ?? DEFAULT_SESSION_RECOVERY_OPTIONS.restartWindow,
    sharing: options.sharing ?? DEFAULT_SESSION_RECOVERY_OPTIONS.sharing,
  };
  if (!Number.isInteger(resolved.circuit.failures) || resolved.circuit.failures < 1) {
    throw new TypeError(`withSessionRecovery: "circuit.failures" must be a positive integer, got ${String(resolved.circuit.failures)}`);
  }
  if (!Number.isInteger(resolved.maxRecoveries) || resolved.maxRecoveries < 1) {
    throw new TypeError(`withSessionRecovery: "maxRecoveries" must be a positive integer, got ${String(resolved.maxRecoveries)}`);
  }
  if (typeof resolved.restartWindow !== 'number' || !Number.isFinite(resolved.restartWindow) || resolved.restartWindow < 0) {
    throw new TypeError(
      `withSessionRecovery: "restartWindow" must be a number of milliseconds, 0 or more, got ${String(resolved.restartWindow)}`,
    );
  }
  requirePositive('timeout', resolved.timeout, 'milliseconds');
  requirePositive('peekBytes', resolved.peekBytes, 'bytes');
  requirePositive('maxSessions', resolved.maxSessions, 'sessions');
  if (!Number.isInteger(resolved.peekBytes) || resolved.peekBytes < 64) {
    throw new TypeError(`withSessionRecovery: "peekBytes" must be an integer of at least 64, got ${resolved.peekBytes}`);
  }
  for (const name of ['onEvent', 'shouldRecover'] as const) {
    if (resolved[name] !== undefined && typeof resolved[name] !== 'function') {
      throw new TypeError(`withSessionRecovery: "${name}" must be a function, got ${typeof resolved[name]}`);
    }
  }
  const { sharing } = resolved;
  if (sharing !== undefined) {
    const missing = SHARING_METHODS.filter((method) => typeof (sharing as unknown as Record<string, unknown>)?.[method] !== 'function');
    if (missing.length > 0) {
      throw new TypeError(
        `withSessionRecovery: "sharing" must be an object with the methods ${SHARING_METHODS.join(', ')}; missing: ${missing.join(', ')}`,
      );
    }
  }
  for (const name of ['rules', 'notLossRules'] as const) {
    if (!Array.isArray(resolved[name])) {
      throw new TypeError(`withSessionRecovery: "${name}" must be an array of rules`);
    }
  }
  return resolved;
}

const SHARING_METHODS = ['load', 'recover', 'changed', 'ended'] as const;

function resolveKeepAlive(option: SessionRecoveryOptions['keepAlive']): KeepAlivePolicy {
  if (option === undefined) return { mode: 'off' };
  if (typeof option === 'number') {
    requirePositive('keepAlive', option, 'milliseconds');
    return { mode: 'fixed', intervalMs: option };
  }
  const auto = option === 'auto' ? { auto: true as const } : option;
  if (typeof auto !== 'object' || auto === null || auto.auto !== true) {
    throw new TypeError(
      `withSessionRecovery: "keepAlive" must be a number of milliseconds, 'auto' or { auto: true, … }, got ${JSON.stringify(option)}`,
    );
  }
  const resolved = {
    mode: 'auto' as const,
    initialBoundMs: auto.initialBoundMs,
    minIntervalMs: auto.minIntervalMs ?? DEFAULT_KEEP_ALIVE_AUTO.minIntervalMs,
    fraction: auto.fraction ?? DEFAULT_KEEP_ALIVE_AUTO.fraction,
  };
  if (resolved.initialBoundMs !== undefined) requirePositive('keepAlive.initialBoundMs', resolved.initialBoundMs, 'milliseconds');
  requirePositive('keepAlive.minIntervalMs', resolved.minIntervalMs, 'milliseconds');
  if (!(resolved.fraction > 0 && resolved.fraction < 1)) {
    throw new TypeError(`withSessionRecovery: "keepAlive.fraction" must be between 0 and 1, got ${String(resolved.fraction)}`);
  }
  return resolved;
}

function resolveBackoff(
  name: string,
  option: BackoffOptions | undefined,
  defaults: { readonly initialDelayMs: number; readonly maxDelayMs: number },
): { initialDelayMs: number; maxDelayMs: number } {
  const initialDelayMs = option?.initialDelayMs ?? defaults.initialDelayMs;
  const maxDelayMs = option?.maxDelayMs ?? Math.max(defaults.maxDelayMs, initialDelayMs);
  requirePositive(`${name}.initialDelayMs`, initialDelayMs, 'milliseconds');
  requirePositive(`${name}.maxDelayMs`, maxDelayMs, 'milliseconds');
  if (maxDelayMs < initialDelayMs) {
    throw new TypeError(
      `withSessionRecovery: "${name}.maxDelayMs" (${maxDelayMs}) must not be below "${name}.initialDelayMs" (${initialDelayMs})`,
    );
  }
  return { initialDelayMs, maxDelayMs };
}

function requirePositive(name: string, value: unknown, unit: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`withSessionRecovery: "${name}" must be a positive number of ${unit}, got ${String(value)}`);
  }
}
