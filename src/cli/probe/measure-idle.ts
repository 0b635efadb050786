import { classifySessionLoss } from '../../classifier/classify-session-loss.js';
import { formatDuration } from '../duration-text.js';
import { openSession, type ProbeTarget, send, sessionAlive, sessionHeaders } from './probe-session.js';
import type { IdleReport } from './report.js';

/** What the idle measurement is waiting for, for a progress line. */
export interface IdleProgress {
  /** The idle interval being tried, in ms. */
  readonly stepMs: number;
  /** Time left in it, in ms. */
  readonly remainingMs: number;
  /** The longest interval survived so far, in ms. */
  readonly survivedMs: number;
}

export interface IdleOptions {
  readonly maxMs: number;
  /** Intervals to try; empty: 1 min, 2 min, 4 min … up to `maxMs`. */
  readonly stepsMs: readonly number[];
  readonly version: string;
  readonly signal: AbortSignal;
  readonly onProgress?: ((progress: IdleProgress) => void) | undefined;
}

/**
 * Measures the server's idle timeout: leaves a fresh session idle for growing intervals and checks
 * it after each (the check itself is activity, so each interval starts idle again). Reports the
 * bracket in which the session died, or that it survived every interval. Ctrl-C (`signal`) stops
 * it early; it still reports what it found, and ends its session.
 */
export async function measureIdle(target: ProbeTarget, options: IdleOptions): Promise<IdleReport> {
  const stepsMs = schedule(options.maxMs, options.stepsMs);
  const session = await openSession(target, options.version);
  let survivedMs = 0;
  let diedAfterMs: number | undefined;
  let rule: string | undefined;
  let interrupted = false;
  try {
    for (const stepMs of stepsMs) {
      if (!(await idleFor(stepMs, survivedMs, options))) {
        interrupted = true;
        break;
      }
      const check = await sessionAlive(target, session);
      if (!check.alive) {
        diedAfterMs = stepMs;
        // A 200 carries the error as the JSON-RPC answer read from the body (JSON or SSE).
        const contentType = check.status === 200 ? 'application/json' : check.contentType;
        const verdict = classifySessionLoss({
          method: 'POST',
          hadSessionId: true,
          status: check.status ?? 0,
          contentType,
          body: check.excerpt,
        });
        rule = verdict.lost ? verdict.rule : undefined;
        break;
      }
      survivedMs = stepMs;
    }
  } finally {
    if (diedAfterMs === undefined && session.sessionId !== undefined) {
      // Leave nothing behind: end the measuring session (a 405 just means the server keeps it).
      await send(target, 'DELETE', sessionHeaders(session.sessionId, session.protocolVersion))
        .then((response) => response.body?.cancel())
        .catch(() => {});
    }
  }
  return {
    stepsMs,
    survivedMs,
    diedAfterMs,
    rule,
    interrupted,
    summary: summarize(survivedMs, diedAfterMs, rule, interrupted, stepsMs),
    keepalive: diedAfterMs === undefined ? undefined : `auto:${durationValue(diedAfterMs)}`,
  };
}

/** A duration as the CLI reads it back: `4m`, `90s`, `1500ms`. */
function durationValue(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function schedule(maxMs: number, steps: readonly number[]): number[] {
  if (steps.length > 0) return steps.filter((step) => step <= maxMs);
  const doubling: number[] = [];
  for (let step = 60_000; step < maxMs; step *= 2) doubling.push(step);
  return [...doubling, maxMs];
}

/** Waits `ms` unless interrupted; reports progress once a second. Resolves false if interrupted. */
function idleFor(ms: number, survivedMs: number, options: IdleOptions): Promise<boolean> {
  if (options.signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const end = Date.now() + ms;
    const tick = () => options.onProgress?.({ stepMs: ms, remainingMs: Math.max(0, end - Date.now()), survivedMs });
    tick();
    const progress = setInterval(tick, 1000);
    const finish = (completed: boolean) => {
      clearTimeout(timer);
      clearInterval(progress);
      options.signal.removeEventListener('abort', onAbort);
      resolve(completed);
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(true), ms);
    options.signal.addEventListener('abort', onAbort, { once: true });
  });
}

function summarize(
  survivedMs: number,
  diedAfterMs: number | undefined,
  rule: string | undefined,
  interrupted: boolean,
  steps: readonly number[],
): string {
  if (diedAfterMs !== undefined) {
    const answer = rule === undefined ? 'with an answer no rule recognises' : `(rule ${rule})`;
    return (
      `The session expired after ${formatDuration(diedAfterMs)} idle ${answer}; it had survived ${formatDuration(survivedMs)}: ` +
      `the idle timeout is between ${formatDuration(survivedMs)} and ${formatDuration(diedAfterMs)}.`
    );
  }
  if (interrupted) {
    return survivedMs === 0
      ? 'Interrupted before the first check: no idle timeout measured.'
      : `Interrupted: the session survived ${formatDuration(survivedMs)} idle; no timeout found yet.`;
  }
  return `The session survived ${formatDuration(steps.at(-1) ?? 0)} idle: no idle timeout up to that.`;
}
