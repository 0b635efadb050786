// Order statistics for latency samples.

export interface Summary {
  readonly count: number;
  /** Milliseconds. */
  readonly median: number;
  readonly p99: number;
}

export function percentile(samples: readonly number[], fraction: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] as number;
}

/** The middle value; for an even count, the mean of the two middle ones (a ratio over 2 rounds takes neither side). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  return { count: samples.length, median: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

/** How far apart the values lie: the highest minus the lowest. */
export function spread(values: readonly number[]): number {
  return Math.max(...values) - Math.min(...values);
}

export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
