import { unref } from '../shared/timers.js';
import type { KeepAlivePolicy } from './options.js';

/** One session's keep-alive: when to ping, learned from the losses it sees. */
export interface KeepAlive {
  /**
   * A loss was seen after the session had been idle `idleMs` (time since its last successful
   * exchange): the server's idle timeout is below that (issue 8 part 3).
   */
  learned(idleMs: number): void;
  /** Stops for good (the session was ended or forgotten). */
  stop(): void;
  /** The client sent a request: pinging resumes if it had paused because the client seemed closed. */
  resume(): void;
  /** The interval in use; undefined while nothing is known. */
  readonly intervalMs: number | undefined;
}

/** What the keep-alive needs from its session. */
export interface KeepAlivePlan {
  readonly policy: Exclude<KeepAlivePolicy, { mode: 'off' }>;
  /** When the session last had a successful exchange (milliseconds since the epoch). */
  readonly lastSuccessAt: () => number;
  /** Whether pinging makes sense now: false while the session is dead or recovering. */
  readonly usable: () => boolean;
  /** Whether the client seems closed: the keep-alive pauses until its next request. */
  readonly over: () => boolean;
  /** Sends one ping, bounded; never rejects. */
  readonly ping: () => Promise<void>;
  /** A bound was learned, or the interval was set. */
  readonly onInterval: (change: {
    boundMs: number | undefined;
    intervalMs: number;
    source: 'loss' | 'initial' | 'fixed';
    idleMs: number | undefined;
  }) => void;
}

/**
 * Pings a session once it has been idle for the interval, one ping at a time. With a fixed policy
 * the interval is given; with `auto` it is `fraction` of the smallest upper bound of the server's
 * idle timeout (each loss gives one), never below `minIntervalMs`, and there is none (so no ping)
 * until a bound is known. A wrong bound corrects itself: if pings at half of it still meet a loss,
 * that loss gives a smaller bound. The timer is unref'd: it never keeps a process alive.
 */
export function startKeepAlive(plan: KeepAlivePlan): KeepAlive {
  const { policy } = plan;
  let bound: number | undefined;
  let interval: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pinging = false;
  let stopped = false;
  let paused = false;

  const schedule = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (stopped || interval === undefined) return;
    const due = Math.max(plan.lastSuccessAt() + interval - Date.now(), 0);
    timer = setTimeout(tick, due);
    unref(timer);
  };
  const tick = () => {
    timer = undefined;
    if (stopped || interval === undefined) return;
    if (plan.over()) {
      paused = true;
      return;
    }
    const idle = Date.now() - plan.lastSuccessAt();
    // Not idle long enough (a request went out since), or the session is being replaced: look again later.
    if (idle < interval || !plan.usable() || pinging) {
      if (idle >= interval) {
        timer = setTimeout(tick, interval);
        unref(timer);
      } else {
        schedule();
      }
      return;
    }
    pinging = true;
    const done = () => {
      pinging = false;
      schedule();
    };
    plan.ping().then(done, done);
  };
  const setBound = (value: number, source: 'loss' | 'initial', idleMs: number | undefined) => {
    if (policy.mode !== 'auto' || (bound !== undefined && value >= bound)) return;
    bound = value;
    interval = Math.max(policy.minIntervalMs, Math.floor(policy.fraction * value));
    plan.onInterval({ boundMs: bound, intervalMs: interval, source, idleMs });
    schedule();
  };

  if (policy.mode === 'fixed') {
    interval = policy.intervalMs;
    plan.onInterval({ boundMs: undefined, intervalMs: interval, source: 'fixed', idleMs: undefined });
    schedule();
  } else if (policy.initialBoundMs !== undefined) {
    setBound(policy.initialBoundMs, 'initial', undefined);
  }

  return {
    learned(idleMs) {
      if (idleMs > 0) setBound(idleMs, 'loss', idleMs);
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    resume() {
      if (!paused) return;
      paused = false;
      schedule();
    },
    get intervalMs() {
      return interval;
    },
  };
}
