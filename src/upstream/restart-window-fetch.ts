import { withRestartWindow } from '../recovery/with-restart-window.js';
import { recoveryReport } from './recovery-report.js';
import type { UpstreamOptions } from './upstream.js';

/**
 * The upstream's fetch, waiting up to `windowMs` for a server that restarts (a 2026-07-28 server
 * has no sessions to lose, but a redeploy still refuses connections); the outage is reported to
 * the upstream's sink, once. The 2025 upstream has the window in its session recovery instead.
 */
export function restartWindowFetch(options: Pick<UpstreamOptions, 'fetch' | 'sink'>, windowMs: number): UpstreamOptions['fetch'] {
  return withRestartWindow({ windowMs, onEvent: (event) => options.sink.event(recoveryReport(event, undefined)) })(options.fetch);
}
