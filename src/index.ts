// Runtime-neutral entry: Web APIs only (fetch, streams). Node-only code lives in src/cli and src/bridge.

export {
  type ClassifyOptions,
  classifySessionLoss,
  type SessionLossEvidence,
  type SessionLossVerdict,
} from './classifier/classify-session-loss.js';
export {
  isSessionCheckMessage,
  type LossEvidence,
  NOT_SESSION_LOSS_RULES,
  type NotSessionLossRule,
  SESSION_CHECK_MESSAGES,
  SESSION_LOSS_RULES,
  type SessionLossRule,
} from './classifier/rules.js';
export { hasSessionLossWording, SESSION_LOSS_WORDING } from './classifier/wording.js';
export type {
  CliErrorCode,
  GatewayErrorCode,
  LifelineErrorCode,
  MiddlewareErrorCode,
  SessionRecoveryErrorCode,
  SignInErrorCode,
  TransportErrorCode,
} from './errors/error-codes.js';
export { isLifelineError, LifelineError } from './errors/LifelineError.js';
export { ServerUnreachableError } from './errors/ServerUnreachableError.js';
export { type RequestReport, type SessionLossReport, SessionRecoveryError } from './errors/SessionRecoveryError.js';
export type {
  CircuitEvent,
  KeepAliveEvent,
  KeepAliveFailedEvent,
  LifelineEvent,
  LossNotConfirmedEvent,
  MessageDroppedEvent,
  RecoveryFailedEvent,
  ReinitializedEvent,
  ReplayedEvent,
  ServerReachableEvent,
  ServerUnreachableEvent,
  SessionAbandonedEvent,
  SessionAdoptedEvent,
  SessionLostEvent,
  StateRestoredEvent,
  StreamBackoffEvent,
  StreamBrokenEvent,
} from './recovery/events.js';
export {
  type CircuitOptions,
  DEFAULT_KEEP_ALIVE_AUTO,
  DEFAULT_SESSION_RECOVERY_OPTIONS,
  type KeepAliveAuto,
  type LostRequest,
  type SessionRecoveryOptions,
} from './recovery/options.js';
export type { FetchLike, Middleware } from './recovery/outgoing-request.js';
export type {
  NewServerSession,
  SessionSharing,
  SharedRecovery,
  SharedSessionState,
} from './recovery/session-sharing.js';
export { withSessionRecovery } from './recovery/with-session-recovery.js';
export type { BackoffOptions } from './shared/backoff.js';
export { redactSessionId } from './shared/redact.js';
export type { SessionStateChange } from './shared/session-state.js';
