import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';

// The slot undici (Node's own and the npm package alike) reads its global dispatcher from; Node's
// fetch reads it on every request.
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const slot = globalThis as Record<symbol, Dispatcher | undefined>;

/** The process's undici dispatcher: the one installed, or Node's own (installed when the fetch globals load). */
export function globalDispatcher(): Dispatcher {
  const installed = slot[GLOBAL_DISPATCHER];
  if (installed !== undefined) return installed;
  void globalThis.Response;
  const own = slot[GLOBAL_DISPATCHER];
  if (own !== undefined) return own;
  return (createRequire(import.meta.url)('undici') as typeof import('undici')).getGlobalDispatcher();
}

/**
 * Makes `dispatcher` the process's: what undici's `setGlobalDispatcher` does, without loading the
 * whole npm package (about 20 MB of resident memory) for one assignment.
 */
export function installGlobalDispatcher(dispatcher: Dispatcher): void {
  if (Object.hasOwn(slot, GLOBAL_DISPATCHER)) slot[GLOBAL_DISPATCHER] = dispatcher;
  else Object.defineProperty(slot, GLOBAL_DISPATCHER, { value: dispatcher, writable: true, enumerable: false, configurable: false });
}
