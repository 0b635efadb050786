import type { LifelineEvent } from '../recovery/events.js';
import { createMetricsRegistry, PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';

/** Why the gateway refused a request before forwarding it; a label of `mcp_lifeline_refused_total`. */
export type RefusalReason =
  | 'host'
  | 'origin'
  | 'credential'
  | 'body-size'
  | 'body-timeout'
  | 'streams-per-session'
  | 'sessions-per-caller'
  | 'unknown-session'
  | 'ended-session'
  | 'expired-session'
  | 'session-id-too-large'
  | 'draining'
  | 'store-unreachable'
  | 'connections'
  | 'connections-per-address';

/** The gateway's Prometheus metrics, in a registry of their own (several gateways may share a process). */
export interface GatewayMetrics {
  /** The content type of {@linkcode render}'s text (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** One finished HTTP exchange with the client; `seconds` until its response ended. */
  request(upstream: string, method: string, status: number, seconds: number): void;
  refused(reason: RefusalReason): void;
  /** An event of `withSessionRecovery` underneath an upstream. */
  recovery(upstream: string, event: LifelineEvent): void;
  upstreamError(upstream: string): void;
  session(upstream: string, what: 'opened' | 'rebuilt' | 'ended'): void;
  openStreams(delta: number): void;
  /** An upstream message over `maxMessageBytes` was not passed on. */
  oversized(upstream: string): void;
  /** An idle connection closed to make room for a new one at a connection cap. */
  connectionEvicted(): void;
  /** Where the number of open connections is read when the metrics are rendered. */
  countConnections(open: () => number): void;
  /** Prometheus text exposition format. */
  render(): Promise<string>;
}

// Loopback calls take about a millisecond, remote ones tens to hundreds; tool calls may run minutes.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createGatewayMetrics(): GatewayMetrics {
  const registry = createMetricsRegistry();
  const requests = registry.counter({
    name: 'mcp_lifeline_requests_total',
    help: 'HTTP requests from clients, by upstream, method and status',
    labelNames: ['upstream', 'method', 'status'],
  });
  const latency = registry.histogram({
    name: 'mcp_lifeline_request_duration_seconds',
    help: 'Time from a client request to the end of its response (POST and DELETE; GET streams are long-lived and not timed)',
    labelNames: ['upstream', 'method'],
    buckets: LATENCY_BUCKETS,
  });
  const refusals = registry.counter({
    name: 'mcp_lifeline_refused_total',
    help: 'Requests refused before reaching an upstream, by reason',
    labelNames: ['reason'],
  });
  const losses = registry.counter({
    name: 'mcp_lifeline_session_losses_total',
    help: 'Answers in which an upstream showed it had lost the session, by upstream and classifier rule',
    labelNames: ['upstream', 'rule'],
  });
  const recoveries = registry.counter({
    name: 'mcp_lifeline_recoveries_total',
    help: 'Upstream sessions re-initialized by this replica',
    labelNames: ['upstream'],
  });
  const replays = registry.counter({
    name: 'mcp_lifeline_replays_total',
    help: 'Requests sent again on a new upstream session after the old one rejected them',
    labelNames: ['upstream'],
  });
  const failures = registry.counter({
    name: 'mcp_lifeline_recovery_failures_total',
    help: 'Requests whose session loss could not be hidden, by upstream, rule of the loss and error code',
    labelNames: ['upstream', 'rule', 'code'],
  });
  const broken = registry.counter({
    name: 'mcp_lifeline_stream_breaks_total',
    help: 'Requests whose SSE answer broke mid-stream and were answered with an error at once',
    labelNames: ['upstream'],
  });
  const upstreamErrors = registry.counter({
    name: 'mcp_lifeline_upstream_errors_total',
    help: 'Requests that could not be delivered to an upstream (network errors, timeouts)',
    labelNames: ['upstream'],
  });
  const sessions = registry.counter({
    name: 'mcp_lifeline_sessions_total',
    help: 'Client sessions opened, rebuilt from their session id (store emptied or expired), and ended',
    labelNames: ['upstream', 'event'],
  });
  const streams = registry.gauge({
    name: 'mcp_lifeline_open_responses',
    help: 'Client responses in progress on this replica (POST answers and GET streams)',
  });
  const oversized = registry.counter({
    name: 'mcp_lifeline_oversized_messages_total',
    help: 'Upstream messages over the size limit (--max-message-size) that were not passed on, by upstream',
    labelNames: ['upstream'],
  });
  const evicted = registry.counter({
    name: 'mcp_lifeline_connections_evicted_total',
    help: 'Idle connections closed to make room for a new one at a connection cap',
  });
  let openConnections: () => number = () => 0;
  registry.gauge({
    name: 'mcp_lifeline_open_connections',
    help: 'Client connections open on this replica, over every listener',
    collect: () => openConnections(),
  });
  // The rule of the latest loss per upstream, to label failures that follow it.
  const lastRule = new Map<string, string>();

  return {
    contentType: PROMETHEUS_CONTENT_TYPE,
    request(upstream, method, status, seconds) {
      requests.inc({ upstream, method, status: String(status) });
      if (method !== 'GET') latency.observe({ upstream, method }, seconds);
    },
    refused: (reason) => refusals.inc({ reason }),
    recovery(upstream, event) {
      switch (event.type) {
        case 'session-lost':
          lastRule.set(upstream, event.rule);
          losses.inc({ upstream, rule: event.rule });
          return;
        case 'reinitialized':
          recoveries.inc({ upstream });
          return;
        case 'replayed':
          replays.inc({ upstream });
          return;
        case 'recovery-failed':
          failures.inc({ upstream, rule: lastRule.get(upstream) ?? 'unknown', code: event.code });
          return;
        case 'stream-broken':
          broken.inc({ upstream });
          return;
        default:
          return;
      }
    },
    upstreamError: (upstream) => upstreamErrors.inc({ upstream }),
    session: (upstream, what) => sessions.inc({ upstream, event: what }),
    openStreams: (delta) => streams.inc(delta),
    oversized: (upstream) => oversized.inc({ upstream }),
    connectionEvicted: () => evicted.inc(),
    countConnections(open) {
      openConnections = open;
    },
    render: async () => registry.render(),
  };
}
