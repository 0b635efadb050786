import { randomUUID } from 'node:crypto';
import { networkErrorText } from '../../errors/network-error-text.js';
import type { JsonRpcMessage } from '../../shared/json-rpc.js';
import { sleep } from '../../shared/timers.js';
import { openLegacySseStream } from '../../upstream/legacy-sse-stream.js';
import { checkAnswer, type ProbeTarget } from './probe-session.js';
import type { Check, Exchange } from './report.js';

/** What the probe learns from a 2024-11-05 HTTP+SSE server. */
export interface SseProbe {
  /** The `initialize` result. */
  readonly result: Record<string, unknown>;
  /** The session id the endpoint URL carries (for redaction). */
  readonly sessionId: string;
  readonly liveCheck: Exchange;
  readonly checks: readonly Check[];
}

/**
 * Opens an HTTP+SSE session as a client would (GET, endpoint event, initialize, initialized),
 * checks it with `ping`, then sends what a client meets after a loss: a never-issued session in
 * the endpoint URL, no session, and its own session after closing its stream (which ends an
 * HTTP+SSE session). Every wait is bounded by the target's timeout.
 */
export async function probeSseSession(target: ProbeTarget, version: string): Promise<SseProbe> {
  const answers = new Map<string, (message: JsonRpcMessage) => void>();
  const stream = await openLegacySseStream({
    ...target,
    maxEventSize: 1024 * 1024,
    onMessage(message) {
      if (typeof message.id === 'string') answers.get(message.id)?.(message);
    },
  });
  try {
    const endpoint = stream.endpoint;
    const ask = async (method: string, params?: Record<string, unknown>) => {
      const id = `mcp-lifeline-probe-${randomUUID()}`;
      const answered = new Promise<JsonRpcMessage>((resolve, reject) => {
        answers.set(id, resolve);
        setTimeout(() => reject(new Error(`no answer to ${method} on the stream within ${target.timeoutMs} ms`)), target.timeoutMs).unref();
      });
      answered.catch(() => {});
      const response = await post(target, endpoint, { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
      await response.body?.cancel().catch(() => {});
      if (!response.ok) throw new Error(`${method} answered HTTP ${response.status}`);
      return { status: response.status, contentType: response.headers.get('content-type'), answer: await answered };
    };
    const initialized = await ask('initialize', {
      protocolVersion: '2024-11-05',
      capabilities: {},
      clientInfo: { name: 'mcp-lifeline-probe', version },
    });
    const result = initialized.answer.result as Record<string, unknown> | undefined;
    if (result === undefined) throw new Error(`initialize returned JSON-RPC error ${JSON.stringify(initialized.answer.error)}`);
    await (await post(target, endpoint, { jsonrpc: '2.0', method: 'notifications/initialized' })).body?.cancel();

    const liveCheck = await ask('ping').then(
      ({ status, contentType, answer }): Exchange => ({
        request: 'POST ping on the live session',
        status,
        contentType,
        excerpt: `answered on the stream: ${JSON.stringify(answer.result ?? answer.error)}`,
        error: undefined,
      }),
      (error: unknown): Exchange => ({
        request: 'POST ping on the live session',
        status: null,
        contentType: null,
        excerpt: '',
        error: networkErrorText(error),
      }),
    );

    const ping = (id: string) => ({ jsonrpc: '2.0', id, method: 'ping' });
    const sessionId = [...endpoint.searchParams.values()].find((value) => value.length >= 8) ?? endpoint.search;
    const checks: Check[] = [
      await checkAnswer(
        { ...target, url: withSession(endpoint, randomUUID()) },
        'unknown-session',
        'POST ping with a never-issued session id',
        {
          method: 'POST',
          headers: {},
          body: ping('probe-unknown-session'),
          sessionInUrl: true,
        },
      ),
      await checkAnswer({ ...target, url: new URL(endpoint.pathname, endpoint) }, 'no-session', 'POST ping without a session id', {
        method: 'POST',
        headers: {},
        body: ping('probe-no-session'),
      }),
    ];
    // Closing the stream ends an HTTP+SSE session: its endpoint must now refuse messages.
    stream.close();
    await stream.ended.catch(() => {});
    await sleep(100, { onAbort: 'resolve' });
    checks.push(
      await checkAnswer({ ...target, url: endpoint }, 'terminated-session', 'POST ping on its own session after closing the stream', {
        method: 'POST',
        headers: {},
        body: ping('probe-terminated-session'),
        sessionInUrl: true,
      }),
    );
    return { result, sessionId, liveCheck, checks };
  } finally {
    stream.close();
  }
}

function post(target: ProbeTarget, endpoint: URL, message: unknown): Promise<Response> {
  return target.fetch(endpoint, {
    method: 'POST',
    headers: { ...target.headers, 'content-type': 'application/json' },
    body: JSON.stringify(message),
    signal: AbortSignal.timeout(target.timeoutMs),
  });
}

/** The endpoint with every id-like query value replaced by `id`. */
function withSession(endpoint: URL, id: string): URL {
  const url = new URL(endpoint);
  for (const [name, value] of endpoint.searchParams) if (value.length >= 8) url.searchParams.set(name, id);
  return url;
}
