// `--restart-window` (bridge and serve) and `restartWindow` (serve's config file): how long a
// request the server could not take waits for it to come back. Its own module so the value reads
// the same everywhere; 0 is allowed (off), unlike the other durations.
import { DEFAULT_SESSION_RECOVERY_OPTIONS } from '../recovery/options.js';
import { UsageError } from './usage-error.js';

/** The parseArgs entry of the flag. */
export const RESTART_WINDOW_OPTION = { 'restart-window': { type: 'string' } } as const;

/** The default, in milliseconds: the middleware's. */
export const DEFAULT_RESTART_WINDOW_MS: number = DEFAULT_SESSION_RECOVERY_OPTIONS.restartWindow;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** "30" (seconds), "45s", "2m", "0" (off) → milliseconds; `fallback` when not given. */
export function restartWindowMs(where: string, value: string | number | undefined, fallback = DEFAULT_RESTART_WINDOW_MS): number {
  if (value === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(value).trim());
  if (match === null) throw new UsageError(`${where} must be a duration such as 30, 45s or 2m (0 turns it off), got "${value}"`);
  return Math.round(Number(match[1]) * UNIT_MS[(match[2] as keyof typeof UNIT_MS | undefined) ?? 's']);
}
