import { abortable } from '../shared/abortable.js';
import { type Backoff, backoffDelay } from '../shared/backoff.js';
import { idKey, type JsonRpcMessage } from '../shared/json-rpc.js';
import { responseExcerpt } from '../shared/server-text.js';
import { sleep } from '../shared/timers.js';
import { fetchFailureText } from './fetch-failure-text.js';
import type { HostState } from './host-state.js';
import { type LegacySseStream, openLegacySseStream } from './legacy-sse-stream.js';
import { announceListChanges } from './list-changes.js';
import { UpstreamError, type UpstreamOptions } from './upstream.js';
import type { UpstreamBasics } from './upstream-basics.js';

/** One open stream and the session its endpoint names. */
export interface Connection {
  readonly stream: LegacySseStream;
  readonly generation: number;
}

/** What the host established: its state, and whether it sent `notifications/initialized`. */
export interface LegacyHost extends HostState {
  initialized: boolean;
}

/** What {@linkcode LegacySseSessions} needs from the upstream it opens sessions for. */
export interface SessionsPlan {
  readonly options: UpstreamOptions;
  readonly basics: UpstreamBasics;
  readonly backoff: Backoff;
  readonly maxEventSize: number;
  readonly host: LegacyHost;
  /** A message the server sent on the stream of session `generation`. */
  onServerMessage(generation: number, message: JsonRpcMessage, raw: string): void;
  /** Session `generation` is gone: what it owed the host is answered, its requests to the host withdrawn. */
  abandon(generation: number, why: string): void;
}

/**
 * The sessions of a 2024-11-05 HTTP+SSE upstream, one at a time: each is a stream (GET) and the
 * POST endpoint it names, numbered by `generation`. A new one is opened once for everyone who
 * needs it (single flight), initialized with the host's own `initialize`, `initialized`, log level
 * and subscriptions; after a drop it is re-opened in the background with backoff until the
 * upstream closes.
 */
export class LegacySseSessions {
  /** The session messages go to now; undefined while there is none. */
  current: Connection | undefined;
  /** The server's capabilities, from the host's initialize (or the latest re-initialization). */
  serverCapabilities: unknown;
  private generations = 0;
  private opening: Promise<Connection> | undefined;
  private reconnecting: Promise<Connection> | undefined;
  // Answers to our own requests (the handshake's), by id key.
  private readonly ownAnswers = new Map<string, (answer: JsonRpcMessage) => void>();
  private lastId = 0;
  private readonly plan: SessionsPlan;

  constructor(plan: SessionsPlan) {
    this.plan = plan;
  }

  /** The newest session's number. */
  get generation(): number {
    return this.generations;
  }

  /** An answer to one of our own requests goes to it alone: true when it was one. */
  takeOwnAnswer(message: JsonRpcMessage): boolean {
    const own = this.ownAnswers.get(idKey(message.id));
    if (own === undefined) return false;
    own(message);
    return true;
  }

  /**
   * The session to send `message` on: the current one; for the host's own `initialize`, a new
   * stream (that initialize opens the session); otherwise a session being opened, or a new one.
   */
  async ready(message: JsonRpcMessage, signal: AbortSignal | undefined): Promise<Connection> {
    if (this.current !== undefined) return this.current;
    if (message.method === 'initialize' && this.opening === undefined && this.reconnecting === undefined) {
      const opening = this.openConnection().then((opened) => {
        this.current = opened;
        return opened;
      });
      return this.single(opening);
    }
    return this.bounded(this.opening ?? this.reconnecting ?? this.recoverOrRetry('a message had no session to go to'), signal);
  }

  /** A session other than `lost` to send again on: one already replacing it, or a new one (`reason` says why). */
  async replacing(lost: Connection, reason: string, signal: AbortSignal | undefined): Promise<Connection> {
    if (lost.generation < this.generations && this.current !== undefined) return this.current;
    return this.bounded(this.opening ?? this.reconnecting ?? this.recoverOrRetry(reason), signal);
  }

  /** A new session now; if that fails, keep trying in the background. */
  recoverOrRetry(reason: string): Promise<Connection> {
    const attempt = this.sessionOnce(reason);
    attempt.catch(() => this.reconnectInBackground());
    return attempt;
  }

  /** Waits for a session being opened, boundedly: a message is never held longer. */
  async bounded(wait: Promise<Connection>, signal: AbortSignal | undefined): Promise<Connection> {
    const { timeoutMs } = this.plan.options;
    // Opening a session is three bounded steps: the stream, initialize, the state restore.
    const limit = AbortSignal.any([AbortSignal.timeout(3 * timeoutMs), ...(signal === undefined ? [] : [signal])]);
    try {
      return await abortable(wait, limit);
    } catch (error) {
      throw new UpstreamError(
        `no session with ${this.plan.basics.where}: ${fetchFailureText(error, 3 * timeoutMs)}; the message was not sent`,
        {
          mayHaveRun: false,
          cause: error,
        },
      );
    }
  }

  /** Closes the current stream; nothing is re-opened once the upstream's lifetime is over. */
  close(): void {
    this.current?.stream.close();
    this.current = undefined;
  }

  private async openConnection(): Promise<Connection> {
    const { options, basics } = this.plan;
    const generation = ++this.generations;
    const stream = await openLegacySseStream({
      url: options.url,
      headers: options.headers,
      fetch: basics.fetch,
      timeoutMs: options.timeoutMs,
      maxEventSize: this.plan.maxEventSize,
      scrub: basics.scrub,
      ready: options.sink.ready,
      onMessage: (message, raw) => this.plan.onServerMessage(generation, message, raw),
    });
    const opened = { stream, generation };
    stream.ended.then(
      () => this.streamLost(opened, 'the server closed the stream'),
      (error: unknown) => this.streamLost(opened, fetchFailureText(error)),
    );
    return opened;
  }

  /** The current stream ended: what it owed the host is answered, and a new one is opened. */
  private streamLost(lost: Connection, why: string): void {
    if (this.plan.basics.lifetime.signal.aborted || this.current !== lost) return;
    this.current = undefined;
    this.plan.basics.report(
      'warn',
      'stream-lost',
      `the server's SSE stream at ${this.plan.basics.where} ended (${why}); opening a new session`,
      {},
    );
    this.plan.abandon(lost.generation, `the server's SSE stream ended (${why})`);
    this.reconnectInBackground();
  }

  /** Opens a new stream and session: the host's initialize, initialized, log level, subscriptions. */
  private async openSession(reason: string): Promise<Connection> {
    const started = Date.now();
    const previous = this.current;
    this.current = undefined;
    previous?.stream.close();
    if (previous !== undefined) this.plan.abandon(previous.generation, 'the session was replaced');
    const opened = await this.openConnection();
    try {
      const failures = await this.handshake(opened);
      if (failures.length > 0)
        this.plan.basics.report('warn', 'state-not-restored', `state not fully restored: ${failures.join('; ')}`, {});
    } catch (error) {
      opened.stream.close();
      throw error;
    }
    this.current = opened;
    this.plan.basics.report('info', 'session-recovered', `new session on ${this.plan.basics.where} (${reason})`, {
      ms: Date.now() - started,
      transport: 'sse',
    });
    announceListChanges(this.plan.options.sink, this.serverCapabilities);
    return opened;
  }

  private async handshake(opened: Connection): Promise<string[]> {
    const { host } = this.plan;
    if (host.initializeParams === undefined) return [];
    const result = await this.call(opened, 'initialize', host.initializeParams);
    this.serverCapabilities = result['capabilities'] ?? this.serverCapabilities;
    if (host.initialized) await this.notify(opened, 'notifications/initialized');
    const steps: [string, Record<string, unknown>][] = [];
    if (host.logLevel !== undefined) steps.push(['logging/setLevel', { level: host.logLevel }]);
    for (const uri of host.subscriptions) steps.push(['resources/subscribe', { uri }]);
    const outcomes = await Promise.allSettled(steps.map(([method, params]) => this.call(opened, method, params)));
    return outcomes.flatMap((outcome, index) =>
      outcome.status === 'rejected' ? [`${steps[index]?.[0]}: ${(outcome.reason as Error).message}`] : [],
    );
  }

  /** One request of our own on `opened`, answered on its stream within `timeoutMs`. */
  private async call(opened: Connection, method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { timeoutMs } = this.plan.options;
    const id = `mcp-lifeline-${method.replace(/\W/g, '-')}-${++this.lastId}`;
    const key = idKey(id);
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.plan.basics.lifetime.signal]);
    const answer = new Promise<JsonRpcMessage>((resolve, reject) => {
      this.ownAnswers.set(key, resolve);
      signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), { once: true });
      opened.stream.ended.then(
        () => reject(new Error('the stream ended')),
        () => reject(new Error('the stream broke')),
      );
    });
    answer.catch(() => {}); // awaited below unless the POST fails first
    try {
      const response = await this.post(opened, JSON.stringify({ jsonrpc: '2.0', id, method, params }), signal);
      if (!response.ok) throw new Error(`HTTP ${response.status}${this.plan.basics.scrub(await responseExcerpt(response))}`);
      await response.body?.cancel().catch(() => {});
      const { result, error } = await answer;
      if (error !== undefined) throw new Error(`JSON-RPC error ${error.code} "${error.message}"`);
      return (result ?? {}) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`${method}: ${fetchFailureText(error, timeoutMs)}`, { cause: error });
    } finally {
      this.ownAnswers.delete(key);
    }
  }

  private async notify(opened: Connection, method: string): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.plan.options.timeoutMs), this.plan.basics.lifetime.signal]);
    const response = await this.post(opened, JSON.stringify({ jsonrpc: '2.0', method }), signal);
    await response.body?.cancel().catch(() => {});
  }

  /** POSTs a message to `on`'s endpoint (its query names the session). */
  post(on: Connection, body: string, signal: AbortSignal): Promise<Response> {
    return this.plan.basics.fetch(on.stream.endpoint, {
      method: 'POST',
      headers: { ...this.plan.options.headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
      signal,
    });
  }

  /** After a drop: keep trying, with backoff, for as long as the upstream lives. */
  private reconnectInBackground(): void {
    if (this.reconnecting !== undefined) return;
    const { lifetime, report } = this.plan.basics;
    const reconnecting = (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.sessionOnce('the stream dropped');
        } catch (error) {
          if (lifetime.signal.aborted) throw error;
          const delay = backoffDelay(this.plan.backoff, attempt);
          report(attempt === 0 ? 'warn' : 'debug', 'reconnect-failed', `could not open a new session: ${(error as Error).message}`, {
            retryInMs: delay,
          });
          await sleep(delay, { signal: lifetime.signal, onAbort: 'resolve' });
          if (lifetime.signal.aborted) throw error;
        }
      }
    })();
    this.reconnecting = reconnecting;
    const settled = () => {
      if (this.reconnecting === reconnecting) this.reconnecting = undefined;
    };
    reconnecting.then(settled, settled);
  }

  /** One attempt at a new session, shared by every request that needs it (single flight). */
  private sessionOnce(reason: string): Promise<Connection> {
    return this.opening ?? this.single(this.openSession(reason));
  }

  /** Makes `opening` the one session being opened until it settles. */
  private single(opening: Promise<Connection>): Promise<Connection> {
    this.opening = opening;
    const settled = () => {
      if (this.opening === opening) this.opening = undefined;
    };
    opening.then(settled, settled);
    return opening;
  }
}
