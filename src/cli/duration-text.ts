// Durations and moments as the CLI says them to a person.

/** "90 s", "4 min", "1 h 30 min". */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  const minutes = Math.round(ms / 60_000);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h${minutes % 60 === 0 ? '' : ` ${minutes % 60} min`}`;
}

/** "12:35:10 (in 4 min)": a moment on this machine's clock, and how far off it is. */
export function untilText(at: number, now = Date.now()): string {
  const clock = new Date(at).toTimeString().slice(0, 8);
  return `${clock} (in ${formatDuration(Math.max(0, Math.round((at - now) / 1000) * 1000))})`;
}
