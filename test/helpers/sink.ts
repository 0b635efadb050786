import type { JsonRpcMessage } from '../../src/shared/json-rpc.js';
import type { UpstreamEvent, UpstreamSink } from '../../src/upstream/upstream.js';

/** Records what an upstream delivers, and waits for it: the host side, reduced to what tests need. */
export interface RecordingSink extends UpstreamSink {
  readonly messages: JsonRpcMessage[];
  readonly events: UpstreamEvent[];
  /** Resolves with the first delivered message that matches, waiting up to `timeoutMs`. */
  waitFor(match: (message: JsonRpcMessage) => boolean, timeoutMs?: number): Promise<JsonRpcMessage>;
  /** The answers delivered for request `id` (a correct upstream delivers exactly one). */
  answersTo(id: string | number): JsonRpcMessage[];
  eventTypes(): string[];
}

export function recordingSink(): RecordingSink {
  const messages: JsonRpcMessage[] = [];
  const events: UpstreamEvent[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of waiters) waiter();
  };
  return {
    messages,
    events,
    message(message) {
      messages.push(message);
      wake();
    },
    event(event) {
      events.push(event);
    },
    answersTo: (id) => messages.filter((message) => message.id === id && message.method === undefined),
    eventTypes: () => events.map((event) => event.type),
    waitFor(match, timeoutMs = 5000) {
      const found = messages.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages).slice(-1500)}; events ${JSON.stringify(events).slice(-1500)}`,
            ),
          );
        }, timeoutMs);
        const check = () => {
          const hit = messages.find(match);
          if (hit === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(hit);
        };
        waiters.add(check);
      });
    },
  };
}

/** Waits for the answer to request `id`. */
export function answerTo(sink: RecordingSink, id: string | number, timeoutMs?: number): Promise<JsonRpcMessage> {
  return sink.waitFor((message) => message.id === id && message.method === undefined, timeoutMs);
}

/** The host's `initialize` request, as a 2025 host sends it. */
export function hostInitialize(
  id: string | number,
  options: { protocolVersion?: string | undefined; capabilities?: Record<string, unknown> | undefined } = {},
) {
  return {
    jsonrpc: '2.0' as const,
    id,
    method: 'initialize',
    params: {
      protocolVersion: options.protocolVersion ?? '2025-06-18',
      capabilities: options.capabilities ?? {},
      clientInfo: { name: 'test-host', version: '1.0.0' },
    },
  };
}
