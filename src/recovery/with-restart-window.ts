import { EventReporter } from './event-reporter.js';
import type { LifelineEvent } from './events.js';
import type { AnyFetch, FetchLike } from './outgoing-request.js';
import { RestartWindow } from './restart-window.js';

/**
 * The restart window alone, for a fetch that needs no session recovery (a 2026-07-28 server has no
 * sessions): a request that could not be delivered waits up to `windowMs` for the server to come
 * back. `withSessionRecovery` has it built in (option `restartWindow`).
 */
export function withRestartWindow(options: {
  readonly windowMs: number;
  readonly onEvent?: ((event: LifelineEvent) => void) | undefined;
}): <F extends FetchLike>(next: F) => F {
  const window = new RestartWindow({ windowMs: options.windowMs, events: new EventReporter(options.onEvent) });
  return <F extends FetchLike>(next: F): F =>
    ((input: Parameters<AnyFetch>[0], init?: RequestInit) => window.send(next as unknown as AnyFetch, input, init)) as unknown as F;
}
