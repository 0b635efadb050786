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
  return new Listener(plan);
}

/**
 * The listen stream's state: the filter wanted, the acknowledged attempt (`current`) and the
 * newest one (`latest`, which may still wait for its acknowledgement), the callers waiting for
 * an attempt to settle, and the backoff. Its transitions: {@linkcode Listener.openNow}
 * (a new attempt replaces the pending one), {@linkcode Listener.acknowledged} (it becomes
 * current, the old current is closed), {@linkcode Listener.ended} (backoff, then again), and
 * {@linkcode Listener.close}.
 */
class Listener implements ListenStream {
  private readonly plan: ListenPlan;
  private desired: ListenFilter = {};
  private current: Attempt | undefined;
  private latest: Attempt | undefined;
  private seq = 0;
  /** Attempts in a row that ended without an acknowledgement or were dropped: the backoff's step. */
  private failures = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  /** The server answered 404 -32601: it has no `subscriptions/listen`, and is not asked again. */
  private unsupported = false;
  private closed = false;
  private readonly waiters = new Set<Waiter>();

  constructor(plan: ListenPlan) {
    this.plan = plan;
  }

  update(filter: ListenFilter): Promise<ListenFilter> {
    this.desired = filter;
    if (this.closed) return Promise.reject(new Error('closed'));
    if (isEmpty(filter)) {
      cancel(this.latest);
      cancel(this.current);
      this.latest = this.current = undefined;
      return Promise.resolve({});
    }
    if (this.unsupported) return Promise.reject(new Error('the server has no subscriptions/listen'));
    const attempt = this.openNow();
    return new Promise((resolve, reject) => this.waiters.add({ after: attempt.seq, resolve, reject }));
  }

  close(): void {
    this.closed = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
    cancel(this.latest);
    cancel(this.current);
    for (const waiter of this.waiters) waiter.reject(new Error('closed'));
    this.waiters.clear();
  }

  /** A new attempt for the filter wanted now; a pending newer attempt that was not acknowledged is cancelled. */
  private openNow(): Attempt {
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.retry = undefined;
    if (this.latest !== this.current) cancel(this.latest);
    this.seq += 1;
    const attempt: Attempt = { seq: this.seq, id: `mcp-lifeline-listen-${this.seq}`, controller: new AbortController(), cancelled: false };
    this.latest = attempt;
    void this.run(attempt, this.desired);
    return attempt;
  }

  /** The server acknowledged `attempt`: it becomes the current stream, and the one it replaces is closed. */
  private acknowledged(attempt: Attempt, honored: ListenFilter): void {
    const previous = this.current;
    this.current = attempt;
    this.failures = 0;
    if (previous !== attempt) cancel(previous);
    this.settle(attempt, { honored });
  }

  /** `attempt` ended (not on purpose): said, its waiters told when it never got going, and opened again after a backoff. */
  private ended(attempt: Attempt, wasAcknowledged: boolean, failure: unknown): void {
    if (attempt.cancelled || this.closed) return;
    if (this.current === attempt) this.current = undefined;
    if (wasAcknowledged) {
      const why = failure === undefined ? 'the server ended it' : fetchFailureText(failure);
      this.plan.report('warn', 'listen-dropped', `the subscriptions/listen stream ended (${why}); re-opening it`, {});
    } else {
      const why = failure === undefined ? 'the stream ended before the server acknowledged it' : fetchFailureText(failure);
      this.plan.report(this.failures === 0 ? 'warn' : 'debug', 'listen-failed', `subscriptions/listen failed: ${why}`, {});
      this.settle(attempt, { error: new Error(`subscriptions/listen failed: ${why}`) });
    }
    if (this.latest === attempt) this.schedule();
  }

  private markUnsupported(): void {
    this.unsupported = true;
    this.plan.report(
      'warn',
      'listen-unsupported',
      'the server has no subscriptions/listen: list changes and resource updates will not reach the host',
      {},
    );
  }

  private settle(attempt: Attempt, outcome: { honored: ListenFilter } | { error: Error }): void {
    for (const waiter of this.waiters) {
      if (waiter.after > attempt.seq) continue;
      // A failure is final for a waiter only when no newer attempt is on its way.
      if ('error' in outcome && this.latest !== undefined && this.latest.seq > attempt.seq) continue;
      this.waiters.delete(waiter);
      if ('error' in outcome) waiter.reject(outcome.error);
      else waiter.resolve(outcome.honored);
    }
  }

  private schedule(): void {
    if (this.closed || this.unsupported || isEmpty(this.desired) || this.retry !== undefined) return;
    const delay = backoffDelay(this.plan.backoff, this.failures++);
    this.plan.report('debug', 'listen-backoff', `re-opening the subscriptions/listen stream in ${delay} ms`, { retryInMs: delay });
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.openNow();
    }, delay);
  }

  /** One attempt: POST, wait for the acknowledgement (bounded), then deliver its notifications until it ends. */
  private async run(attempt: Attempt, filter: ListenFilter): Promise<void> {
    const { plan } = this;
    let wasAcknowledged = false;
    let failure: unknown;
    const ackTimer = setTimeout(
      () => attempt.controller.abort(new Error(`the server did not acknowledge it within ${plan.timeoutMs} ms`)),
      plan.timeoutMs,
    );
    try {
      const response = await plan.open(filter, attempt.id, attempt.controller.signal);
      if (!response.ok) {
        const text = (await response.text().catch(() => '')).slice(0, 300);
        if (response.status === 404 && text.includes('-32601')) this.markUnsupported();
        throw new Error(`HTTP ${response.status} ${text}`.trim());
      }
      await readJsonRpcBody(response, {
        maxMessageSize: plan.maxMessageSize,
        ready: plan.ready,
        onMessage: (message) => {
          const subscription = (message.params?.['_meta'] as Record<string, unknown> | undefined)?.[META.subscriptionId];
          if (message.method === 'notifications/subscriptions/acknowledged' && subscription === attempt.id) {
            wasAcknowledged = true;
            clearTimeout(ackTimer);
            this.acknowledged(attempt, (message.params?.['notifications'] ?? {}) as ListenFilter);
          } else if (message.method !== undefined && message.id === undefined && wasAcknowledged && this.current === attempt) {
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
    this.ended(attempt, wasAcknowledged, failure);
  }
}

/** Closes an attempt on purpose: its end is nobody's failure. */
function cancel(attempt: Attempt | undefined): void {
  if (attempt === undefined) return;
  attempt.cancelled = true;
  attempt.controller.abort();
}

function isEmpty(filter: ListenFilter): boolean {
  return (
    filter.toolsListChanged !== true &&
    filter.promptsListChanged !== true &&
    filter.resourcesListChanged !== true &&
    (filter.resourceSubscriptions ?? []).length === 0
  );
}
