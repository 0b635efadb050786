import type { Readable, Writable } from 'node:stream';
import { errorReply, INVALID_REQUEST } from '../shared/json-rpc.js';
import { describeUrl } from '../shared/redact.js';
import type { Upstream, UpstreamSink } from '../upstream/upstream.js';
import type { BridgeLog } from './bridge-log.js';
import { oversizedText, parseHostLine, readOversized } from './host-message.js';
import { createHostWriter } from './host-writer.js';
import { readLines } from './line-reader.js';
import { createRelay } from './relay.js';

/** Options of {@linkcode startStdioBridge}. */
export interface StdioBridgeOptions {
  /** The remote endpoint, for messages. */
  readonly url: URL;
  /** Makes the upstream that talks to the server (its era and transport are its business). */
  readonly createUpstream: (sink: UpstreamSink) => Upstream;
  /** Bound, in ms, for each host request; progress notifications reset it. */
  readonly requestTimeoutMs: number;
  /** Host requests in flight to the server at once. */
  readonly maxInFlight: number;
  /** Largest host message, in bytes. */
  readonly maxMessageBytes: number;
  /** After stdin ends, how long requests in flight may take to finish before the bridge exits. */
  readonly exitGraceMs: number;
  /** Where it reports what it does (never stdout). */
  readonly log: BridgeLog;
  /** Where the host's messages come from. @default process.stdin */
  readonly stdin?: Readable | undefined;
  /** Where messages to the host go: JSON-RPC only. @default process.stdout */
  readonly stdout?: Writable | undefined;
}

/** How a bridge ended. */
interface BridgeEnd {
  /**
   * The host never got a session: every `initialize` it sent failed (the server could not be
   * reached, refused, is no MCP endpoint, or a sign-in is still needed), each answered with the
   * reason. The bridge served on after each (the host may try again) until stdin closed.
   */
  readonly failedToStart: boolean;
}

/** A running bridge. */
export interface StdioBridge {
  /** Resolves once the bridge has shut down. */
  readonly closed: Promise<BridgeEnd>;
  /**
   * Shuts down: with `drain`, first lets requests in flight finish (bounded by `exitGraceMs`);
   * then answers what is left, ends the upstream session and closes both sides.
   */
  shutdown(reason: string, options?: { drain?: boolean }): Promise<void>;
}

/**
 * Speaks MCP over stdio to the host (newline-delimited JSON-RPC) and to the server through an
 * {@linkcode Upstream}. Host messages are passed on as the host wrote them and server messages as
 * the server wrote them, parsed once and never re-validated against a schema: the bridge adds only
 * what it guarantees (one answer per host request within a bound, JSON-RPC only on stdout, bounded
 * memory, session recovery underneath).
 */
export function startStdioBridge(options: StdioBridgeOptions): StdioBridge {
  const { log } = options;
  const where = describeUrl(options.url.href);
  const stdin = options.stdin ?? process.stdin;
  const host = createHostWriter(options.stdout ?? process.stdout);
  const relay = createRelay({
    host,
    createUpstream: options.createUpstream,
    requestTimeoutMs: options.requestTimeoutMs,
    maxInFlight: options.maxInFlight,
    where,
    report: (event) => log[event.level](event.message, event.fields),
    throttle: (paused) => {
      log.debug(paused ? 'too many requests waiting: pausing stdin' : 'requests drained: reading stdin again');
      if (paused) lines.pause();
      else lines.resume();
    },
  });

  const lines = readLines(stdin, options.maxMessageBytes, {
    onLine(line) {
      const parsed = parseHostLine(line);
      if ('reply' in parsed) {
        log.warn(`malformed message from the host: ${parsed.reply.error?.message}`);
        host.write(parsed.reply);
        return;
      }
      relay.fromHost(parsed.message, line);
    },
    onOversized(line) {
      const { kind, id } = readOversized(line);
      const text = oversizedText(line.bytes, options.maxMessageBytes, `the host's ${kind === 'unknown' ? 'message' : kind}`);
      log.warn(text);
      if (kind === 'answer' && id !== null) {
        // The server is waiting for this answer: tell it, rather than let it wait for its timeout.
        relay.fromHost(errorReply(id, -32603, text), JSON.stringify(errorReply(id, -32603, text)));
      } else if (kind === 'request' || kind === 'unknown') {
        host.write(errorReply(id, INVALID_REQUEST, text));
      }
    },
    onEnd: () => void shutdown('stdin closed', { drain: true }),
  });

  let markClosed: (end: BridgeEnd) => void = () => {};
  const closed = new Promise<BridgeEnd>((resolve) => {
    markClosed = resolve;
  });
  let closing: Promise<void> | undefined;
  const shutdown = (reason: string, how: { drain?: boolean } = {}): Promise<void> => {
    closing ??= (async () => {
      log.info(`shutting down: ${reason}`, relay.pending > 0 ? { inFlight: relay.pending } : undefined);
      if (how.drain === true && relay.pending > 0) {
        const settled = await relay.settle(options.exitGraceMs);
        if (!settled)
          log.warn(
            `${relay.pending} ${relay.pending === 1 ? 'request' : 'requests'} still had no answer ${Math.round(options.exitGraceMs / 1000)} s after stdin closed`,
          );
      }
      await relay.close(`mcp-lifeline is shutting down (${reason})`);
      await host.flushed();
      markClosed({ failedToStart: relay.start === 'failed' });
    })();
    return closing;
  };

  log.debug('bridge ready', { url: where });
  return { closed, shutdown };
}
