// How the bench measures: interleaved latency (ABBA), allocation through the GC profiler, RSS.
import { readFileSync } from 'node:fs';
import { GCProfiler } from 'node:v8';
import { type Summary, summarize } from './stats.js';

export type Call = () => Promise<unknown>;

/**
 * Latency of `baseline` and `candidate`, one call of each in turn, in the order ABBA BAAB…: each
 * goes first as often as second, so drift (thermal, GC, other load) and whatever one call leaves
 * for the next (a connection just used, caches) land on both equally. Blocks of 50 calls of one,
 * then 50 of the other, put an A/A control at 0.93–1.01: as wide as the goals it judged. Times in
 * milliseconds.
 */
export async function compareLatency(
  baseline: Call,
  candidate: Call,
  options: { calls: number; warmup: number },
): Promise<{ baseline: Summary; candidate: Summary; ratio: { median: number; p99: number } }> {
  for (let i = 0; i < options.warmup; i++) {
    await baseline();
    await candidate();
  }
  const a: number[] = [];
  const b: number[] = [];
  const timed = async (call: Call, samples: number[]) => {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  };
  for (let i = 0; i < options.calls; i++) {
    if (i % 2 === 0) {
      await timed(baseline, a);
      await timed(candidate, b);
    } else {
      await timed(candidate, b);
      await timed(baseline, a);
    }
  }
  const baselineSummary = summarize(a);
  const candidateSummary = summarize(b);
  return {
    baseline: baselineSummary,
    candidate: candidateSummary,
    ratio: { median: candidateSummary.median / baselineSummary.median, p99: candidateSummary.p99 / baselineSummary.p99 },
  };
}

/**
 * Bytes allocated on the JS heap while `run` runs: the heap growth between collections, summed
 * over every collection the V8 GC profiler saw. Needs --expose-gc for a clean start.
 */
export async function allocatedBytes(run: () => Promise<void>): Promise<number> {
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  const profiler = new GCProfiler();
  const before = process.memoryUsage().heapUsed;
  profiler.start();
  await run();
  const result = profiler.stop();
  const after = process.memoryUsage().heapUsed;
  let allocated = 0;
  let previous = before;
  for (const event of result?.statistics ?? []) {
    allocated += Math.max(0, event.beforeGC.heapStatistics.usedHeapSize - previous);
    previous = event.afterGC.heapStatistics.usedHeapSize;
  }
  return allocated + Math.max(0, after - previous);
}

/** Peak resident set of a process (Linux VmHWM), in bytes; undefined elsewhere. */
export function peakRss(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Runs `count` calls with `concurrency` callers; returns calls per second. */
export async function throughput(call: Call, count: number, concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) await call();
    }),
  );
  return count / ((performance.now() - started) / 1000);
}
