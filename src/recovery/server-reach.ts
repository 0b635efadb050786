// What this process knows of one server's reachability, and who may try it while it is down: the
// state behind the restart window (restart-window.ts). One object per origin, one writer (its
// named transitions), its phase a union.
// Its timers are not unref'd, unlike the middleware's other waits: a caller awaits each of them,
// as it would await the connection attempt they stand in for.
import { type Backoff, backoffDelay } from '../shared/backoff.js';

/** Where a server stands, as far as this process knows. */
export type ReachPhase =
  /** It never answered: a refused connection is a wrong URL until it answers once. */
  | { readonly kind: 'unseen' }
  /** It answered lately. */
  | { readonly kind: 'up' }
  /**
   * Requests could not be delivered since `since`: one request at a time tries again (`tries` so
   * far), the others wait for it. `cause`: the latest failure, in words.
   */
  | { readonly kind: 'down'; readonly since: number; readonly tries: number; readonly cause: string };

/** How a request's wait during an outage ended. */
export type WaitOutcome =
  /** It may send now: its turn to try the server, or the server answered someone. */
  | 'go'
  /** Its window closed before either. */
  | 'expired';

/** Delays between tries while the server is down: 250 ms doubling to 1 s, each with up to 20% jitter. */
const OUTAGE_BACKOFF: Backoff = { initialDelayMs: 250, maxDelayMs: 1_000, jitter: 0.2 };

const UP: ReachPhase = Object.freeze({ kind: 'up' });
const UNSEEN: ReachPhase = Object.freeze({ kind: 'unseen' });

interface Waiter {
  readonly go: () => void;
}

/** One server's reachability and its single-flight turns. */
export class ServerReach {
  phase: ReachPhase = UNSEEN;
  // A request holds the turn (it is trying the server now).
  private trying = false;
  // When the next try may start.
  private nextTryAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly waiters: Waiter[] = [];

  /** The server answered (any HTTP answer): it is up. Returns the outage this ended, if one did. */
  answered(now: number): { readonly downMs: number; readonly tries: number } | undefined {
    const { phase } = this;
    this.phase = UP;
    if (phase.kind !== 'down') return undefined;
    this.trying = false;
    this.clearTimer();
    // Everyone waiting goes at once: the server takes requests again.
    for (const waiter of this.waiters.splice(0)) waiter.go();
    return { downMs: now - phase.since, tries: phase.tries };
  }

  /**
   * A request could not be delivered. `turn`: it was the request trying the server. Returns true
   * when this started an outage (to report it once). A server never seen up stays unseen.
   */
  undelivered(now: number, cause: string, turn: boolean): boolean {
    const { phase } = this;
    if (phase.kind === 'unseen') return false;
    if (phase.kind === 'up') {
      this.phase = { kind: 'down', since: now, tries: 1, cause };
      this.nextTryAt = now + backoffDelay(OUTAGE_BACKOFF, 0);
      return true;
    }
    if (!turn) {
      // Sent before the outage was known: it joins the queue, it does not count as a try.
      this.phase = { ...phase, cause };
      return false;
    }
    this.trying = false;
    this.phase = { ...phase, tries: phase.tries + 1, cause };
    this.nextTryAt = now + backoffDelay(OUTAGE_BACKOFF, phase.tries);
    this.schedule();
    return false;
  }

  /** The request holding the turn ended without telling (aborted, or failed in a way that proves nothing): the next may try. */
  turnReturned(): void {
    if (!this.trying) return;
    this.trying = false;
    this.schedule();
  }

  /**
   * While the server is down, waits for this request's turn to try it (one at a time, after the
   * backoff), or for the server to answer someone; `expired` once `deadline` passes first. Rejects
   * with the signal's reason when it aborts. Resolves at once when the server is not down.
   */
  wait(deadline: number, signal: AbortSignal | undefined): Promise<WaitOutcome> {
    if (this.phase.kind !== 'down') return Promise.resolve('go');
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.trying && this.timer === undefined && this.waiters.length === 0 && Date.now() >= this.nextTryAt) {
      this.trying = true;
      return Promise.resolve('go');
    }
    return new Promise<WaitOutcome>((resolve, reject) => {
      const leave = () => {
        clearTimeout(expiry);
        signal?.removeEventListener('abort', onAbort);
        const index = this.waiters.indexOf(waiter);
        if (index !== -1) this.waiters.splice(index, 1);
      };
      const waiter: Waiter = {
        go: () => {
          leave();
          resolve('go');
        },
      };
      const onAbort = () => {
        leave();
        reject(signal?.reason);
      };
      const expiry = setTimeout(
        () => {
          leave();
          resolve('expired');
        },
        Math.max(0, deadline - Date.now()),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.schedule();
    });
  }

  /** Whether the server ever answered (a DNS name that resolved before, a port that listened). */
  get seen(): boolean {
    return this.phase.kind !== 'unseen';
  }

  /** Hands the turn to the first waiter once the backoff is over, unless someone holds it. */
  private schedule(): void {
    if (this.trying || this.timer !== undefined || this.waiters.length === 0 || this.phase.kind !== 'down') return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const next = this.waiters[0];
        if (next === undefined || this.phase.kind !== 'down') return;
        this.trying = true;
        next.go();
      },
      Math.max(0, this.nextTryAt - Date.now()),
    );
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
