import type { ServerResponse } from 'node:http';
import { networkErrorText } from '../errors/network-error-text.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { sendText } from './http-exchange.js';
import type { SessionStore } from './session-store.js';

/** The paths an operator's tools read: liveness, readiness and Prometheus metrics. */
export const OPS_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

export function isOpsPath(path: string): path is (typeof OPS_PATHS)[number] {
  return (OPS_PATHS as readonly string[]).includes(path);
}

/**
 * Answers `/healthz` (the process is up), `/readyz` (it can serve: not draining, the store
 * answers) and `/metrics`. The caller applies the listener's Host and Origin rules first: the
 * metrics name upstreams and count requests, which a DNS-rebinding page must not read.
 */
export async function answerOps(
  path: (typeof OPS_PATHS)[number],
  res: ServerResponse,
  context: { readonly metrics: GatewayMetrics; readonly store: SessionStore; readonly draining: () => boolean },
): Promise<void> {
  if (path === '/healthz') return sendText(res, 200, 'ok\n');
  if (path === '/metrics') {
    const text = await context.metrics.render();
    res.writeHead(200, { 'content-type': context.metrics.contentType });
    res.end(text);
    return;
  }
  if (context.draining()) return sendText(res, 503, 'draining\n');
  try {
    await context.store.ping();
    sendText(res, 200, `ready (${context.store.kind} store)\n`);
  } catch (error) {
    sendText(res, 503, `store unreachable: ${networkErrorText(error)}\n`);
  }
}
