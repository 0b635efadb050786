import type { Readable, Writable } from 'node:stream';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../cli/logger.js';
import type { LifelineEvent, SessionLostEvent } from '../recovery/events.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { withSessionRecovery } from '../recovery/with-session-recovery.js';
import { upstreamErrorText } from './upstream-error-text.js';

/** Options of {@linkcode startStdioBridge}. */
export interface StdioBridgeOptions {
  /** The remote Streamable HTTP endpoint. */
  readonly url: URL;
  /** Sent with every request (and with re-initializations). */
  readonly headers: Record<string, string>;
  /** Bound, in ms, for requests the bridge sends on its own (re-initialization, DELETE at exit). */
  readonly timeoutMs: number;
  /** Ping the server after this long without traffic, in ms. @default undefined (off) */
  readonly keepaliveMs?: number | undefined;
  readonly log: Logger;
  /** Where the host's messages come from. @default process.stdin */
  readonly stdin?: Readable;
  /** Where messages to the host go: JSON-RPC only. @default process.stdout */
  readonly stdout?: Writable;
  /** The fetch underneath the middleware. @default globalThis.fetch */
  readonly fetch?: FetchLike;
}

/** A running bridge. */
export interface StdioBridge {
  /** Resolves once the bridge has shut down. */
  readonly closed: Promise<void>;
  /** Terminates the upstream session (DELETE, bounded by `timeoutMs`) and closes both sides. */
  shutdown(reason: string): Promise<void>;
}

const KEEPALIVE_ID = 'mcp-lifeline-keepalive-';
const LIST_CHANGED = ['tools', 'prompts', 'resources'] as const;

/**
 * Speaks MCP over stdio to the host (newline-delimited JSON-RPC) and Streamable HTTP to the
 * server, with {@linkcode withSessionRecovery} underneath. Messages pass through both ways as they
 * are, including server-to-client requests (sampling, elicitation, roots), progress, logging and
 * cancellation; the host's own `initialize` is the one the server sees, and the one recovery
 * replays.
 */
export async function startStdioBridge(options: StdioBridgeOptions): Promise<StdioBridge> {
  const { log, url } = options;
  let serverCapabilities: Record<string, unknown> | undefined;
  let hostInitializeId: string | number | undefined;
  let lastLoss: SessionLostEvent | undefined;
  let lastActivity = Date.now();
  let keepalives = 0;
  // Host requests awaiting their one answer: a second answer for the same id is dropped.
  const awaitingAnswer = new Set<string | number>();

  const host = new StdioServerTransport(options.stdin, options.stdout);
  const http = new StreamableHTTPClientTransport(url, {
    fetch: withSessionRecovery({ timeout: options.timeoutMs, onEvent: (event) => report(event) })(options.fetch ?? fetch),
    requestInit: { headers: options.headers },
    // A bridge lives as long as the host: keep re-opening the server's stream, backing off to 30 s.
    reconnectionOptions: {
      initialReconnectionDelay: 1000,
      maxReconnectionDelay: 30_000,
      reconnectionDelayGrowFactor: 1.5,
      maxRetries: Number.POSITIVE_INFINITY,
    },
  });

  const toHost = (message: JSONRPCMessage | Record<string, unknown>) => {
    host.send(message as JSONRPCMessage).catch((error: unknown) => log.debug('could not write to the host', { error: String(error) }));
  };

  function report(event: LifelineEvent): void {
    switch (event.type) {
      case 'session-lost':
        lastLoss = event;
        log.debug('session lost', {
          rule: event.rule,
          status: event.status,
          method: event.rpcMethod ?? event.method,
          session: event.sessionId,
        });
        return;
      case 'reinitialized':
        log.info('session recovered', {
          rule: lastLoss?.rule,
          status: lastLoss?.status,
          request: lastLoss?.rpcMethod ?? lastLoss?.method,
          ms: event.durationMs,
          session: `${event.previousSessionId}→${event.sessionId}`,
        });
        announceListChanges(event.capabilities);
        return;
      case 'state-restored':
        if (event.failures.length > 0) log.warn('state not fully restored', { failures: event.failures.join('; ') });
        else log.debug('state restored', { logLevel: event.logLevel, subscriptions: event.subscriptions });
        return;
      case 'recovery-failed':
        log.error(event.message, { code: event.code });
        return;
      default:
        log.debug(event.type, { method: 'method' in event ? event.method : undefined });
    }
  }

  /** After a recovery the server may have been redeployed: let the host refetch its lists. */
  function announceListChanges(capabilities: unknown): void {
    const current = (capabilities ?? {}) as Record<string, { listChanged?: boolean } | undefined>;
    for (const kind of LIST_CHANGED) {
      const previous = serverCapabilities?.[kind] as { listChanged?: boolean } | undefined;
      if (current[kind]?.listChanged || previous?.listChanged) {
        toHost({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` });
      }
    }
  }

  host.onmessage = (message) => {
    lastActivity = Date.now();
    const isRequest = 'method' in message && 'id' in message;
    if (isRequest) {
      awaitingAnswer.add(message.id);
      if (message.method === 'initialize') hostInitializeId = message.id;
    }
    http.send(message).catch((error: unknown) => {
      const text = upstreamErrorText(error, url);
      log.error(text);
      if (isRequest && awaitingAnswer.delete(message.id)) {
        toHost({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: `mcp-lifeline: ${text}` } });
      }
    });
  };

  // A line on stdin that is not JSON-RPC: answer it and keep going.
  host.onerror = (error) => {
    const parse = error instanceof SyntaxError;
    const text = parse ? `Parse error: ${error.message}` : 'Invalid Request: not a JSON-RPC 2.0 message';
    log.warn(`malformed message from the host: ${text}`);
    toHost({ jsonrpc: '2.0', id: null, error: { code: parse ? -32700 : -32600, message: text } });
  };

  http.onmessage = (message) => {
    lastActivity = Date.now();
    if ('id' in message && typeof message.id === 'string' && message.id.startsWith(KEEPALIVE_ID) && !('method' in message)) {
      log.debug('keepalive answered', { id: message.id });
      return;
    }
    if ('id' in message && message.id !== undefined && !('method' in message) && !awaitingAnswer.delete(message.id)) {
      log.debug('dropped a second answer to the same request', { id: String(message.id) });
      return;
    }
    if (hostInitializeId !== undefined && 'id' in message && message.id === hostInitializeId && 'result' in message) {
      const result = message.result as { protocolVersion?: unknown; capabilities?: Record<string, unknown> };
      if (typeof result.protocolVersion === 'string') http.setProtocolVersion(result.protocolVersion);
      serverCapabilities = result.capabilities;
      hostInitializeId = undefined;
    }
    toHost(message);
  };

  // Background failures (the server's stream dropped, a reconnect failed) are the transport's to retry.
  http.onerror = (error) => log.debug('server stream', { error: upstreamErrorText(error, url) });

  const keepaliveTimer =
    options.keepaliveMs === undefined
      ? undefined
      : setInterval(
          () => {
            if (serverCapabilities === undefined || Date.now() - lastActivity < (options.keepaliveMs ?? 0)) return;
            lastActivity = Date.now();
            const id = `${KEEPALIVE_ID}${++keepalives}`;
            log.debug('keepalive ping', { id });
            http
              .send({ jsonrpc: '2.0', id, method: 'ping' })
              .catch((error: unknown) => log.warn(`keepalive ping failed: ${upstreamErrorText(error, url)}`));
          },
          Math.min(options.keepaliveMs, 1000),
        );

  let closing: Promise<void> | undefined;
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });

  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      log.info(`shutting down: ${reason}`);
      if (keepaliveTimer !== undefined) clearInterval(keepaliveTimer);
      if (http.sessionId !== undefined) {
        const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, options.timeoutMs, 'timeout').unref());
        const outcome = await Promise.race([http.terminateSession().then(() => 'done' as const), timer]).catch((error: unknown) => error);
        if (outcome === 'timeout') log.warn(`the server did not confirm the session's end within ${options.timeoutMs} ms`);
        else if (outcome !== 'done') log.debug('session termination failed', { error: upstreamErrorText(outcome, url) });
      }
      await http.close();
      await host.close();
      markClosed();
    })();
    return closing;
  };

  const stdin = options.stdin ?? process.stdin;
  stdin.once('end', () => void shutdown('stdin closed'));
  await http.start();
  await host.start();
  log.debug('bridge ready', { url: url.origin + url.pathname });
  return { closed, shutdown };
}
