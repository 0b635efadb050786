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
  return new KeepAliveTimer(plan);
}

/**
 * The keep-alive's state: the bound learned, the interval it gives, the one timer, and whether a
 * ping is out, it was stopped, or it paused because the client seemed closed.
 */
class KeepAliveTimer implements KeepAlive {
  private readonly plan: KeepAlivePlan;
  /** The smallest upper bound of the server's idle timeout seen so far (auto mode). */
  private bound: number | undefined;
  private interval: number | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pinging = false;
  private stopped = false;
  private paused = false;

  constructor(plan: KeepAlivePlan) {
    this.plan = plan;
    const { policy } = plan;
    if (policy.mode === 'fixed') {
      this.interval = policy.intervalMs;
      plan.onInterval({ boundMs: undefined, intervalMs: this.interval, source: 'fixed', idleMs: undefined });
      this.schedule();
    } else if (policy.initialBoundMs !== undefined) {
      this.setBound(policy.initialBoundMs, 'initial', undefined);
    }
  }

  get intervalMs(): number | undefined {
    return this.interval;
  }

  learned(idleMs: number): void {
    if (idleMs > 0) this.setBound(idleMs, 'loss', idleMs);
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.schedule();
  }

  private setBound(value: number, source: 'loss' | 'initial', idleMs: number | undefined): void {
    const { policy } = this.plan;
    if (policy.mode !== 'auto' || (this.bound !== undefined && value >= this.bound)) return;
    this.bound = value;
    this.interval = Math.max(policy.minIntervalMs, Math.floor(policy.fraction * value));
    this.plan.onInterval({ boundMs: this.bound, intervalMs: this.interval, source, idleMs });
    this.schedule();
  }

  /** The next look, when the session will have been idle for the interval. */
  private schedule(): void {
    this.clearTimer();
    if (this.stopped || this.interval === undefined) return;
    this.arm(Math.max(this.plan.lastSuccessAt() + this.interval - Date.now(), 0));
  }

  private tick(): void {
    this.timer = undefined;
    const { plan, interval } = this;
    if (this.stopped || interval === undefined) return;
    if (plan.over()) {
      this.paused = true;
      return;
    }
    const idle = Date.now() - plan.lastSuccessAt();
    // Not idle long enough (a request went out since), or the session is being replaced: look again later.
    if (idle < interval || !plan.usable() || this.pinging) {
      if (idle >= interval) this.arm(interval);
      else this.schedule();
      return;
    }
    this.pinging = true;
    const done = () => {
      this.pinging = false;
      this.schedule();
    };
    plan.ping().then(done, done);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.tick(), ms);
    unref(this.timer);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
