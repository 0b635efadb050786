import type { LifelineEvent } from '../recovery/events.js';
import type { UpstreamEvent } from './upstream.js';

/**
 * What the recovery middleware did, as an upstream event for the log. One line per recovery at
 * `info` (`session recovered`, with the rule that recognised the loss); a suspicion the session
 * did not confirm, what the keep-alive learned, and the circuit closing at `info`; degraded
 * service (a stream backing off, the circuit opening, a broken answer stream, a partial restore, a
 * server that cannot be reached, once per outage) at `warn`; the rest at `debug`. A failed recovery is `debug` here: the request it failed is
 * answered, and logged once, by the host side. `lastLoss` is the loss a `reinitialized` answers.
 */
export function recoveryReport(event: LifelineEvent, lastLoss: LifelineEvent | undefined): UpstreamEvent {
  const { type } = event;
  switch (event.type) {
    case 'session-lost':
      return debug(type, 'session lost', {
        rule: event.rule,
        status: event.status,
        method: event.rpcMethod ?? event.method,
        session: event.sessionId,
      });
    case 'loss-not-confirmed':
      return {
        level: 'info',
        type,
        message:
          event.outcome === 'session-alive'
            ? 'an error read like session loss, but the session answered a ping: passed on as the server sent it'
            : `an error read like session loss, but a ping could not tell (${event.reason ?? 'no answer'}): passed on, not replayed`,
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
        ? { level: 'warn', type, message: 'state not fully restored', fields: { failures: event.failures.join('; ') } }
        : debug(type, 'state restored', { logLevel: event.logLevel, subscriptions: event.subscriptions });
    case 'stream-broken':
      return {
        level: 'warn',
        type,
        message: `the answer stream ${event.how} before the answer`,
        fields: { method: event.rpcMethod, error: event.error },
      };
    case 'stream-backoff':
      return {
        level: 'warn',
        type,
        message: `the server's stream (HTTP GET) keeps failing (${event.reason}); re-opening it with backoff`,
        fields: { failures: event.failures, delayMs: event.delayMs },
      };
    case 'circuit-open':
      return {
        level: 'warn',
        type,
        message: `re-initialization paused after ${event.failures} failed recoveries (${event.cause})`,
        fields: { retryAt: event.retryAt === undefined ? undefined : new Date(event.retryAt).toISOString() },
      };
    case 'circuit-closed':
      return { level: 'info', type, message: 'the server answers again: re-initialization resumed' };
    case 'keepalive':
      return {
        level: 'info',
        type,
        message:
          event.source === 'loss'
            ? `the server forgot an idle session after at most ${seconds(event.idleMs ?? event.boundMs ?? event.intervalMs)} s: keep-alive pings after ${seconds(event.intervalMs)} s idle`
            : `keep-alive pings after ${seconds(event.intervalMs)} s idle`,
        fields: { boundMs: event.boundMs, intervalMs: event.intervalMs, source: event.source },
      };
    case 'server-unreachable':
      return {
        level: 'warn',
        type,
        message: `cannot reach the server (${event.reason}): requests wait up to ${seconds(event.windowMs)} s for it to come back`,
        fields: { windowMs: event.windowMs },
      };
    case 'server-reachable':
      return {
        level: 'info',
        type,
        message: `the server answers again after ${seconds(event.downMs)} s`,
        fields: { downMs: event.downMs, tries: event.tries },
      };
    case 'recovery-failed':
      return debug(type, event.message, { code: event.code });
    case 'keepalive-failed':
      return debug(type, `keep-alive ping failed: ${event.reason}`, {});
    default:
      return debug(type, type, { method: 'method' in event ? event.method : undefined });
  }
}

function debug(type: string, message: string, fields: UpstreamEvent['fields']): UpstreamEvent {
  return fields === undefined ? { level: 'debug', type, message } : { level: 'debug', type, message, fields };
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(ms < 10_000 ? 1 : 0);
}
