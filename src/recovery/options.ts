import type { SessionLossVerdict } from '../classifier/classify-session-loss.js';
import { NOT_SESSION_LOSS_RULES, type NotSessionLossRule, SESSION_LOSS_RULES, type SessionLossRule } from '../classifier/rules.js';
import type { LifelineEvent } from './events.js';

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
   * mid-stream instead of leaving them to time out. Wrapping an SSE body costs one extra stream
   * per answer (about 30 µs on Node 20); with this off, the `jsonrpc-200` and `sse-200` dialects
   * go unrecognised.
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
   * Answers that are never session loss, checked before `rules`.
   * @default NOT_SESSION_LOSS_RULES
   */
  readonly notLossRules?: readonly NotSessionLossRule[] | undefined;
  /**
   * Sessions remembered at once (one per `initialize` seen); the oldest is forgotten first.
   * @default 256
   */
  readonly maxSessions?: number | undefined;
}

/** Defaults of {@linkcode SessionRecoveryOptions}. */
export const DEFAULT_SESSION_RECOVERY_OPTIONS = {
  timeout: 10_000, // 10 s
  peekBytes: 4096, // 4 KiB
  checkSuccessfulAnswers: true,
  restoreState: true,
  rules: SESSION_LOSS_RULES,
  notLossRules: NOT_SESSION_LOSS_RULES,
  maxSessions: 256,
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
  };
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
  for (const name of ['rules', 'notLossRules'] as const) {
    if (!Array.isArray(resolved[name])) {
      throw new TypeError(`withSessionRecovery: "${name}" must be an array of rules`);
    }
  }
  return resolved;
}

function requirePositive(name: string, value: unknown, unit: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`withSessionRecovery: "${name}" must be a positive number of ${unit}, got ${String(value)}`);
  }
}
