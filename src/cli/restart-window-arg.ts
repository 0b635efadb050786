// `--restart-window` (bridge and serve) and `restartWindow` (serve's config file): how long a
// request the server could not take waits for it to come back. 0 is allowed (off), unlike the
// other durations; the grammar is values.ts's (a bare number is seconds).
import { DEFAULT_SESSION_RECOVERY_OPTIONS } from '../recovery/options.js';
import { parseDuration } from './values.js';

/** The parseArgs entry of the flag. */
export const RESTART_WINDOW_OPTION = { 'restart-window': { type: 'string' } } as const;

/** The default, in milliseconds: the middleware's. */
const DEFAULT_RESTART_WINDOW_MS: number = DEFAULT_SESSION_RECOVERY_OPTIONS.restartWindow;

/** "30" (seconds), "45s", "2m", "0" (off) → milliseconds; `fallback` when not given. */
export function restartWindowMs(where: string, value: string | number | undefined, fallback = DEFAULT_RESTART_WINDOW_MS): number {
  if (value === undefined) return fallback;
  return parseDuration(where, String(value), { zero: true });
}
