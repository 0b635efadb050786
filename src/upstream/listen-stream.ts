import { type Backoff, backoffDelay } from '../shared/backoff.js';
import type { JsonRpcMessage } from '../shared/json-rpc.js';
import { fetchFailureText } from './fetch-failure-text.js';
import { readJsonRpcBody } from './json-rpc-body.js';
import { META } from './modern-request.js';
import type { ReportEvent } from './upstream-events.js';

/** What to be told about (2026-07-28 basic/patterns/subscriptions §Notification Filter). */
export interface ListenFilter {
  readonly toolsListChanged?: boolean;
  readonly promptsListChanged?: boolean;
  readonly resourcesListChanged?: boolean;
  readonly resourceSubscriptions?: readonly string[];
}

/** How the stream reaches the server and the host. */
export interface ListenPlan {
  /** POSTs `subscriptions/listen` with `filter` under JSON-RPC id `id` (envelope and headers stamped). */
  open(filter: ListenFilter, id: string, signal: AbortSignal): Promise<Response>;
  /** A change notification for the host (its subscription id still on it). */
  deliver(notification: JsonRpcMessage): void;
  readonly report: ReportEvent;
  readonly backoff: Backoff;
  /** Bound for the server's acknowledgement of a new stream. */
  readonly timeoutMs: number;
  readonly maxMessageSize: number;
  /** Backpressure from the host side (`UpstreamSink.ready`). */
  readonly ready?: (() => Promise<void> | undefined) | undefined;
}

/** The one `subscriptions/listen` stream a host's interests need. */
export interface ListenStream {
  /**
   * Wants `filter` from now on: opens a stream for it (the old one stays until the new one is
   * acknowledged, so nothing falls in between, then is closed). Resolves with what the server
   * agreed to, or rejects when no stream for it could be opened within the bound.
   */
  update(filter: ListenFilter): Promise<ListenFilter>;
  /** Closes the stream: closing the HTTP response is how a client cancels (§Cancellation). */
  close(): void;
}

interface Attempt {
  readonly seq: number;
  readonly id: string;
  readonly controller: AbortController;
  /** Closed on purpose (replaced, or no longer wanted): its end is nobody's failure. */
  cancelled: boolean;
}

interface Waiter {
  readonly after: number;
  resolve(filter: ListenFilter): void;
  reject(error: Error): void;
}

/**
 * One stream at a time, re-opened when the filter changes, and with backoff when the server
 * drops it or ends it; a server without `subscriptions/listen` (404 -32601) is not asked again.
 */
export function createListenStream(plan: ListenPlan): ListenStream {
  let desired: ListenFilter = {};
  let current: Attempt | undefined;
  let latest: Attempt | undefined;
  let seq = 0;
  let failures = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let unsupported = false;
  let closed = false;
  const waiters = new Set<Waiter>();

  const settle = (attempt: Attempt, outcome: { honored: ListenFilter } | { error: Error }) => {
    for (const waiter of waiters) {
      if (waiter.after > attempt.seq) continue;
      // A failure is final for a waiter only when no newer attempt is on its way.
      if ('error' in outcome && latest !== undefined && latest.seq > attempt.seq) continue;
      waiters.delete(waiter);
      if ('error' in outcome) waiter.reject(outcome.error);
      else waiter.resolve(outcome.honored);
    }
  };

  function schedule(): void {
    if (closed || unsupported || isEmpty(desired) || retry !== undefined) return;
    const delay = backoffDelay(plan.backoff, failures++);
    plan.report('debug', 'listen-backoff', `re-opening the subscriptions/listen stream in ${delay} ms`, { retryInMs: delay });
    retry = setTimeout(() => {
      retry = undefined;
      openNow();
    }, delay);
  }

  function cancel(attempt: Attempt | undefined): void {
    if (attempt === undefined) return;
    attempt.cancelled = true;
    attempt.controller.abort();
  }

  function openNow(): Attempt {
    if (retry !== undefined) clearTimeout(retry);
    retry = undefined;
    if (latest !== current) cancel(latest);
    const attempt: Attempt = { seq: ++seq, id: `mcp-lifeline-listen-${seq}`, controller: new AbortController(), cancelled: false };
    latest = attempt;
    void run(attempt, desired);
    return attempt;
  }

  async function run(attempt: Attempt, filter: ListenFilter): Promise<void> {
    let acknowledged = false;
    let failure: unknown;
    const ackTimer = setTimeout(
      () => attempt.controller.abort(new Error(`the server did not acknowledge it within ${plan.timeoutMs} ms`)),
      plan.timeoutMs,
    );
    try {
      const response = await plan.open(filter, attempt.id, attempt.controller.signal);
      if (!response.ok) {
        const text = (await response.text().catch(() => '')).slice(0, 300);
        if (response.status === 404 && text.includes('-32601')) {
          unsupported = true;
          plan.report(
            'warn',
            'listen-unsupported',
            'the server has no subscriptions/listen: list changes and resource updates will not reach the host',
            {},
          );
        }
        throw new Error(`HTTP ${response.status} ${text}`.trim());
      }
      await readJsonRpcBody(response, {
        maxMessageSize: plan.maxMessageSize,
        ready: plan.ready,
        onMessage(message) {
          const subscription = (message.params?.['_meta'] as Record<string, unknown> | undefined)?.[META.subscriptionId];
          if (message.method === 'notifications/subscriptions/acknowledged' && subscription === attempt.id) {
            acknowledged = true;
            clearTimeout(ackTimer);
            const previous = current;
            current = attempt;
            failures = 0;
            if (previous !== attempt) cancel(previous);
            settle(attempt, { honored: (message.params?.['notifications'] ?? {}) as ListenFilter });
          } else if (message.method !== undefined && message.id === undefined && acknowledged && current === attempt) {
            plan.deliver(message);
          }
          // The answer to the listen request itself is the server ending the stream gracefully.
        },
      });
    } catch (error) {
      failure = attempt.controller.signal.reason instanceof Error ? attempt.controller.signal.reason : error;
    } finally {
      clearTimeout(ackTimer);
    }
    if (attempt.cancelled || closed) return;
    if (current === attempt) current = undefined;
    if (acknowledged) {
      const why = failure === undefined ? 'the server ended it' : fetchFailureText(failure);
      plan.report('warn', 'listen-dropped', `the subscriptions/listen stream ended (${why}); re-opening it`, {});
    } else {
      const why = failure === undefined ? 'the stream ended before the server acknowledged it' : fetchFailureText(failure);
      plan.report(failures === 0 ? 'warn' : 'debug', 'listen-failed', `subscriptions/listen failed: ${why}`, {});
      settle(attempt, { error: new Error(`subscriptions/listen failed: ${why}`) });
    }
    if (latest === attempt) schedule();
  }

  return {
    update(filter) {
      desired = filter;
      if (closed) return Promise.reject(new Error('closed'));
      if (isEmpty(filter)) {
        cancel(latest);
        cancel(current);
        latest = current = undefined;
        return Promise.resolve({});
      }
      if (unsupported) return Promise.reject(new Error('the server has no subscriptions/listen'));
      const attempt = openNow();
      return new Promise((resolve, reject) => waiters.add({ after: attempt.seq, resolve, reject }));
    },
    close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      cancel(latest);
      cancel(current);
      for (const waiter of waiters) waiter.reject(new Error('closed'));
      waiters.clear();
    },
  };
}

function isEmpty(filter: ListenFilter): boolean {
  return (
    filter.toolsListChanged !== true &&
    filter.promptsListChanged !== true &&
    filter.resourcesListChanged !== true &&
    (filter.resourceSubscriptions ?? []).length === 0
  );
}
