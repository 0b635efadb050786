import type { ServerResponse } from 'node:http';
import { networkErrorText } from '../errors/network-error-text.js';
import { type JsonRpcId, type JsonRpcMessage, idKey as keyOf } from '../shared/json-rpc.js';
import { createFilteredUpstream } from '../upstream/filtered-upstream.js';
import { createLegacySseUpstream } from '../upstream/legacy-sse.js';
import { createNegotiatingUpstream, type EraChoice } from '../upstream/negotiate.js';
import { restartWindowFetch } from '../upstream/restart-window-fetch.js';
import { createStatelessUpstream } from '../upstream/stateless.js';
import { createStreamableHttpUpstream } from '../upstream/streamable-http.js';
import type { ToolFilter } from '../upstream/tool-filter.js';
import { type RawMessage, type Upstream, UpstreamError, type UpstreamSink } from '../upstream/upstream.js';
import type { GatewayLog, GatewayUpstream } from './gateway-options.js';

// Server requests and notifications held for a client that has not opened its GET stream yet:
// at most this many, and at most `maxMessageBytes` in all.
const BACKLOG_LIMIT = 256;

/**
 * One client session of the message route on this process, and its upstream of whatever era:
 * requests sent and their answers awaited, server messages passed to the client's GET stream (or
 * held until it opens one).
 */
export interface MessageSession {
  readonly upstream: Upstream;
  /** Client requests (POSTs and the GET stream) in progress. */
  readonly open: number;
  /** A client request begins; returns what ends it. */
  begin(): () => void;
  /** Sends messages and resolves with the answers to the requests among them, in order. */
  exchange(messages: readonly JsonRpcMessage[], signal: AbortSignal): Promise<string[]>;
  /**
   * Opens `res` as the client's GET stream (an SSE answer with `headers`, ending the stream before),
   * passes it what was held, and resolves when it closes.
   */
  stream(res: ServerResponse, headers: Readonly<Record<string, string>>): Promise<void>;
  /** Lets go of the session: its GET stream ended, its upstream session ended and closed, failures ignored. */
  release(): Promise<void>;
  /** As {@linkcode release}, failures passed on (at shutdown, which counts the sessions ended). */
  end(): Promise<void>;
}

/** What every session of one upstream shares. */
export interface MessageSessionContext {
  readonly upstream: GatewayUpstream;
  readonly era: EraChoice;
  readonly timeoutMs: number;
  /** How long a request the upstream could not take waits for it to come back (0: off). */
  readonly restartWindowMs: number;
  /** The gateway's message bound on every era (the adapters' own defaults are larger). */
  readonly maxMessageBytes: number;
  /** Removes the gateway's secrets from what the upstream says. */
  readonly scrub: (text: string) => string;
  readonly log: GatewayLog;
  /** The upstream's tool filter; undefined when it has none. */
  readonly tools: ToolFilter | undefined;
}

export function createMessageSession(context: MessageSessionContext): MessageSession {
  const { upstream, era, timeoutMs, restartWindowMs, scrub, log } = context;
  const bound = context.maxMessageBytes;
  const state = {
    /** POSTs waiting for the answer to a request, by id. */
    waiters: new Map<string, (message: JsonRpcMessage, raw: string | undefined) => void>(),
    /** The client's GET stream, where server requests and notifications go. */
    stream: undefined as ServerResponse | undefined,
    /** Server messages that came while no GET stream was open (bounded in count and bytes). */
    backlog: [] as string[],
    backlogBytes: 0,
    /** Called at the adapter's next `session-recovered` event. */
    onRecovered: [] as (() => void)[],
    open: 0,
  };

  const sink: UpstreamSink = {
    message(message, raw) {
      const waiter =
        message.method === undefined && message.id !== undefined && message.id !== null ? state.waiters.get(keyOf(message.id)) : undefined;
      if (waiter !== undefined) {
        state.waiters.delete(keyOf(message.id as JsonRpcId));
        waiter(message, rawText(raw));
        return;
      }
      const text = scrub(rawText(raw) ?? JSON.stringify(message));
      const event = `event: message\ndata: ${text}\n\n`;
      if (state.stream !== undefined && !state.stream.destroyed) state.stream.write(event);
      else if (state.backlog.length < BACKLOG_LIMIT && state.backlogBytes + event.length <= bound) {
        state.backlog.push(event);
        state.backlogBytes += event.length;
      }
    },
    event(event) {
      if (event.type === 'session-recovered') for (const wake of state.onRecovered.splice(0)) wake();
      const fields = { upstream: upstream.name, type: event.type, ...event.fields };
      log[event.level](scrub(event.message), fields);
    },
  };
  const adapter = createFilteredUpstream(context.tools, sink, (filtered) =>
    createNegotiatingUpstream({
      url: upstream.url,
      headers: upstream.headers ?? {},
      fetch: upstream.fetch ?? globalThis.fetch,
      timeoutMs,
      sink: filtered,
      protocol: era.protocol,
      transport: era.transport,
      factories: {
        streamableHttp: (options) =>
          createStreamableHttpUpstream({ ...options, maxMessageBytes: bound, recovery: { restartWindow: restartWindowMs } }),
        legacySse: (options) => createLegacySseUpstream({ ...options, maxMessageSize: bound }),
        stateless: (options) =>
          createStatelessUpstream({ ...options, fetch: restartWindowFetch(options, restartWindowMs), maxMessageSize: bound }),
      },
    }),
  );

  async function exchange(messages: readonly JsonRpcMessage[], signal: AbortSignal): Promise<string[]> {
    const answers: Promise<string>[] = [];
    for (const message of messages) {
      const isRequest = message.method !== undefined && message.id !== undefined && message.id !== null;
      if (isRequest) {
        const id = message.id as JsonRpcId;
        answers.push(
          new Promise<string>((resolve) => {
            state.waiters.set(keyOf(id), (answer, raw) => resolve(raw ?? JSON.stringify(answer)));
            signal.addEventListener('abort', () => state.waiters.delete(keyOf(id)), { once: true });
          }),
        );
      }
      try {
        await sendOnce(message, signal);
      } catch (error) {
        if (!isRequest) throw error;
        const id = message.id as JsonRpcId;
        // Said here, once: the host gets it as this request's answer, and nothing else logs it.
        const text = scrub(upstreamErrorText(error));
        log.warn(text, { upstream: upstream.name, method: message.method });
        state.waiters.get(keyOf(id))?.({ jsonrpc: '2.0', id, error: { code: -32000, message: `mcp-lifeline: ${text}` } }, undefined);
        state.waiters.delete(keyOf(id));
      }
    }
    return Promise.all(answers);
  }

  /**
   * Sends a message; when the adapter says it was not sent because its session is being recovered
   * (the server restarted, its stream is re-opening), waits for the recovery (bounded) and sends it
   * once more: the host should not see a gap the adapter closes a moment later.
   */
  async function sendOnce(message: JsonRpcMessage, signal: AbortSignal): Promise<void> {
    try {
      await adapter.send(message, { signal });
    } catch (error) {
      if (!(error instanceof UpstreamError) || error.mayHaveRun || signal.aborted) throw error;
      const recovered = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        state.onRecovered.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!recovered) throw error;
      await adapter.send(message, { signal });
    }
  }

  return {
    upstream: adapter,
    get open() {
      return state.open;
    },
    begin() {
      state.open += 1;
      return () => {
        state.open -= 1;
      };
    },
    exchange,
    async stream(res, headers) {
      res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
      res.flushHeaders();
      state.stream?.end();
      state.stream = res;
      for (const event of state.backlog.splice(0)) res.write(event);
      state.backlogBytes = 0;
      await new Promise<void>((resolve) => res.once('close', () => resolve()));
      if (state.stream === res) state.stream = undefined;
    },
    async release() {
      state.stream?.end();
      await adapter.end().catch(() => {});
      await adapter.close().catch(() => {});
    },
    async end() {
      state.stream?.end();
      await adapter.end();
      await adapter.close();
    },
  };
}

/** An adapter's error in words: an `UpstreamError` says it all itself. */
export function upstreamErrorText(error: unknown): string {
  return error instanceof Error && error.name === 'UpstreamError' ? error.message : networkErrorText(error);
}

/** A message's serialized form as text, whichever shape the upstream handed it in. */
function rawText(raw: RawMessage | undefined): string | undefined {
  if (raw === undefined || typeof raw === 'string') return raw;
  return Buffer.concat(raw instanceof Uint8Array ? [raw] : [...raw]).toString('utf8');
}
