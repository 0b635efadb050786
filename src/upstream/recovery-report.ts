import type { LifelineEvent } from '../recovery/events.js';
import type { UpstreamEvent } from './upstream.js';

/**
 * What the recovery middleware did, as an upstream event: a recovery at `info` (with the rule
 * that recognised the loss), a failed restore at `warn`, a failed recovery at `error`, the rest at
 * `debug`. `lastLoss` carries the loss that a `reinitialized` event is the answer to.
 */
export function recoveryReport(event: LifelineEvent, lastLoss: LifelineEvent | undefined): UpstreamEvent {
  switch (event.type) {
    case 'session-lost':
      return {
        level: 'debug',
        type: event.type,
        message: 'session lost',
        fields: { rule: event.rule, status: event.status, method: event.rpcMethod ?? event.method, session: event.sessionId },
      };
    case 'reinitialized': {
      const loss = lastLoss?.type === 'session-lost' ? lastLoss : undefined;
      return {
        level: 'info',
        type: 'session-recovered',
        message: 'session recovered',
        fields: {
          rule: loss?.rule,
          status: loss?.status,
          request: loss?.rpcMethod ?? loss?.method,
          ms: event.durationMs,
          session: `${event.previousSessionId}→${event.sessionId}`,
        },
      };
    }
    case 'state-restored':
      return event.failures.length > 0
        ? { level: 'warn', type: event.type, message: 'state not fully restored', fields: { failures: event.failures.join('; ') } }
        : {
            level: 'debug',
            type: event.type,
            message: 'state restored',
            fields: { logLevel: event.logLevel, subscriptions: event.subscriptions },
          };
    case 'recovery-failed':
      return { level: 'error', type: event.type, message: event.message, fields: { code: event.code } };
    case 'stream-broken':
      return {
        level: 'debug',
        type: event.type,
        message: 'response stream broke',
        fields: { method: event.rpcMethod, error: event.error },
      };
    default:
      return { level: 'debug', type: event.type, message: event.type, fields: { method: 'method' in event ? event.method : undefined } };
  }
}
