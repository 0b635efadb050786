// Runtime-neutral entry: Web APIs only (fetch, streams). Node-only code lives in src/cli and src/bridge.

export {
  type ClassifyOptions,
  classifySessionLoss,
  type SessionLossEvidence,
  type SessionLossVerdict,
} from './classifier/classify-session-loss.js';
export {
  NOT_SESSION_LOSS_RULES,
  type NotSessionLossRule,
  SESSION_LOSS_RULES,
  type SessionLossRule,
} from './classifier/rules.js';
export { hasSessionLossWording, SESSION_LOSS_WORDING } from './classifier/wording.js';
export { isLifelineError, LifelineError, type LifelineErrorCode } from './errors/LifelineError.js';
export { type RequestReport, type SessionLossReport, SessionRecoveryError } from './errors/SessionRecoveryError.js';
export type {
  LifelineEvent,
  MessageDroppedEvent,
  RecoveryFailedEvent,
  ReinitializedEvent,
  ReplayedEvent,
  SessionLostEvent,
  StateRestoredEvent,
  StreamBrokenEvent,
} from './recovery/events.js';
export {
  DEFAULT_SESSION_RECOVERY_OPTIONS,
  type LostRequest,
  type SessionRecoveryOptions,
} from './recovery/options.js';
export type { FetchLike, Middleware } from './recovery/outgoing-request.js';
export { redactSessionId } from './recovery/redact.js';
export { withSessionRecovery } from './recovery/with-session-recovery.js';
